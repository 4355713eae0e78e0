// Our Pulumi.yaml and stack files through the Pulumi CLI's own code: the loaders
// (sdk/v3/go/common/workspace LoadProject, LoadProjectStack) and the check `pulumi preview`,
// `up`, `refresh` and `destroy` run before the program starts
// (pkg/v3/workspace.ValidateStackConfigAndApplyProjectConfig, called from
// pkg/cmd/pulumi/operations/up.go at v3.274.1), then the config the CLI hands the program through
// the program's own reader (components/stackconfig.ts, run by program-config.ts).
package pulumiconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	pkgworkspace "github.com/pulumi/pulumi/pkg/v3/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/esc"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// The project's config namespace: Pulumi.yaml's `name`.
const namespace = "talos-docker"

// A stack as the CLI sees it: its name and its config, as loaded from Pulumi.<name>.yaml.
type stack struct {
	name   string
	config config.Map
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// loadProject reads Pulumi.yaml as the CLI does (JSON-schema check, shorthand rewrite, Validate).
func loadProject(t *testing.T) *workspace.Project {
	t.Helper()
	project, err := workspace.LoadProject(filepath.Join(repoRoot(t), "Pulumi.yaml"))
	if err != nil {
		t.Fatalf("the Pulumi CLI cannot load Pulumi.yaml: %v", err)
	}
	if project.Name.String() != namespace {
		t.Fatalf("Pulumi.yaml names the project %q; the program reads the namespace %q", project.Name, namespace)
	}
	return project
}

// loadStack reads a stack file as the CLI does; a warning from the loader (a key without a value)
// fails the test. A missing file is a stack that sets nothing, as for the CLI.
func loadStack(t *testing.T, project *workspace.Project, path string) stack {
	t.Helper()
	var out, errOut bytes.Buffer
	sink := diag.DefaultSink(&out, &errOut, diag.FormatOptions{Color: colors.Never})
	loaded, err := workspace.LoadProjectStack(sink, project, path)
	if err != nil {
		t.Fatalf("the Pulumi CLI cannot load %s: %v", path, err)
	}
	if out.Len()+errOut.Len() > 0 {
		t.Fatalf("loading %s, the Pulumi CLI warns:\n%s%s", path, out.String(), errOut.String())
	}
	if loaded.Config.HasSecureValue() {
		t.Fatalf("%s holds encrypted values: this check needs a stack file without secrets", path)
	}
	name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".yaml"), ".yml")
	return stack{name: strings.TrimPrefix(name, "Pulumi."), config: loaded.Config}
}

// writeStack writes a stack file for a generated case and loads it.
func writeStack(t *testing.T, project *workspace.Project, name, text string) stack {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Pulumi."+name+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return loadStack(t, project, path)
}

