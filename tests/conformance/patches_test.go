package conformance

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/configpatcher"
)

// applyTalos applies patch texts to a config as `talosctl cluster create --config-patch` does
// (talos@v1.8.3:pkg/machinery/config/bundle/bundle.go ApplyPatches): configpatcher.LoadPatches,
// configpatcher.Apply in order, then the result must load as a config (patched.Config()) and
// validate in container mode.
func applyTalos(base []byte, texts []string) ([]byte, error) {
	cfg, err := configloader.NewFromBytes(base)
	if err != nil {
		return nil, fmt.Errorf("base config: %w", err)
	}

	patches, err := configpatcher.LoadPatches(texts)
	if err != nil {
		return nil, err
	}

	out, err := configpatcher.Apply(configpatcher.WithConfig(cfg), patches)
	if err != nil {
		return nil, err
	}

	patched, err := out.Config()
	if err != nil {
		return nil, fmt.Errorf("the patched config does not load: %w", err)
	}

	// What machined then does with it at boot under PLATFORM=container: a config that fails here
	// never runs, so ours must refuse the patch up front.
	if _, err := patched.Validate(containerMode{}); err != nil {
		return nil, fmt.Errorf("the patched config does not validate in container mode: %w", err)
	}

	data, err := out.Bytes()
	if err != nil {
		return nil, err
	}

	// What talosctl hands the node must load in machined: Talos up to v1.11 "accepts" a
	// `$patch: delete` of a document kind it does not know and writes an empty document that no
	// loader takes. Such a patch is rejected in effect, and ours may reject it up front.
	if _, err := configloader.NewFromBytes(data); err != nil {
		return nil, fmt.Errorf("the patched config, as written, does not load: %w", err)
	}

	return data, nil
}

// patchForm names the form machinery reads a patch text as.
func patchForm(text string) string {
	p, err := configpatcher.LoadPatch([]byte(text))
	if err != nil {
		return "invalid"
	}

	if smp, ok := p.(configpatcher.StrategicMergePatch); ok {
		if len(smp.Documents()) > 1 {
			return "strategic merge, multi-document"
		}

		return "strategic merge"
	}

	if strings.HasPrefix(strings.TrimSpace(text), "[") {
		return "JSON6902 (JSON)"
	}

	return "JSON6902 (YAML)"
}

// allowedPatchDifferences: where our patched config may differ from configpatcher's, as text.
var allowedPatchDifferences = []allowedDifference{{
	Path:   regexp.MustCompile(`.`),
	Check:  func(ours, theirs any) bool { return isEmptyValue(ours) && isEmptyValue(theirs) },
	Reason: "an empty list or map where Talos' encoder leaves the key out; machinery loads both to the same config (compared as loaded, above)",
}}

func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case absent, nil:
		return true
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	default:
		return false
	}
}

// comparePatched compares our patched config with Talos': both as machinery loads them (what
// machined would run), then as written.
func comparePatched(t *testing.T, opts Options, c PatchCase, ours, theirs []byte) {
	t.Helper()

	oursCfg, err := configloader.NewFromBytes(ours)
	if err != nil {
		t.Errorf("our patched config does not load: %v", err)
	}

	theirsCfg, theirErr := configloader.NewFromBytes(theirs)
	if theirErr != nil {
		t.Logf("Talos' patched config does not load either (%v): comparing as written only", theirErr)
	}

	if err == nil && theirErr == nil {
		reportDiffs(t, c.Description+" (as loaded by machinery)",
			diffTrees(parseTree(t, "ours, loaded", encode(t, oursCfg)), parseTree(t, "Talos, loaded", encode(t, theirsCfg))))
	}

	rest, used := splitAllowed(diffTrees(parseTree(t, "ours", ours), parseTree(t, "Talos configpatcher", theirs)), allowedPatchDifferences, opts, c.Role)
	for _, u := range used {
		t.Log(u)
	}

	reportDiffs(t, c.Description+" (as written)", rest)
}

// Test 5: every patch case gives the same result with our applyPatches as with Talos' configpatcher
// on the same config, or is rejected by both.
func TestPatches(t *testing.T) {
	opts := loadOptions(t)

	cases := loadPatchCases(t)
	forms := map[string]int{}

	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Role != "controlplane" && c.Role != "worker" {
				t.Fatalf("role %q", c.Role)
			}

			for _, text := range c.Patches {
				forms[patchForm(text)]++
			}

			base := readFixture(t, c.Role+".yaml")
			theirs, err := applyTalos(base, c.Patches)

			switch {
			case c.Error != nil && err != nil:
				t.Logf("rejected by both: ours %q; Talos %q", *c.Error, err)
			case c.Error != nil:
				t.Errorf("ours rejects (%s) what Talos accepts:\n%s", *c.Error, theirs)
			case err != nil:
				t.Errorf("Talos rejects what ours accepts: %v", err)
			case c.Result == nil:
				t.Fatalf("case has neither result nor error")
			default:
				comparePatched(t, opts, c, []byte(*c.Result), theirs)
			}
		})
	}

	// "Every patch form we accept": each one must be exercised.
	for _, form := range []string{"strategic merge", "strategic merge, multi-document", "JSON6902 (YAML)", "JSON6902 (JSON)"} {
		if forms[form] == 0 {
			t.Errorf("no patch case in the form %q", form)
		}
	}

	if forms["invalid"] > 0 {
		t.Logf("%d patch text(s) Talos cannot read (expected only in rejection cases)", forms["invalid"])
	}

	summary := make([]string, 0, len(forms))
	for form, n := range forms {
		summary = append(summary, form+": "+strconv.Itoa(n))
	}

	sort.Strings(summary)
	t.Logf("patch texts by form: %s", strings.Join(summary, "; "))
}
