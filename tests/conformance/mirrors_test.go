package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/validation"
)

// MirrorCase is one entry of mirrors.json: one role pair of configs rendered with these mirrors.
type MirrorCase struct {
	Name         string              `json:"name"`
	Description  string              `json:"description"`
	Mirrors      map[string][]string `json:"mirrors"`
	Controlplane string              `json:"controlplane"`
	Worker       string              `json:"worker"`
}

func (c MirrorCase) config(role string) []byte {
	if role == "controlplane" {
		return []byte(c.Controlplane)
	}

	return []byte(c.Worker)
}

func loadMirrorCases(t testing.TB) []MirrorCase {
	t.Helper()

	var cases []MirrorCase
	if err := json.Unmarshal(readFixture(t, "mirrors.json"), &cases); err != nil {
		t.Fatalf("mirrors.json: %v", err)
	}

	if len(cases) == 0 {
		t.Fatal("mirrors.json has no case")
	}

	return cases
}

// Test: for each mirror case, our configs load and validate in container mode (strict), and are
// the config tree Talos' generator makes with generate.WithRegistryMirror for each host (the old
// machine.registries up to v1.11, a RegistryMirrorConfig document per host from v1.12).
func TestRegistryMirrorsMatchTalosGenerator(t *testing.T) {
	opts := loadOptions(t)

	for _, c := range loadMirrorCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			caseOpts := opts
			caseOpts.RegistryMirrors = c.Mirrors
			theirs := talosConfigs(t, caseOpts)

			for _, role := range roles {
				t.Run(role.name, func(t *testing.T) {
					ours := c.config(role.name)

					cfg, err := configloader.NewFromBytes(ours)
					if err != nil {
						t.Fatalf("configloader.NewFromBytes: %v", err)
					}

					if _, err := cfg.Validate(containerMode{}, validation.WithStrict()); err != nil {
						t.Errorf("Validate(container, strict): %v", err)
					}

					generated := encode(t, theirs[role.name])
					diffs := diffTrees(parseTree(t, "ours", ours), parseTree(t, "Talos generator", generated))
					reportDiffs(t, fmt.Sprintf("%s (%s): our %s config vs Talos %s generator", c.Name, c.Description,
						role.name, machineryVersion(t)), diffs)

					if t.Failed() {
						t.Logf("Talos' %s config:\n%s", role.name, generated)
					}
				})
			}
		})
	}
}

// readMirrorCaseDefinitions reads mirror-cases.yaml, the cases write-fixtures.ts renders with ours.
func readMirrorCaseDefinitions(t testing.TB) []MirrorCase {
	t.Helper()

	data, err := os.ReadFile("mirror-cases.yaml")
	if err != nil {
		t.Fatal(err)
	}

	var defs []struct {
		Name        string              `yaml:"name"`
		Description string              `yaml:"description"`
		Mirrors     map[string][]string `yaml:"mirrors"`
	}

	if err := newYAMLDecoder(bytes.NewReader(data), true).Decode(&defs); err != nil {
		t.Fatalf("mirror-cases.yaml: %v", err)
	}

	cases := make([]MirrorCase, len(defs))
	for i, d := range defs {
		cases[i] = MirrorCase{Name: d.Name, Description: d.Description, Mirrors: d.Mirrors}
	}

	return cases
}
