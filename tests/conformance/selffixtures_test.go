package conformance

import (
	"bytes"
	stdx509 "crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	ghodssyaml "github.com/ghodss/yaml"
	"github.com/siderolabs/crypto/x509"

	coreconfig "github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/constants"
)

// TestWriteSelfFixtures writes a fixture set made by Talos' own code instead of ours, into
// $CONFORMANCE_WRITE_SELF, in the layout write-fixtures.ts writes: `run.sh --self` runs the suite on
// it, to show the suite passes on Talos' own output (and so that a failure on ours is ours).
func TestWriteSelfFixtures(t *testing.T) {
	dir := os.Getenv("CONFORMANCE_WRITE_SELF")
	if dir == "" {
		t.Skip("CONFORMANCE_WRITE_SELF is not set")
	}

	linked := machineryVersion(t)
	minor := minorOf(linked)

	opts := Options{
		Minor:                minor,
		TalosVersion:         linked,
		KubernetesVersion:    constants.DefaultKubernetesVersion,
		ClusterName:          "talos-default",
		ControlPlaneEndpoint: "https://172.30.0.2:6443",
		AdditionalSANs:       []string{"talos-docker.internal"},
		StoragePath:          "/var/local-path-provisioner",
		RegistryMirrors:      map[string][]string{"docker.io": {"http://172.30.0.1:5000"}},
		Generator:            "machinery",
	}
	opts.Talosconfig.ContextName = opts.ClusterName
	opts.Talosconfig.Endpoints = []string{"127.0.0.1:50000"}
	opts.Kubeconfig.Server = "https://127.0.0.1:6444"

	contract, err := coreconfig.ParseContractFromVersion(opts.TalosVersion)
	if err != nil {
		t.Fatal(err)
	}

	bundle, err := secrets.NewBundle(secrets.NewFixedClock(time.Now()), contract)
	if err != nil {
		t.Fatal(err)
	}

	files := map[string][]byte{}

	if files["secrets.yaml"], err = yamlMarshal(bundle); err != nil {
		t.Fatal(err)
	}

	// The generator reads the bundle back from the file, as it does for ours.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	input := talosInput(t, opts, bundle)

	for _, role := range roles {
		cfg, err := input.Config(role.typ)
		if err != nil {
			t.Fatal(err)
		}

		cfg = applyPatchTexts(t, cfg, storagePatches(opts.StoragePath)...)
		files[role.name+".yaml"] = encode(t, cfg)
	}

	talosconfig, err := input.Talosconfig()
	if err != nil {
		t.Fatal(err)
	}

	if files["talosconfig"], err = talosconfig.Bytes(); err != nil {
		t.Fatal(err)
	}

	files["kubeconfig"] = selfKubeconfig(t, files["controlplane.yaml"], opts)

	cases := readPatchCaseDefinitions(t)
	for i, c := range cases {
		out, err := applyTalos(files[c.Role+".yaml"], c.Patches)
		if err != nil {
			msg := err.Error()
			cases[i].Error = &msg
		} else {
			s := string(out)
			cases[i].Result = &s
		}
	}

	if files["patches.json"], err = json.MarshalIndent(cases, "", "  "); err != nil {
		t.Fatal(err)
	}

	mirrorCases := readMirrorCaseDefinitions(t)
	for i, c := range mirrorCases {
		caseOpts := opts
		caseOpts.RegistryMirrors = c.Mirrors
		caseInput := talosInput(t, caseOpts, bundle)

		for _, role := range roles {
			cfg, err := caseInput.Config(role.typ)
			if err != nil {
				t.Fatal(err)
			}

			text := string(encode(t, applyPatchTexts(t, cfg, storagePatch(opts.StoragePath))))
			if role.name == "controlplane" {
				mirrorCases[i].Controlplane = text
			} else {
				mirrorCases[i].Worker = text
			}
		}
	}

	if files["mirrors.json"], err = json.MarshalIndent(mirrorCases, "", "  "); err != nil {
		t.Fatal(err)
	}

	if files["options.json"], err = json.MarshalIndent(opts, "", "  "); err != nil {
		t.Fatal(err)
	}

	for name, data := range files {
		write(name, data)
	}

	t.Logf("wrote %d files for %s (machinery %s) to %s", len(files), minor, linked, dir)
}

// readPatchCaseDefinitions reads patch-cases.yaml, the cases write-fixtures.ts applies with ours.
func readPatchCaseDefinitions(t testing.TB) []PatchCase {
	t.Helper()

	data, err := os.ReadFile("patch-cases.yaml")
	if err != nil {
		t.Fatal(err)
	}

	var defs []struct {
		Name        string   `yaml:"name"`
		Description string   `yaml:"description"`
		Role        string   `yaml:"role"`
		Patches     []string `yaml:"patches"`
	}

	if err := newYAMLDecoder(bytes.NewReader(data), true).Decode(&defs); err != nil {
		t.Fatalf("patch-cases.yaml: %v", err)
	}

	cases := make([]PatchCase, len(defs))
	for i, d := range defs {
		cases[i] = PatchCase{Name: d.Name, Description: d.Description, Role: d.Role, Patches: d.Patches}
	}

	return cases
}

// selfKubeconfig is Talos' admin kubeconfig for a control plane config (what pkg/kubeconfig
// GenerateAdmin writes through clientcmd), built here without client-go.
func selfKubeconfig(t testing.TB, controlplane []byte, opts Options) []byte {
	t.Helper()

	cp, err := configloader.NewFromBytes(controlplane)
	if err != nil {
		t.Fatal(err)
	}

	admin := cp.Cluster().AdminKubeconfig()

	ca, err := x509.NewCertificateAuthorityFromCertificateAndKey(k8sIssuingCA(cp))
	if err != nil {
		t.Fatal(err)
	}

	pair, err := x509.NewKeyPair(ca,
		x509.CommonName(admin.CommonName()),
		x509.Organization(admin.CertOrganization()),
		x509.NotBefore(time.Now().Add(-10*time.Second)),
		x509.NotAfter(time.Now().Add(admin.CertLifetime())),
		x509.KeyUsage(stdx509.KeyUsageDigitalSignature|stdx509.KeyUsageKeyEncipherment),
		x509.ExtKeyUsage([]stdx509.ExtKeyUsage{stdx509.ExtKeyUsageClientAuth}),
	)
	if err != nil {
		t.Fatal(err)
	}

	pem := x509.NewCertificateAndKeyFromKeyPair(pair)
	name := k8sClusterName(cp)
	user := "admin@" + name
	enc := base64.StdEncoding.EncodeToString

	doc := map[string]any{
		"apiVersion": "v1",
		"kind":       "Config",
		"clusters": []any{map[string]any{"name": name, "cluster": map[string]any{
			"server": opts.Kubeconfig.Server, "certificate-authority-data": enc(adminKubeconfigCAs(cp)),
		}}},
		"users": []any{map[string]any{"name": user, "user": map[string]any{
			"client-certificate-data": enc(pem.Crt), "client-key-data": enc(pem.Key),
		}}},
		"contexts": []any{map[string]any{"name": user, "context": map[string]any{
			"cluster": name, "user": user, "namespace": "default",
		}}},
		"current-context": user,
		"preferences":     map[string]any{},
	}

	// clientcmd.Write: JSON, then JSONToYAML.
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}

	out, err := ghodssyaml.JSONToYAML(data)
	if err != nil {
		t.Fatal(err)
	}

	return out
}
