package conformance

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	stdx509 "crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/siderolabs/crypto/x509"

	coreconfig "github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
)

func loadSecretsBundle(t testing.TB) *secrets.Bundle {
	t.Helper()

	bundle, err := secrets.LoadBundle(fixturePath(t, "secrets.yaml"))
	if err != nil {
		t.Fatalf("secrets.LoadBundle: %v", err)
	}

	return bundle
}

// namedCA is one CA of a secrets bundle.
type namedCA struct {
	name string
	pem  *x509.PEMEncodedCertificateAndKey
}

func bundleCAs(b *secrets.Bundle) []namedCA {
	return []namedCA{
		{"certs.etcd", b.Certs.Etcd},
		{"certs.k8s", b.Certs.K8s},
		{"certs.k8saggregator", b.Certs.K8sAggregator},
		{"certs.os", b.Certs.OS},
	}
}

// Test 3: our secrets.yaml is a talosctl secrets bundle: it loads (and validates, where machinery
// has Bundle.Validate), it has no key Talos does not know, talosctl would write it byte for byte
// the same, and its keys and CAs are of the kinds Talos' own `talosctl gen secrets` makes.
func TestSecretsBundle(t *testing.T) {
	opts := loadOptions(t)
	ours := readFixture(t, "secrets.yaml")
	bundle := loadSecretsBundle(t)

	t.Run("Complete", func(t *testing.T) {
		if bundle.Cluster == nil || bundle.Secrets == nil || bundle.TrustdInfo == nil || bundle.Certs == nil {
			t.Fatalf("missing sections: cluster=%v secrets=%v trustdinfo=%v certs=%v",
				bundle.Cluster != nil, bundle.Secrets != nil, bundle.TrustdInfo != nil, bundle.Certs != nil)
		}

		for _, ca := range bundleCAs(bundle) {
			if ca.pem == nil {
				t.Errorf("%s is missing", ca.name)
			}
		}

		if bundle.Certs.K8sServiceAccount == nil {
			t.Errorf("certs.k8sserviceaccount is missing")
		}
	})

	if t.Failed() {
		return
	}

	t.Run("Validate", func(t *testing.T) {
		// Bundle.Validate exists from machinery v1.11 (talos@v1.11.6:pkg/machinery/config/generate/secrets/bundle.go);
		// from v1.14.1 it takes the version contract.
		validator, ok := any(bundle).(interface{ Validate() error })
		contractValidator, withContract := any(bundle).(interface {
			Validate(*coreconfig.VersionContract) error
		})

		switch {
		case ok:
			if err := validator.Validate(); err != nil {
				t.Errorf("Bundle.Validate: %v", err)
			}
		case withContract:
			contract, err := coreconfig.ParseContractFromVersion(opts.TalosVersion)
			if err != nil {
				t.Fatalf("version contract: %v", err)
			}

			if err := contractValidator.Validate(contract); err != nil {
				t.Errorf("Bundle.Validate: %v", err)
			}
		case minorAtLeast(opts.Minor, 11):
			t.Fatalf("machinery %s has no Bundle.Validate", machineryVersion(t))
		default:
			t.Logf("machinery %s has no Bundle.Validate; checking what it checks (v1.11+ validateCerts)", machineryVersion(t))
		}

		// What Validate checks of the certificates, for every minor: the PEM parses as Talos reads it.
		for _, ca := range bundleCAs(bundle) {
			if _, err := ca.pem.GetCert(); err != nil {
				t.Errorf("%s.crt: %v", ca.name, err)
			}

			if _, err := ca.pem.GetKey(); err != nil {
				t.Errorf("%s.key: %v", ca.name, err)
			}
		}

		if _, err := bundle.Certs.K8sServiceAccount.GetKey(); err != nil {
			t.Errorf("certs.k8sserviceaccount.key: %v", err)
		}
	})

	t.Run("KnownFields", func(t *testing.T) {
		// secrets.LoadBundle ignores unknown keys: decode strictly to catch a misspelt one.
		var strict secrets.Bundle
		if err := newYAMLDecoder(bytes.NewReader(ours), true).Decode(&strict); err != nil {
			t.Errorf("strict decode (%s): %v", yamlLibrary, err)
		}
	})

	t.Run("TalosctlForm", func(t *testing.T) {
		// talosctl gen secrets writes yaml.Marshal(bundle) (talos@v1.8.3:cmd/talosctl/cmd/mgmt/gen/secrets.go).
		want, err := yamlMarshal(bundle)
		if err != nil {
			t.Fatalf("yaml.Marshal: %v", err)
		}

		if !bytes.Equal(ours, want) {
			t.Errorf("secrets.yaml is not what talosctl writes for the same bundle (%s):\n%s", yamlLibrary, lineDiff(string(ours), string(want)))
		}
	})

	t.Run("Tokens", func(t *testing.T) {
		// talos@v1.13.9:pkg/machinery/config/generate/secrets/bundle.go populate.
		token := regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

		for name, v := range map[string]string{
			"secrets.bootstraptoken": bundle.Secrets.BootstrapToken,
			"trustdinfo.token":       bundle.TrustdInfo.Token,
		} {
			if !token.MatchString(v) {
				t.Errorf("%s %q is not [a-z0-9]{6}.[a-z0-9]{16}", name, v)
			}
		}

		// cluster.id: talosctl gen secrets writes URL-safe base64 up to v1.13 and standard base64
		// from v1.14 (talos@v1.14.1:pkg/machinery/config/types/cluster/discovery_identity.go
		// ClusterIDEncoding), which never decodes the ID ("we only use it as a unique identifier").
		// Ours stays URL-safe at every minor, so a cluster keeps its identity when its Talos
		// version changes; from v1.14 either form is Talos' own.
		idEncoding := base64.URLEncoding
		if minorAtLeast(opts.Minor, 14) && !base64URLOnly.MatchString(bundle.Cluster.ID) {
			idEncoding = base64.StdEncoding
		}

		for _, c := range []struct {
			name  string
			value string
			enc   *base64.Encoding
		}{
			{"cluster.id", bundle.Cluster.ID, idEncoding},
			{"cluster.secret", bundle.Cluster.Secret, base64.StdEncoding},
			{"secrets.secretboxencryptionsecret", bundle.Secrets.SecretboxEncryptionSecret, base64.StdEncoding},
		} {
			raw, err := c.enc.DecodeString(c.value)
			if err != nil || len(raw) != 32 {
				t.Errorf("%s %q: want 32 bytes in %s base64 (err %v, %d bytes)", c.name, c.value, encName(c.enc), err, len(raw))
			}
		}

		if bundle.Secrets.AESCBCEncryptionSecret != "" {
			t.Errorf("secrets.aescbcencryptionsecret is set; contracts after v1.2 use secretbox only")
		}
	})

	t.Run("CAsLikeTalos", func(t *testing.T) {
		contract, err := coreconfig.ParseContractFromVersion(opts.TalosVersion)
		if err != nil {
			t.Fatal(err)
		}

		fresh, err := secrets.NewBundle(secrets.NewFixedClock(time.Now()), contract)
		if err != nil {
			t.Fatalf("secrets.NewBundle: %v", err)
		}

		freshCAs := bundleCAs(fresh)

		for i, ca := range bundleCAs(bundle) {
			t.Run(ca.name, func(t *testing.T) {
				ourCert := mustCertAndKey(t, ca.name, ca.pem)
				if err := ourCert.CheckSignatureFrom(ourCert); err != nil {
					t.Errorf("not self-signed: %v", err)
				}

				if _, err := x509.NewCertificateAuthorityFromCertificateAndKey(ca.pem); err != nil {
					t.Errorf("Talos cannot issue from it: %v", err)
				}

				var allowed []certAllowance
				if ca.name == "certs.k8saggregator" {
					allowed = append(allowed, aggregatorSubject)
				}

				compareProfiles(t, certProfileOf(ourCert, ca.pem.Key), certProfileOf(mustCertAndKey(t, "fresh", freshCAs[i].pem), freshCAs[i].pem.Key), allowed...)
			})
		}

		t.Run("certs.k8sserviceaccount", func(t *testing.T) {
			ourKey, err := bundle.Certs.K8sServiceAccount.GetKey()
			if err != nil {
				t.Fatal(err)
			}

			freshKey, err := fresh.Certs.K8sServiceAccount.GetKey()
			if err != nil {
				t.Fatal(err)
			}

			ourDesc := keyDescription(publicOf(ourKey)) + " in " + pemType(bundle.Certs.K8sServiceAccount.Key)
			freshDesc := keyDescription(publicOf(freshKey)) + " in " + pemType(fresh.Certs.K8sServiceAccount.Key)

			if ourDesc != freshDesc {
				t.Errorf("service account key: ours %s, Talos %s", ourDesc, freshDesc)
			}
		})
	})
}

