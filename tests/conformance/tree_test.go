package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// A config tree: every YAML document of a machine config, unmarshalled to generic maps and keyed by
// its identity, so that two configs compare structurally (key order, quoting and comments aside).
type tree map[string]any

// docID names a document: "v1alpha1" for the legacy machine config (version: v1alpha1, no kind),
// else "<kind>" or "<kind>/<name>".
func docID(doc map[string]any) string {
	kind, _ := doc["kind"].(string)
	if kind == "" {
		if v, _ := doc["version"].(string); v != "" {
			return v
		}

		return "?"
	}

	if name, _ := doc["name"].(string); name != "" {
		return kind + "/" + name
	}

	return kind
}

// parseTree unmarshals every document of a multi-document YAML stream.
func parseTree(t testing.TB, what string, data []byte) tree {
	t.Helper()

	out := tree{}
	dec := newYAMLDecoder(bytes.NewReader(data), false)

	for i := 0; ; i++ {
		var doc any

		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			t.Fatalf("%s: YAML document %d: %v", what, i, err)
		}

		if doc == nil {
			continue // an empty document (a trailing ---)
		}

		m, ok := doc.(map[string]any)
		if !ok {
			t.Fatalf("%s: YAML document %d is a %T, not a mapping", what, i, doc)
		}

		id := docID(m)
		if _, dup := out[id]; dup {
			t.Fatalf("%s: two documents named %s", what, id)
		}

		out[id] = m
	}

	return out
}

// absent stands for a key one side does not have.
type absent struct{}

func (absent) String() string { return "<absent>" }

// difference is one leaf where two trees differ.
type difference struct {
	Path   string // "v1alpha1:machine.certSANs[1]"
	Ours   any
	Theirs any
}

func (d difference) String() string {
	return fmt.Sprintf("%s: ours %s, Talos %s", d.Path, show(d.Ours), show(d.Theirs))
}

func show(v any) string {
	if _, ok := v.(absent); ok {
		return "<absent>"
	}

	s := fmt.Sprintf("%#v", v)
	if len(s) > 300 {
		s = s[:300] + "…"
	}

	return s
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func joinKey(path, key string) string {
	if !plainKey.MatchString(key) {
		return fmt.Sprintf("%s[%q]", path, key)
	}

	if strings.HasSuffix(path, ":") {
		return path + key
	}

	return path + "." + key
}

// diffTrees lists every difference between ours and theirs, sorted by path.
func diffTrees(ours, theirs tree) []difference {
	var out []difference

	for _, id := range unionKeys(ours, theirs) {
		a, okA := ours[id]
		b, okB := theirs[id]

		switch {
		case !okA:
			out = append(out, difference{Path: id + ":", Ours: absent{}, Theirs: b})
		case !okB:
			out = append(out, difference{Path: id + ":", Ours: a, Theirs: absent{}})
		default:
			diffValues(id+":", a, b, &out)
		}
	}

	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })

	return out
}

func diffValues(path string, a, b any, out *[]difference) {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)

	if okA && okB {
		for _, k := range unionKeys(ma, mb) {
			va, inA := ma[k]
			vb, inB := mb[k]

			switch {
			case !inA:
				*out = append(*out, difference{Path: joinKey(path, k), Ours: absent{}, Theirs: vb})
			case !inB:
				*out = append(*out, difference{Path: joinKey(path, k), Ours: va, Theirs: absent{}})
			default:
				diffValues(joinKey(path, k), va, vb, out)
			}
		}

		return
	}

	la, okA := a.([]any)
	lb, okB := b.([]any)

	if okA && okB && len(la) == len(lb) {
		for i := range la {
			diffValues(fmt.Sprintf("%s[%d]", path, i), la[i], lb[i], out)
		}

		return
	}

	if !reflect.DeepEqual(a, b) {
		*out = append(*out, difference{Path: path, Ours: a, Theirs: b})
	}
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]struct{}{}

	for k := range a {
		seen[k] = struct{}{}
	}

	for k := range b {
		seen[k] = struct{}{}
	}

	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}

	sort.Strings(keys)

	return keys
}

// allowedDifference is a difference between our config and Talos' that is right, with the reason.
type allowedDifference struct {
	// Path is a regular expression matched against the whole difference path.
	Path *regexp.Regexp
	// Applies tells when the allowance holds (nil: always).
	Applies func(opts Options, role string) bool
	// Check, if set, must accept the two values.
	Check  func(ours, theirs any) bool
	Reason string
}

// splitAllowed separates the allowed differences (with their reasons) from the rest.
func splitAllowed(diffs []difference, allowed []allowedDifference, opts Options, role string) (rest []difference, used []string) {
next:
	for _, d := range diffs {
		for _, a := range allowed {
			if !a.Path.MatchString(d.Path) {
				continue
			}

			if a.Applies != nil && !a.Applies(opts, role) {
				continue
			}

			if a.Check != nil && !a.Check(d.Ours, d.Theirs) {
				continue
			}

			used = append(used, d.String()+" — allowed: "+a.Reason)

			continue next
		}

		rest = append(rest, d)
	}

	return rest, used
}

func reportDiffs(t testing.TB, what string, diffs []difference) {
	t.Helper()

	if len(diffs) == 0 {
		return
	}

	lines := make([]string, len(diffs))
	for i, d := range diffs {
		lines[i] = "  " + d.String()
	}

	t.Errorf("%s: %d difference(s):\n%s", what, len(diffs), strings.Join(lines, "\n"))
}
