package conformance

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"testing"

	coreconfig "github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/configpatcher"
	"github.com/siderolabs/talos/pkg/machinery/config/encoder"
	"github.com/siderolabs/talos/pkg/machinery/config/generate"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"github.com/siderolabs/talos/pkg/machinery/config/validation"
)

var roles = []struct {
	name string
	typ  machine.Type
}{
	{"controlplane", machine.TypeControlPlane},
	{"worker", machine.TypeWorker},
}

// encode renders a config as machinery writes it (talosctl gen config), without comments.
func encode(t testing.TB, cfg coreconfig.Provider) []byte {
	t.Helper()

	out, err := cfg.EncodeBytes(encoder.WithComments(encoder.CommentsDisabled))
	if err != nil {
		t.Fatalf("encoding config: %v", err)
	}

	return out
}

// Test 1: our configs load with machinery's config loader (strict: an unknown key is an error) and
// validate in container mode, as machined does with USERDATA under PLATFORM=container, with no
// error and no warning; and machinery's load+encode round trip changes nothing in them.
func TestMachineConfigLoadsAndValidates(t *testing.T) {
	opts := loadOptions(t)

	for _, role := range roles {
		t.Run(role.name, func(t *testing.T) {
			ours := readFixture(t, role.name+".yaml")

			cfg, err := configloader.NewFromBytes(ours)
			if err != nil {
				t.Fatalf("configloader.NewFromBytes: %v", err)
			}

			if got := cfg.Machine().Type(); got != role.typ {
				t.Errorf("machine.type: got %s, want %s", got, role.typ)
			}

			if got := k8sEndpoint(cfg); got == nil || got.String() != opts.ControlPlaneEndpoint {
				t.Errorf("cluster.controlPlane.endpoint: got %v, want %s", got, opts.ControlPlaneEndpoint)
			}

			warnings, err := cfg.Validate(containerMode{})
			if err != nil {
				t.Errorf("Validate(container): %v", err)
			}

			if len(warnings) > 0 {
				t.Errorf("Validate(container) warnings: %q", warnings)
			}

			if _, err := cfg.Validate(containerMode{}, validation.WithStrict()); err != nil {
				t.Errorf("Validate(container, strict): %v", err)
			}

			diffs := diffTrees(parseTree(t, "ours", ours), parseTree(t, "machinery re-encoded", encode(t, cfg)))
			reportDiffs(t, "machinery's load+encode of our config differs from our config", diffs)
		})
	}
}

// endpointSANs: talosctl adds the host of every Talos API endpoint to the SANs
// (talos@v1.8.3:cmd/talosctl/cmd/mgmt/cluster/create.go, "case len(endpointList) > 0").
func endpointSANs(endpoints []string) []generate.Option {
	opts := make([]generate.Option, 0, len(endpoints))

	for _, endpoint := range endpoints {
		host, _, err := net.SplitHostPort(endpoint)
		if err != nil {
			host = endpoint
		}

		opts = append(opts, generate.WithAdditionalSubjectAltNames([]string{host}))
	}

	return opts
}

// storagePatch is the patch of Talos' local storage guide for local-path-provisioner
// (talos@v1.9.6:website/content/v1.8/kubernetes-guides/configuration/local-storage.md).
func storagePatch(path string) string {
	return fmt.Sprintf(`machine:
  kubelet:
    extraMounts:
      - destination: %[1]s
        type: bind
        source: %[1]s
        options:
          - bind
          - rshared
          - rw
`, path)
}

func applyPatchTexts(t testing.TB, cfg coreconfig.Provider, texts ...string) coreconfig.Provider {
	t.Helper()

	patches, err := configpatcher.LoadPatches(texts)
	if err != nil {
		t.Fatalf("configpatcher.LoadPatches: %v", err)
	}

	out, err := configpatcher.Apply(configpatcher.WithConfig(cfg), patches)
	if err != nil {
		t.Fatalf("configpatcher.Apply: %v", err)
	}

	patched, err := out.Config()
	if err != nil {
		t.Fatalf("patched config: %v", err)
	}

	return patched
}

// talosInput is the generator input `talosctl cluster create` (docker) would build from our
// inputs, with our secrets bundle.
func talosInput(t testing.TB, opts Options, bundle *secrets.Bundle) *generate.Input {
	t.Helper()

	contract, err := coreconfig.ParseContractFromVersion(opts.TalosVersion)
	if err != nil {
		t.Fatalf("version contract: %v", err)
	}

	genOpts := talosctlDockerGenOptions(contract, opts.TalosVersion, opts.Talosconfig.Endpoints)

	// talosctl --registry-mirror host=url (create.go: generate.WithRegistryMirror per flag).
	for _, host := range slices.Sorted(maps.Keys(opts.RegistryMirrors)) {
		genOpts = append(genOpts, generate.WithRegistryMirror(host, opts.RegistryMirrors[host]...))
	}

	// talosctl has no flag for extra SANs; ours come after the ones talosctl adds.
	if len(opts.AdditionalSANs) > 0 {
		genOpts = append(genOpts, generate.WithAdditionalSubjectAltNames(opts.AdditionalSANs))
	}

	genOpts = append(genOpts, generate.WithSecretsBundle(bundle))

	input, err := generate.NewInput(opts.ClusterName, opts.ControlPlaneEndpoint, opts.KubernetesVersion, genOpts...)
	if err != nil {
		t.Fatalf("generate.NewInput: %v", err)
	}

	return input
}

// talosConfigs are the configs `talosctl cluster create` (docker) would make with our inputs and
// our secrets bundle: the same generate options, then the same patches.
func talosConfigs(t testing.TB, opts Options) map[string]coreconfig.Provider {
	t.Helper()

	input := talosInput(t, opts, loadSecretsBundle(t))
	out := map[string]coreconfig.Provider{}

	for _, role := range roles {
		cfg, err := input.Config(role.typ)
		if err != nil {
			t.Fatalf("generate %s: %v", role.name, err)
		}

		if opts.StoragePath != "" {
			cfg = applyPatchTexts(t, cfg, storagePatches(opts.StoragePath)...)
		}

		out[role.name] = cfg
	}

	return out
}

// allowedGeneratorDifferences: where our config may differ from Talos' generator, and why.
// Empty: for every minor our configs are Talos' own, key for key.
var allowedGeneratorDifferences = []allowedDifference{}

// Test 2: Talos' generator, given the same secrets bundle and the options talosctl's docker
// provisioner uses, yields the same config tree as ours.
func TestMachineConfigMatchesTalosGenerator(t *testing.T) {
	opts := loadOptions(t)
	theirs := talosConfigs(t, opts)

	for _, role := range roles {
		t.Run(role.name, func(t *testing.T) {
			ours := readFixture(t, role.name+".yaml")
			generated := encode(t, theirs[role.name])

			diffs := diffTrees(parseTree(t, "ours", ours), parseTree(t, "Talos generator", generated))
			rest, used := splitAllowed(diffs, allowedGeneratorDifferences, opts, role.name)

			for _, u := range used {
				t.Log(u)
			}

			reportDiffs(t, fmt.Sprintf("our %s.yaml vs Talos %s generator", role.name, machineryVersion(t)), rest)

			if t.Failed() {
				t.Logf("Talos' %s config:\n%s", role.name, generated)
			}
		})
	}
}
