//go:build talos_v1_12 || talos_v1_13 || talos_v1_14

package conformance

import (
	"io"

	// The YAML library machinery and talosctl use from v1.12 (talos@v1.12.11:cmd/talosctl/cmd/mgmt/gen/secrets.go).
	yaml "go.yaml.in/yaml/v4"
)

const yamlLibrary = "go.yaml.in/yaml/v4"

func yamlMarshal(v any) ([]byte, error) { return yaml.Marshal(v) }

type yamlDecoder interface{ Decode(v any) error }

// newYAMLDecoder decodes a YAML stream; strict rejects keys the target struct does not have.
func newYAMLDecoder(r io.Reader, strict bool) yamlDecoder {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(strict)

	return dec
}
