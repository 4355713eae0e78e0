package conformance

import (
	"bytes"
	stdx509 "crypto/x509"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"

	ghodssyaml "github.com/ghodss/yaml"
	"github.com/siderolabs/crypto/x509"

	clientconfig "github.com/siderolabs/talos/pkg/machinery/client/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/role"
)

func b64(t testing.TB, what, s string) []byte {
	t.Helper()

	out, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("%s: not standard base64: %v", what, err)
	}

	return out
}

// verifyClientCert checks that a client certificate chains to the CA for client authentication.
func verifyClientCert(t testing.TB, cert *stdx509.Certificate, caPEM []byte) {
	t.Helper()

	pool := stdx509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA is not PEM")
	}

	if _, err := cert.Verify(stdx509.VerifyOptions{
		Roots:     pool,
		KeyUsages: []stdx509.ExtKeyUsage{stdx509.ExtKeyUsageClientAuth},
	}); err != nil {
		t.Errorf("client certificate does not verify to the CA: %v", err)
	}
}

// Test 4a: our talosconfig loads with machinery's client config, names the context, endpoints and
// nodes we asked for, trusts the OS CA, and its client certificate is the one Talos' generator
// makes (generate.Input.Talosconfig: os:admin, EKU exactly clientAuth, Ed25519, one year), issued
// by the OS CA.
func TestTalosconfig(t *testing.T) {
	opts := loadOptions(t)
	bundle := loadSecretsBundle(t)
	ours := readFixture(t, "talosconfig")

	cfg, err := clientconfig.FromBytes(ours)
	if err != nil {
		t.Fatalf("clientconfig.FromBytes: %v", err)
	}

	var strict clientconfig.Config
	if err := newYAMLDecoder(bytes.NewReader(ours), true).Decode(&strict); err != nil {
		t.Errorf("strict decode (%s): %v", yamlLibrary, err)
	}

	// talosctl writes talosconfig as Config.Bytes() (yaml.Marshal).
	if written, err := cfg.Bytes(); err != nil {
		t.Errorf("Config.Bytes: %v", err)
	} else if !bytes.Equal(ours, written) {
		t.Errorf("talosconfig is not what talosctl writes for the same config (%s):\n%s", yamlLibrary, lineDiff(string(ours), string(written)))
	}

	if cfg.Context != opts.Talosconfig.ContextName {
		t.Errorf("context: got %q, want %q", cfg.Context, opts.Talosconfig.ContextName)
	}

	if len(cfg.Contexts) != 1 {
		t.Errorf("contexts: got %d, want 1", len(cfg.Contexts))
	}

	ctx := cfg.Contexts[cfg.Context]
	if ctx == nil {
		t.Fatalf("no context %q", cfg.Context)
	}

	if !slices.Equal(ctx.Endpoints, opts.Talosconfig.Endpoints) {
		t.Errorf("endpoints: got %q, want %q", ctx.Endpoints, opts.Talosconfig.Endpoints)
	}

	// talosctl cluster create leaves nodes empty; ours may name default nodes: checked against our inputs only.
	if !slices.Equal(ctx.Nodes, opts.Talosconfig.Nodes) {
		t.Errorf("nodes: got %q, want %q", ctx.Nodes, opts.Talosconfig.Nodes)
	}

	if !bytes.Equal(b64(t, "ca", ctx.CA), bundle.Certs.OS.Crt) {
		t.Errorf("ca is not the OS CA of secrets.yaml")
	}

	// The client key pair, as the Talos client loads it
	// (talos@v1.8.3:pkg/machinery/client/connection.go CertificateFromConfigContext).
	pair := &x509.PEMEncodedCertificateAndKey{Crt: b64(t, "crt", ctx.Crt), Key: b64(t, "key", ctx.Key)}
	cert := mustCertAndKey(t, "talosconfig client", pair)

	verifyClientCert(t, cert, bundle.Certs.OS.Crt)

	// apid takes the roles from the organizations (talos@v1.8.3:pkg/grpc/middleware/authz).
	roles, unknown := role.Parse(cert.Subject.Organization)
	if !slices.Equal(cert.Subject.Organization, []string{string(role.Admin)}) || len(unknown) > 0 || !roles.Includes(role.Admin) {
		t.Errorf("organizations: got %q, want [%s]", cert.Subject.Organization, role.Admin)
	}

	// apidCheckExtKeyUsage: exactly clientAuth.
	if !slices.Equal(cert.ExtKeyUsage, []stdx509.ExtKeyUsage{stdx509.ExtKeyUsageClientAuth}) || len(cert.UnknownExtKeyUsage) > 0 {
		t.Errorf("extKeyUsage: got %s, want clientAuth", extKeyUsageString(cert))
	}

	// Everything else as Talos' own talosconfig: what the generator writes for the same bundle.
	input := talosInput(t, opts, bundle)

	theirs, err := input.Talosconfig()
	if err != nil {
		t.Fatalf("generate Talosconfig: %v", err)
	}

	theirCtx := theirs.Contexts[theirs.Context]

	if theirs.Context != cfg.Context {
		t.Errorf("context: ours %q, Talos %q", cfg.Context, theirs.Context)
	}

	if !slices.Equal(theirCtx.Endpoints, ctx.Endpoints) || theirCtx.CA != ctx.CA {
		t.Errorf("endpoints/ca differ from Talos': ours %q, Talos %q", ctx.Endpoints, theirCtx.Endpoints)
	}

	theirPair := &x509.PEMEncodedCertificateAndKey{Crt: b64(t, "crt", theirCtx.Crt), Key: b64(t, "key", theirCtx.Key)}
	compareProfiles(t, certProfileOf(cert, pair.Key), certProfileOf(mustCertAndKey(t, "Talos client", theirPair), theirPair.Key), leafBasicConstraints)
}