// base64URLOnly: the alphabet of URL-safe base64 with padding.
var base64URLOnly = regexp.MustCompile(`^[A-Za-z0-9_-]*=*$`)

func encName(enc *base64.Encoding) string {
	if enc == base64.URLEncoding {
		return "URL-safe"
	}

	return "standard"
}

// mustCertAndKey parses a PEM pair as Talos' client does (tls.X509KeyPair: the key matches the certificate).
func mustCertAndKey(t testing.TB, name string, p *x509.PEMEncodedCertificateAndKey) *stdx509.Certificate {
	t.Helper()

	pair, err := tls.X509KeyPair(p.Crt, p.Key)
	if err != nil {
		t.Fatalf("%s: certificate and key: %v", name, err)
	}

	cert, err := stdx509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}

	return cert
}

// certProfile is what must be the same between our certificate and Talos' for the same role.
type certProfile struct {
	Key                string
	KeyPEM             string
	SignatureAlgorithm string
	Subject            string
	IsCA               bool
	MaxPathLen         string
	KeyUsage           string
	ExtKeyUsage        string
	Extensions         string
	Validity           time.Duration
	SANs               string
}

func certProfileOf(cert *stdx509.Certificate, keyPEM []byte) certProfile {
	exts := make([]string, 0, len(cert.Extensions))
	for _, e := range cert.Extensions {
		crit := ""
		if e.Critical {
			crit = " (critical)"
		}

		name := e.Id.String()
		if n, ok := extensionNames[name]; ok {
			name = n
		}

		exts = append(exts, name+crit)
	}

	sort.Strings(exts)

	pathLen := "none"
	if cert.BasicConstraintsValid && cert.IsCA {
		pathLen = fmt.Sprintf("%d zero=%v", cert.MaxPathLen, cert.MaxPathLenZero)
	}

	return certProfile{
		Key:                keyDescription(cert.PublicKey),
		KeyPEM:             pemType(keyPEM),
		SignatureAlgorithm: cert.SignatureAlgorithm.String(),
		Subject:            cert.Subject.String(),
		IsCA:               cert.IsCA,
		MaxPathLen:         pathLen,
		KeyUsage:           keyUsageString(cert.KeyUsage),
		ExtKeyUsage:        extKeyUsageString(cert),
		Extensions:         strings.Join(exts, ", "),
		Validity:           cert.NotAfter.Sub(cert.NotBefore).Round(time.Hour),
		SANs:               fmt.Sprint(cert.DNSNames, cert.IPAddresses, cert.EmailAddresses, cert.URIs),
	}
}

