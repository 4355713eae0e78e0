package conformance

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
)

// The preview's view of a machine config (talos/configview.ts, written as <role>.view.json): the
// map `pulumi preview --diff` shows a reviewer. Two checks against machinery: every field that
// machinery's own RedactSecrets hides (what `talosctl get machineconfig` redacts) is hidden in the
// view too, and no secret of the bundle, as machinery loads it, appears in the view in any form.
const redactedMarker = "\x00talos-docker-redacted"

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// viewPath is talos/configview.ts' path syntax: plain keys dotted, others quoted in brackets.
func viewPath(path, key string) string {
	if plainWord.MatchString(key) {
		if path == "" {
			return key
		}

		return path + "." + key
	}

	quoted, _ := json.Marshal(key)

	return path + "[" + string(quoted) + "]"
}

func documentPrefix(doc map[string]any) string {
	kind, ok := doc["kind"].(string)
	if !ok {
		return ""
	}

	if name, ok := doc["name"].(string); ok {
		quoted, _ := json.Marshal(name)

		return kind + "[" + string(quoted) + "]"
	}

	return kind
}

// redactedPaths walks a decoded document and returns the view paths whose value is the marker
// (machinery writes redacted bytes fields as base64 of it).
func redactedPaths(path string, v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			redactedPaths(viewPath(path, k), child, out)
		}
	case []any:
		for i, child := range v {
			redactedPaths(fmt.Sprintf("%s[%d]", path, i), child, out)
		}
	case string:
		if v == redactedMarker || v == base64.StdEncoding.EncodeToString([]byte(redactedMarker)) {
			*out = append(*out, path)
		}
	}
}

// Test: the preview's view hides what machinery hides, and no secret of the bundle.
func TestPreviewViewHidesSecrets(t *testing.T) {
	bundle := loadSecretsBundle(t)

	var secrets []string

	add := func(values ...string) {
		for _, s := range values {
			if s != "" {
				secrets = append(secrets, s, base64.StdEncoding.EncodeToString([]byte(s)))
			}
		}
	}
	add(bundle.Cluster.ID, bundle.Cluster.Secret, bundle.Secrets.BootstrapToken, bundle.Secrets.SecretboxEncryptionSecret,
		bundle.Secrets.AESCBCEncryptionSecret, bundle.TrustdInfo.Token)

	for _, key := range [][]byte{
		bundle.Certs.Etcd.Key, bundle.Certs.K8s.Key, bundle.Certs.K8sAggregator.Key, bundle.Certs.K8sServiceAccount.Key, bundle.Certs.OS.Key,
	} {
		add(string(key))

		for _, line := range strings.Split(string(key), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				secrets = append(secrets, line)
			}
		}
	}

	for _, role := range roles {
		t.Run(role.name, func(t *testing.T) {
			var view map[string]string
			if err := json.Unmarshal(readFixture(t, role.name+".view.json"), &view); err != nil {
				t.Fatalf("%s.view.json: %v", role.name, err)
			}

			text := string(readFixture(t, role.name+".view.json"))
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("the view holds a secret of the bundle (%d characters)", len(s))
				}
			}

			cfg, err := configloader.NewFromBytes(readFixture(t, role.name+".yaml"))
			if err != nil {
				t.Fatalf("configloader.NewFromBytes: %v", err)
			}

			var paths []string

			for _, value := range parseTree(t, "redacted by machinery", encode(t, cfg.RedactSecrets(redactedMarker))) {
				doc, _ := value.(map[string]any)
				prefix := documentPrefix(doc)
				for k, v := range doc {
					redactedPaths(viewPath(prefix, k), v, &paths)
				}
			}

			sort.Strings(paths)

			if len(paths) == 0 {
				t.Fatalf("machinery redacted nothing in the %s config: the check would prove nothing", role.name)
			}

			for _, p := range paths {
				got, ok := view[p]
				if !ok {
					t.Errorf("%s: machinery redacts it, the view has no such field", p)
				} else if !strings.HasPrefix(got, "(secret ") {
					t.Errorf("%s: machinery redacts it, the view shows %q", p, got)
				}
			}

			t.Logf("%d fields machinery redacts, all hidden in the view: %s", len(paths), strings.Join(paths, ", "))
		})
	}
}