// kubeconfigFile is the subset of k8s.io/client-go/tools/clientcmd/api/v1 Config that Talos writes
// (talos@v1.8.3:pkg/kubeconfig/generate.go); decoded strictly, so any other key is an error.
type kubeconfigFile struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Clusters   []struct {
		Name    string `yaml:"name"`
		Cluster struct {
			Server                   string `yaml:"server"`
			CertificateAuthorityData string `yaml:"certificate-authority-data"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		Name string `yaml:"name"`
		User struct {
			ClientCertificateData string `yaml:"client-certificate-data"`
			ClientKeyData         string `yaml:"client-key-data"`
		} `yaml:"user"`
	} `yaml:"users"`
	Contexts []struct {
		Name    string `yaml:"name"`
		Context struct {
			Cluster   string `yaml:"cluster"`
			User      string `yaml:"user"`
			Namespace string `yaml:"namespace"`
		} `yaml:"context"`
	} `yaml:"contexts"`
	CurrentContext string         `yaml:"current-context"`
	Preferences    map[string]any `yaml:"preferences"`
}

// Test 4b: our admin kubeconfig is the one Talos makes from a control plane config
// (talos@v1.8.3:pkg/kubeconfig/generate.go GenerateAdmin): cluster <name>, user and context
// admin@<name>, namespace default, the Kubernetes CA, and a client certificate issued by that CA
// with the common name, organization and lifetime machinery's config gives (admin, system:masters).
func TestKubeconfig(t *testing.T) {
	opts := loadOptions(t)
	ours := readFixture(t, "kubeconfig")

	cp, err := configloader.NewFromBytes(readFixture(t, "controlplane.yaml"))
	if err != nil {
		t.Fatalf("controlplane.yaml: %v", err)
	}

	name := k8sClusterName(cp)
	admin := cp.Cluster().AdminKubeconfig()
	k8sCA := k8sIssuingCA(cp)

	var kc kubeconfigFile
	if err := newYAMLDecoder(bytes.NewReader(ours), true).Decode(&kc); err != nil {
		t.Fatalf("kubeconfig (strict %s): %v", yamlLibrary, err)
	}

	if kc.APIVersion != "v1" || kc.Kind != "Config" {
		t.Errorf("apiVersion/kind: got %s/%s, want v1/Config", kc.APIVersion, kc.Kind)
	}

	wantUser := "admin@" + name
	if kc.CurrentContext != wantUser {
		t.Errorf("current-context: got %q, want %q", kc.CurrentContext, wantUser)
	}

	if len(kc.Clusters) != 1 || len(kc.Users) != 1 || len(kc.Contexts) != 1 {
		t.Fatalf("want one cluster, user and context; got %d, %d, %d", len(kc.Clusters), len(kc.Users), len(kc.Contexts))
	}

	if c := kc.Contexts[0]; c.Name != wantUser || c.Context.Cluster != name || c.Context.User != wantUser || c.Context.Namespace != "default" {
		t.Errorf("context: got %+v, want {%s: cluster %s, user %s, namespace default}", c, wantUser, name, wantUser)
	}

	c := kc.Clusters[0]
	if c.Name != name {
		t.Errorf("cluster name: got %q, want %q", c.Name, name)
	}

	if c.Cluster.Server != opts.Kubeconfig.Server {
		t.Errorf("server: got %q, want %q", c.Cluster.Server, opts.Kubeconfig.Server)
	}

	if !bytes.Equal(b64(t, "certificate-authority-data", c.Cluster.CertificateAuthorityData), adminKubeconfigCAs(cp)) {
		t.Errorf("certificate-authority-data is not the Kubernetes CA of controlplane.yaml")
	}

	u := kc.Users[0]
	if u.Name != wantUser {
		t.Errorf("user name: got %q, want %q", u.Name, wantUser)
	}

	pair := &x509.PEMEncodedCertificateAndKey{
		Crt: b64(t, "client-certificate-data", u.User.ClientCertificateData),
		Key: b64(t, "client-key-data", u.User.ClientKeyData),
	}
	cert := mustCertAndKey(t, "kubeconfig client", pair)

	verifyClientCert(t, cert, k8sCA.Crt)

	if cert.Subject.CommonName != admin.CommonName() || !slices.Equal(cert.Subject.Organization, []string{admin.CertOrganization()}) {
		t.Errorf("subject: got CN=%q O=%q, want CN=%q O=[%q]", cert.Subject.CommonName, cert.Subject.Organization, admin.CommonName(), admin.CertOrganization())
	}

	// Talos' own admin certificate for the same CA (GenerateAdmin → Generate, replayed with
	// Talos' crypto library since pkg/kubeconfig is outside machinery).
	ca, err := x509.NewCertificateAuthorityFromCertificateAndKey(k8sCA)
	if err != nil {
		t.Fatalf("Kubernetes CA: %v", err)
	}

	theirs, err := x509.NewKeyPair(ca,
		x509.CommonName(admin.CommonName()),
		x509.Organization(admin.CertOrganization()),
		x509.NotBefore(time.Now().Add(-10*time.Second)),
		x509.NotAfter(time.Now().Add(admin.CertLifetime())),
		x509.KeyUsage(stdx509.KeyUsageDigitalSignature|stdx509.KeyUsageKeyEncipherment),
		x509.ExtKeyUsage([]stdx509.ExtKeyUsage{stdx509.ExtKeyUsageClientAuth}),
	)
	if err != nil {
		t.Fatalf("Talos admin certificate: %v", err)
	}

	theirPair := x509.NewCertificateAndKeyFromKeyPair(theirs)
	compareProfiles(t, certProfileOf(cert, pair.Key), certProfileOf(mustCertAndKey(t, "Talos admin", theirPair), theirPair.Key), leafBasicConstraints)

	if len(kc.Preferences) != 0 {
		t.Errorf("preferences: got %v, want {}", kc.Preferences)
	}

	// The text clientcmd.Write gives for this config (as GenerateAdmin writes it): the JSON of
	// clientcmd/api/v1 Config (empty fields omitted, preferences always there) turned into YAML
	// by JSONToYAML (sorted keys, 2-space indents).
	clientcmdJSON, err := json.Marshal(map[string]any{
		"apiVersion": kc.APIVersion,
		"kind":       kc.Kind,
		"clusters": []any{map[string]any{"name": c.Name, "cluster": map[string]any{
			"server": c.Cluster.Server, "certificate-authority-data": c.Cluster.CertificateAuthorityData,
		}}},
		"users": []any{map[string]any{"name": u.Name, "user": map[string]any{
			"client-certificate-data": u.User.ClientCertificateData, "client-key-data": u.User.ClientKeyData,
		}}},
		"contexts": []any{map[string]any{"name": kc.Contexts[0].Name, "context": map[string]any{
			"cluster": kc.Contexts[0].Context.Cluster, "user": kc.Contexts[0].Context.User, "namespace": kc.Contexts[0].Context.Namespace,
		}}},
		"current-context": kc.CurrentContext,
		"preferences":     map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}

	want, err := ghodssyaml.JSONToYAML(clientcmdJSON)
	if err != nil {
		t.Fatal(err)
	}

	if !bytes.Equal(ours, want) {
		t.Errorf("kubeconfig is not in clientcmd's form:\n%s", lineDiff(string(ours), string(want)))
	}
}