// repoStacks are the Pulumi.<stack>.yaml files of the repository (the reference stack at least).
func repoStacks(t *testing.T, project *workspace.Project) []stack {
	t.Helper()
	var stacks []stack
	for _, pattern := range []string{"Pulumi.*.yaml", "Pulumi.*.yml"} {
		files, err := filepath.Glob(filepath.Join(repoRoot(t), pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			stacks = append(stacks, loadStack(t, project, file))
		}
	}
	if !slices.ContainsFunc(stacks, func(s stack) bool { return s.name == "dev" }) {
		t.Fatal("no Pulumi.dev.yaml, the reference stack, in the repository")
	}
	return stacks
}

// validate runs the CLI's check on a copy of the stack's config, as `pulumi up` does (no ESC
// environment), and returns the config the program would receive. The decrypter must not be nil:
// with a nil one, Pulumi skips the type checks. No stack here holds a secret, so it is never used.
func validate(project *workspace.Project, s stack) (config.Map, error) {
	merged := maps.Clone(s.config)
	crypter := config.NewPanicCrypter()
	err := pkgworkspace.ValidateStackConfigAndApplyProjectConfig(
		context.Background(), s.name, project, esc.Value{}, merged, crypter, crypter)
	return merged, err
}

// programConfig is the config map as the Node.js language host passes it to the program in
// PULUMI_CONFIG: the engine decrypts the stack's config (pkg/resource/deploy/source_eval.go at
// v3.274.1) and the host writes each key as <namespace>:config:<name>
// (sdk/nodejs/cmd/pulumi-language-nodejs/main.go constructConfig, read at v3.259.0: the host is
// not on the module proxy at v3.274.1). The runtime and the program accept both key forms.
func programConfig(t *testing.T, m config.Map) map[string]string {
	t.Helper()
	plain, err := m.Decrypt(config.NopDecrypter)
	if err != nil {
		t.Fatal(err)
	}
	result := make(map[string]string, len(plain))
	for key, value := range plain {
		result[key.Namespace()+":config:"+key.Name()] = value
	}
	return result
}

// projectKeys are the keys a config map sets in the project's namespace, sorted.
func projectKeys(m config.Map) []string {
	var keys []string
	for key := range m {
		if key.Namespace() == namespace {
			keys = append(keys, key.Name())
		}
	}
	slices.Sort(keys)
	return keys
}

func declaredKeys(project *workspace.Project) []string {
	keys := slices.Collect(maps.Keys(project.Config))
	slices.Sort(keys)
	return keys
}

// The stack files of the repository and the generated ones the CLI must accept: one that sets no
// key (no file, as after `pulumi stack init`; and an empty config), one that sets only some keys,
// with and without the namespace, and the reference stack with each key left out in turn.
func acceptedStacks(t *testing.T, project *workspace.Project) []stack {
	t.Helper()
	stacks := repoStacks(t, project)
	stacks = append(stacks,
		loadStack(t, project, filepath.Join(t.TempDir(), "Pulumi.none.yaml")),
		writeStack(t, project, "empty", "config: {}\n"),
		writeStack(t, project, "some", "config:\n"+
			"  talos-docker:workers: {count: 3}\n"+
			"  talos-docker:image: registry.local/talos:v1.8.3\n"),
		writeStack(t, project, "short", "config:\n"+
			"  controlPlanes: {count: 3}\n"+
			"  network: {subnet: 10.5.0.0/24}\n"+
			"  talosVersion: v1.13.9\n"+
			"  kubernetesVersion: 1.36.3\n"),
	)
	dev := stacks[slices.IndexFunc(stacks, func(s stack) bool { return s.name == "dev" })]
	for _, key := range declaredKeys(project) {
		without := maps.Clone(dev.config)
		delete(without, config.MustMakeKey(namespace, key))
		stacks = append(stacks, stack{name: "dev-without-" + key, config: without})
	}
	return stacks
}

// Every accepted stack passes the CLI's check, and the CLI then hands the program every declared
// key: Pulumi.yaml's default for each one the stack leaves out. The program must make of that
// exactly the cluster it makes of the stack's own keys alone, so a default in Pulumi.yaml that
// disagrees with the program's DEFAULTS, or a default the program does not read as unset, fails.
func TestStacksPassPulumiValidation(t *testing.T) {
	t.Parallel()
	project := loadProject(t)
	stacks := acceptedStacks(t, project)

	cases := map[string]map[string]string{}
	for _, s := range stacks {
		merged, err := validate(project, s)
		if err != nil {
			t.Errorf("stack %s: the Pulumi CLI stops before the program runs: validating stack config: %v", s.name, err)
			continue
		}
		if got, want := projectKeys(merged), declaredKeys(project); !slices.Equal(got, want) {
			t.Errorf("stack %s: after Pulumi applies Pulumi.yaml the program gets the keys %v, want every declared key %v",
				s.name, got, want)
		}
		cases[s.name+"/own"] = programConfig(t, s.config)
		cases[s.name+"/merged"] = programConfig(t, merged)
	}
	if t.Failed() {
		return
	}
	skewedCount, skewedConfig := skewedWorkers(t)
	cases["skewed/merged"] = programConfig(t, skewedConfig)

	results := runProgramConfig(t, cases)
	// The comparison's own check: it must see a workers default that differs from the program's.
	skewed := results["skewed/merged"]
	gotWorkers, _ := skewed.Spec["workers"].(map[string]any)
	if gotWorkers["count"] != float64(skewedCount) || len(specDifferences(results["none/own"].Spec, skewed.Spec)) != 1 {
		t.Errorf("a Pulumi.yaml with workers.count %d should make a cluster differing in workers alone: the program made %s",
			skewedCount, show(skewed))
	}
	for _, s := range stacks {
		own, merged := results[s.name+"/own"], results[s.name+"/merged"]
		if own.Error != "" {
			t.Errorf("stack %s: the program rejects its own keys:\n%s", s.name, own.Error)
			continue
		}
		if merged.Error != "" {
			t.Errorf("stack %s: the program rejects the config the Pulumi CLI hands it:\n%s", s.name, merged.Error)
			continue
		}
		if differences := specDifferences(own.Spec, merged.Spec); len(differences) > 0 {
			t.Errorf("stack %s: with Pulumi.yaml's defaults applied the program makes another cluster than from the "+
				"stack's own keys:\n%s", s.name, strings.Join(differences, "\n"))
		}
	}
}

// skewedWorkers is what the CLI hands the program for a stack that sets nothing when Pulumi.yaml's
// workers default has one worker more than the program's, and that count.
func skewedWorkers(t *testing.T) (int, config.Map) {
	t.Helper()
	project := loadProject(t)
	workers := project.Config["workers"]
	fields, isObject := workers.Default.(map[string]any)
	count, isInt := fields["count"].(int)
	if !isObject || !isInt {
		t.Fatalf("Pulumi.yaml's workers default is not an object with an integer count: %s", show(workers.Default))
	}
	fields = maps.Clone(fields)
	fields["count"] = count + 1
	workers.Default = fields
	project.Config["workers"] = workers
	merged, err := validate(project, stack{name: "none", config: config.Map{}})
	if err != nil {
		t.Fatal(err)
	}
	return count + 1, merged
}

// What the CLI refuses before the program runs, with the CLI's message.
func TestPulumiRejects(t *testing.T) {
	project := loadProject(t)
	cases := []struct {
		name, stack, want string
	}{
		{
			name:  "wrong-type",
			stack: "config:\n  talos-docker:clusterName: {name: talos}\n",
			want:  "Stack 'wrong-type' with configuration key 'clusterName' must be of type 'string'",
		},
		{
			name:  "list-for-string",
			stack: "config:\n  talos-docker:image: [ghcr.io/siderolabs/talos:v1.8.3]\n",
			want:  "Stack 'list-for-string' with configuration key 'image' must be of type 'string'",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := validate(project, writeStack(t, project, c.name, c.stack))
			if err == nil || err.Error() != c.want {
				t.Errorf("Pulumi's validation: got %v, want %q", err, c.want)
			}
		})
	}
}

