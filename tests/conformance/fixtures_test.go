// Package conformance checks talos-docker's TypeScript Talos layer against Talos' own Go code
// (github.com/siderolabs/talos/pkg/machinery) at one Talos minor. The same sources are built once
// per minor with `go test -modfile=modules/<minor>.mod -tags talos_<minor>`; see README.md.
package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/siderolabs/talos/pkg/machinery/version"
)

// Options is options.json, written by write-fixtures.ts next to the rendered files: every input
// our renderer was given, so that the Go side can hand the same inputs to Talos' generator.
type Options struct {
	// Minor is the Talos minor the fixtures are for ("v1.8"); it must match the machinery build.
	Minor string `json:"minor"`
	// TalosVersion is the full Talos version ("v1.8.3"): the version contract and the installer tag.
	TalosVersion string `json:"talosVersion"`
	// KubernetesVersion without the leading v ("1.31.1").
	KubernetesVersion string `json:"kubernetesVersion"`
	ClusterName       string `json:"clusterName"`
	// ControlPlaneEndpoint is the in-cluster endpoint, https://<first control plane>:6443.
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
	// AdditionalSANs are the extra SANs the user asked for (not the ones the renderer adds itself).
	AdditionalSANs []string `json:"additionalSANs"`
	// StoragePath is the local-path-provisioner directory the kubelet bind-mounts; "" for none.
	StoragePath string `json:"storagePath"`
	// RegistryMirrors maps a registry host to its mirror endpoints (talosctl --registry-mirror host=url).
	RegistryMirrors map[string][]string `json:"registryMirrors"`
	Talosconfig     struct {
		ContextName string   `json:"contextName"`
		Endpoints   []string `json:"endpoints"`
		Nodes       []string `json:"nodes"`
	} `json:"talosconfig"`
	Kubeconfig struct {
		// Server is the host-side API server URL, https://127.0.0.1:<mapped port>.
		Server string `json:"server"`
	} `json:"kubeconfig"`
	// Generator names who wrote the fixtures: "talos-docker" (write-fixtures.ts) or
	// "machinery" (TestWriteSelfFixtures, the harness' own check).
	Generator string `json:"generator"`
}

// PatchCase is one entry of patches.json: patches applied in order to one of our configs.
type PatchCase struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Role        string   `json:"role"` // base config: "controlplane" or "worker"
	Patches     []string `json:"patches"`
	// Result is our applyPatches output as YAML, or nil when ours rejected the patches.
	Result *string `json:"result"`
	// Error is our error message when ours rejected the patches.
	Error *string `json:"error"`
}

// machineryVersion is the version of pkg/machinery linked into this test binary (its own
// version.Tag, from gendata/data/tag; test binaries carry no module versions in their build info).
func machineryVersion(testing.TB) string {
	return version.Tag
}

// TestBuildTags: the -tags of run.sh match the machinery minor of the -modfile.
func TestBuildTags(t *testing.T) {
	linked := machineryVersion(t)
	wantYAML := "gopkg.in/yaml.v3"

	if minorAtLeast(minorOf(linked), 12) {
		wantYAML = "go.yaml.in/yaml/v4"
	}

	if yamlLibrary != wantYAML {
		t.Errorf("built for %s with the %s compat files; want %s (-tags talos_%s)", linked, yamlLibrary, wantYAML, strings.ReplaceAll(minorOf(linked), ".", "_"))
	}
}

var minorRegexp = regexp.MustCompile(`^(v\d+\.\d+)\.\d+`)

func minorOf(version string) string {
	if m := minorRegexp.FindStringSubmatch(version); m != nil {
		return m[1]
	}

	return version
}

// minorAtLeast reports whether a "v1.N" minor is v1.want or newer.
func minorAtLeast(minor string, want int) bool {
	major, n, ok := strings.Cut(strings.TrimPrefix(minor, "v"), ".")
	if !ok || major != "1" {
		return major > "1"
	}

	v, err := strconv.Atoi(n)

	return err == nil && v >= want
}

// fixtureDir is $CONFORMANCE_FIXTURES, or .fixtures/<minor of the linked machinery>.
func fixtureDir(t testing.TB) string {
	t.Helper()

	if dir := os.Getenv("CONFORMANCE_FIXTURES"); dir != "" {
		return dir
	}

	return filepath.Join(".fixtures", minorOf(machineryVersion(t)))
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()

	path := filepath.Join(fixtureDir(t), name)

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading fixture: %v (run tests/conformance/run.sh, which writes the fixtures first)", err)
	}

	return data
}

func fixturePath(t testing.TB, name string) string {
	t.Helper()

	path := filepath.Join(fixtureDir(t), name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("fixture: %v (run tests/conformance/run.sh, which writes the fixtures first)", err)
	}

	return path
}

// loadOptions reads options.json and checks that it was written for the linked machinery's minor.
func loadOptions(t testing.TB) Options {
	t.Helper()

	var opts Options
	if err := json.Unmarshal(readFixture(t, "options.json"), &opts); err != nil {
		t.Fatalf("options.json: %v", err)
	}

	linked := machineryVersion(t)
	if opts.Minor != minorOf(linked) || minorOf(opts.TalosVersion) != opts.Minor {
		t.Fatalf("fixtures are for %s (%s) but the test is built with machinery %s", opts.Minor, opts.TalosVersion, linked)
	}

	return opts
}

func loadPatchCases(t testing.TB) []PatchCase {
	t.Helper()

	var cases []PatchCase
	if err := json.Unmarshal(readFixture(t, "patches.json"), &cases); err != nil {
		t.Fatalf("patches.json: %v", err)
	}

	return cases
}

// containerMode is the runtime mode machined runs in under PLATFORM=container
// (talos@v1.8.3:internal/app/machined/pkg/runtime/mode.go, ModeContainer): no install, in a container.
type containerMode struct{}

func (containerMode) String() string        { return "container" }
func (containerMode) RequiresInstall() bool { return false }
func (containerMode) InContainer() bool     { return true }
func (containerMode) IsAgent() bool         { return false }
