//go:build talos_v1_8 || talos_v1_9 || talos_v1_10 || talos_v1_11

package conformance

import (
	"io"

	// The YAML library machinery and talosctl use up to v1.11 (talos@v1.11.6:cmd/talosctl/cmd/mgmt/gen/secrets.go),
	// replaced in modules/*.mod by machinery's fork as machinery's own go.mod does.
	yaml "gopkg.in/yaml.v3"
)

const yamlLibrary = "gopkg.in/yaml.v3"

func yamlMarshal(v any) ([]byte, error) { return yaml.Marshal(v) }

type yamlDecoder interface{ Decode(v any) error }

// newYAMLDecoder decodes a YAML stream; strict rejects keys the target struct does not have.
func newYAMLDecoder(r io.Reader, strict bool) yamlDecoder {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(strict)

	return dec
}