// The check above can fail: without its default, every declared key is one the CLI requires, and
// a stack that sets no key is refused naming it.
func TestEveryDefaultIsNeeded(t *testing.T) {
	for _, key := range declaredKeys(loadProject(t)) {
		t.Run(key, func(t *testing.T) {
			broken := loadProject(t)
			entry := broken.Config[key]
			entry.Default = nil
			broken.Config[key] = entry

			_, err := validate(broken, stack{name: "none", config: config.Map{}})
			want := fmt.Sprintf("Stack 'none' is missing configuration value '%s'", key)
			if err == nil || err.Error() != want {
				t.Errorf("Pulumi.yaml without %s's default: got %v, want %q", key, err, want)
			}
		})
	}
}

// The CLI does not catch a typo in our namespace (it dropped that check in v3.45.0): it passes an
// undeclared key on to the program, whose parser refuses it before any resource is declared.
func TestUndeclaredKeyIsCaughtByTheProgram(t *testing.T) {
	t.Parallel()
	project := loadProject(t)
	s := writeStack(t, project, "typo", "config:\n  talos-docker:imagee: registry.local/talos:v1.8.3\n")
	merged, err := validate(project, s)
	if err != nil {
		t.Fatalf("Pulumi's validation refuses an undeclared key (%v): the program's unknown-key check is no longer "+
			"the only one; update tests/pulumi/README.md", err)
	}
	result := runProgramConfig(t, map[string]map[string]string{"typo": programConfig(t, merged)})["typo"]
	want := `talos-docker:imagee = "registry.local/talos:v1.8.3": unknown key; the keys are `
	if !strings.Contains(result.Error, want) {
		t.Errorf("the program's answer to talos-docker:imagee: got %s, want an error containing %q", show(result), want)
	}
}

// programResult is what program-config.ts reports for one config: the ClusterSpec, or the message
// the program stops with.
type programResult struct {
	Spec  map[string]any `json:"spec"`
	Error string         `json:"error"`
}

// runProgramConfig runs the program's config reader on each case, in one Node.js process.
func runProgramConfig(t *testing.T, cases map[string]map[string]string) map[string]programResult {
	t.Helper()
	root := repoRoot(t)
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("the program's side skipped: node is not on PATH")
	}
	for _, need := range []string{"node_modules/tsx/package.json", "node_modules/@pulumi/pulumi/package.json"} {
		if _, err := os.Stat(filepath.Join(root, need)); err != nil {
			t.Skipf("the program's side skipped: %s is missing (run npm ci in %s)", need, root)
		}
	}
	input, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// Pulumi runs the program in the project directory: files named in config are relative to it.
	cmd := exec.CommandContext(ctx, "node", "--import", "tsx", "tests/pulumi/program-config.ts")
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(input)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("program-config.ts: %v\n%s", err, errOut.String())
	}
	var results map[string]programResult
	if err := json.Unmarshal(out.Bytes(), &results); err != nil {
		t.Fatalf("program-config.ts printed no JSON (%v):\n%s", err, out.String())
	}
	for name := range cases {
		if _, ok := results[name]; !ok {
			t.Fatalf("program-config.ts gave no result for %s", name)
		}
	}
	return results
}

// specDifferences names each field of the two ClusterSpecs that differs, with both values.
func specDifferences(own, merged map[string]any) []string {
	var differences []string
	fields := slices.Collect(maps.Keys(own))
	for field := range merged {
		if _, ok := own[field]; !ok {
			fields = append(fields, field)
		}
	}
	slices.Sort(fields)
	for _, field := range fields {
		if !reflect.DeepEqual(own[field], merged[field]) {
			differences = append(differences, fmt.Sprintf("  %s: from the stack's own keys %s, as the CLI hands them %s",
				field, show(own[field]), show(merged[field])))
		}
	}
	return differences
}

func show(value any) string {
	text, err := json.Marshal(value)
	if err != nil {
		return fmt.Sprint(value)
	}
	return string(text)
}
