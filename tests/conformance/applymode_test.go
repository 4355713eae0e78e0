package conformance

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/types/v1alpha1"
)

// immediateFixture is applymode.json (tests/conformance/applymode-cases.ts).
type immediateFixture struct {
	Fields struct {
		Document []string `json:"document"`
		Machine  []string `json:"machine"`
		Features []string `json:"features"`
	} `json:"fields"`
	Cases []struct {
		Name      string `json:"name"`
		Current   string `json:"current"`
		Next      string `json:"next"`
		Immediate bool   `json:"immediate"`
	} `json:"cases"`
}

// Test 9: talos/applymode.ts, the rule machined applies to ApplyConfiguration in modes auto,
// no-reboot and try (talos:internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go
// CanApplyImmediate). The rule is in machined, not machinery, so it cannot be called from here;
// what can be checked against machinery is checked:
//   - every field our list lets change without a reboot is a YAML key of machinery's v1alpha1
//     types at this minor (a misspelt key would never be masked);
//   - for changes outside those fields, machined's verdict is reflect.DeepEqual of the two
//     decoded v1alpha1 documents, computed here with configloader: ours must agree (null,
//     empty maps and lists, key order, comments, quoting, other documents).
func TestImmediateApplyRule(t *testing.T) {
	opts := loadOptions(t)
	if opts.Generator == "machinery" {
		t.Skip("applymode.json holds talos/applymode.ts' verdicts: written by write-fixtures.ts only, not by --self")
	}

	var fx immediateFixture
	if err := json.Unmarshal(readFixture(t, "applymode.json"), &fx); err != nil {
		t.Fatalf("applymode.json: %v", err)
	}

	t.Run("fields", func(t *testing.T) {
		for _, f := range []struct {
			where  string
			typ    reflect.Type
			fields []string
		}{
			{"the v1alpha1 document", reflect.TypeFor[v1alpha1.Config](), fx.Fields.Document},
			{"machine", reflect.TypeFor[v1alpha1.MachineConfig](), fx.Fields.Machine},
			{"machine.features", reflect.TypeFor[v1alpha1.FeaturesConfig](), fx.Fields.Features},
		} {
			keys := yamlKeys(f.typ)
			if len(f.fields) == 0 {
				t.Errorf("%s: no fields in applymode.json", f.where)
			}

			for _, name := range f.fields {
				if !slices.Contains(keys, name) {
					t.Errorf("%s: %q is not a key of machinery's %s (keys: %s)", f.where, name, f.typ, strings.Join(keys, ", "))
				}
			}
		}
	})

	if len(fx.Cases) == 0 {
		t.Fatal("applymode.json has no cases")
	}

	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			current, err := configloader.NewFromBytes([]byte(c.Current))
			if err != nil {
				t.Fatalf("current config: %v", err)
			}

			next, err := configloader.NewFromBytes([]byte(c.Next))
			if err != nil {
				t.Fatalf("new config: %v", err)
			}

			machined := reflect.DeepEqual(current.RawV1Alpha1(), next.RawV1Alpha1())
			if machined != c.Immediate {
				t.Errorf("without a reboot: ours %v, machined's comparison %v", c.Immediate, machined)
			}
		})
	}
}

// yamlKeys are the YAML keys of a struct type's fields.
func yamlKeys(typ reflect.Type) []string {
	var keys []string

	for field := range typ.Fields() {
		name, _, _ := strings.Cut(field.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}

	return keys
}