// certAllowance is a difference between our certificate and Talos' that is right, with the reason.
type certAllowance struct {
	Field  string
	Check  func(ours, theirs certProfile) bool
	Reason string
}

// leafBasicConstraints: @pulumi/tls (terraform-provider-tls resource_locally_signed_cert.go) always
// sets BasicConstraintsValid, so our leaf certificates carry basicConstraints CA:FALSE (critical);
// Talos' leaves have no basicConstraints. A CA:FALSE on a leaf changes nothing for Go's (apid's,
// the API server's) verification of a client certificate.
var leafBasicConstraints = certAllowance{
	Field: "Extensions",
	Check: func(ours, theirs certProfile) bool {
		return !ours.IsCA && !theirs.IsCA &&
			strings.Join(slices.DeleteFunc(strings.Split(ours.Extensions, ", "), func(e string) bool {
				return e == "basicConstraints (critical)"
			}), ", ") == theirs.Extensions
	},
	Reason: "@pulumi/tls writes basicConstraints CA:FALSE on every leaf; Talos writes none; verification is the same",
}

// aggregatorSubject: Talos' aggregator CA asks for CN=front-proxy
// (talos@v1.8.3:pkg/machinery/config/generate/secrets/ca.go NewAggregatorCA) but siderolabs/crypto
// keeps only the organization, so its subject is empty; @pulumi/tls refuses to make a CA with an
// empty subject (terraform-provider-tls common_cert.go: "Must contain at least one Distinguished
// Name"). CN=front-proxy, what Talos meant, is allowed: nothing reads this CA's subject
// (kube-apiserver trusts it by key for --requestheader-client-ca-file).
var aggregatorSubject = certAllowance{
	Field:  "Subject",
	Check:  func(ours, theirs certProfile) bool { return ours.Subject == "CN=front-proxy" && theirs.Subject == "" },
	Reason: "@pulumi/tls cannot make a CA with an empty subject; CN=front-proxy is what Talos' NewAggregatorCA asks for",
}

var extensionNames = map[string]string{
	"2.5.29.14": "subjectKeyIdentifier",
	"2.5.29.15": "keyUsage",
	"2.5.29.17": "subjectAltName",
	"2.5.29.19": "basicConstraints",
	"2.5.29.35": "authorityKeyIdentifier",
	"2.5.29.37": "extKeyUsage",
}

func compareProfiles(t testing.TB, ours, theirs certProfile, allowed ...certAllowance) {
	t.Helper()

	a, b := reflect.ValueOf(ours), reflect.ValueOf(theirs)

next:
	for i := range a.NumField() {
		name := a.Type().Field(i).Name
		if reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			continue
		}

		for _, allow := range allowed {
			if allow.Field == name && allow.Check(ours, theirs) {
				t.Logf("%s: ours %v, Talos %v — allowed: %s", name, a.Field(i).Interface(), b.Field(i).Interface(), allow.Reason)

				continue next
			}
		}

		t.Errorf("%s: ours %v, Talos %v", name, a.Field(i).Interface(), b.Field(i).Interface())
	}
}

func publicOf(key any) any {
	if s, ok := key.(interface{ Public() any }); ok {
		return s.Public()
	}

	if s, ok := key.(interface {
		Public() interface{}
	}); ok {
		return s.Public()
	}

	return key
}

func keyDescription(pub any) string {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return "Ed25519"
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	default:
		return fmt.Sprintf("%T", pub)
	}
}

func pemType(data []byte) string {
	block, _ := pem.Decode(data)
	if block == nil {
		return "<not PEM>"
	}

	return block.Type
}

func keyUsageString(ku stdx509.KeyUsage) string {
	names := []string{"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment", "keyAgreement", "certSign", "crlSign", "encipherOnly", "decipherOnly"}

	var out []string

	for i, n := range names {
		if ku&(1<<i) != 0 {
			out = append(out, n)
		}
	}

	return strings.Join(out, "+")
}

func extKeyUsageString(cert *stdx509.Certificate) string {
	names := map[stdx509.ExtKeyUsage]string{
		stdx509.ExtKeyUsageAny:        "any",
		stdx509.ExtKeyUsageServerAuth: "serverAuth",
		stdx509.ExtKeyUsageClientAuth: "clientAuth",
	}

	out := make([]string, 0, len(cert.ExtKeyUsage)+len(cert.UnknownExtKeyUsage))

	for _, u := range cert.ExtKeyUsage {
		if n, ok := names[u]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("eku(%d)", u))
		}
	}

	for _, oid := range cert.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}

	return strings.Join(out, ",")
}

// lineDiff shows the first lines where two texts differ (ours, then the reference).
func lineDiff(ours, theirs string) string {
	a, b := strings.Split(ours, "\n"), strings.Split(theirs, "\n")

	var out []string

	for i := 0; i < len(a) || i < len(b); i++ {
		var la, lb string
		if i < len(a) {
			la = a[i]
		}

		if i < len(b) {
			lb = b[i]
		}

		if la != lb {
			out = append(out, fmt.Sprintf("  line %d:\n    ours:    %q\n    theirs:  %q", i+1, clip(la), clip(lb)))
		}

		if len(out) >= 8 {
			out = append(out, "  …")

			break
		}
	}

	return strings.Join(out, "\n")
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}

	return s
}
