package conformance

import (
	"bytes"
	"context"
	stdtls "crypto/tls"
	stdx509 "crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siderolabs/crypto/x509"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	clientconfig "github.com/siderolabs/talos/pkg/machinery/client/config"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/role"
	"github.com/siderolabs/talos/pkg/machinery/version"
)

// The CLI's per-call deadline in these runs; every request must arrive with a deadline within it.
const wireCallTimeout = 5 * time.Second

// Test 6 (the wire check): our CLI's `bootstrap` (talos/api.ts, whose messages are declared by hand
// from field numbers) against a MachineService built from machinery's generated stubs, over mutual
// TLS made from our fixtures as apid makes it. The server checks what arrives on the wire; the test
// checks what the CLI made of the replies.
func TestWireBootstrap(t *testing.T) {
	repo := cliCheckout(t)
	loadOptions(t) // fails on fixtures of another minor

	bundle := loadSecretsBundle(t)
	talosconfig := readFixture(t, "talosconfig")
	clientDER := talosconfigClientCert(t, talosconfig)
	serverTLS := apidTLSConfig(t, bundle)

	// Not the linked tag alone: the CLI must print what came over the wire, not something it knows.
	tag := version.Tag + "-wirecheck"

	cases := []struct {
		name string
		// the n-th call fails with the n-th error; calls past the list succeed
		versionErrors, bootstrapErrors []error
		wantExit                       int
		wantBootstrapCalls             int
		// substrings of stdout (want) or stderr (wantErr); ADDR is the server's host:port
		want, wantErr []string
	}{
		{
			name:               "bootstrapped",
			wantBootstrapCalls: 1,
			want:               []string{"apid answered on ADDR: Talos " + tag, "done: bootstrapped etcd on ADDR"},
		},
		{
			// machined's answer once etcd has data (talos:internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go Bootstrap).
			name:               "already-bootstrapped",
			bootstrapErrors:    []error{status.Error(codes.AlreadyExists, "etcd data directory is not empty")},
			wantBootstrapCalls: 1,
			want:               []string{"apid answered on ADDR: Talos " + tag, "done: already bootstrapped (etcd data directory is not empty)"},
		},
		{
			// apid up before machined, then machined not ready to bootstrap: both are waited out.
			name:               "retried",
			versionErrors:      []error{status.Error(codes.Unavailable, "connection error: machined is not up yet")},
			bootstrapErrors:    []error{status.Error(codes.FailedPrecondition, "bootstrap is not available yet"), status.Error(codes.FailedPrecondition, "time is not in sync yet")},
			wantBootstrapCalls: 3,
			want:               []string{"apid answered on ADDR: Talos " + tag, "done: bootstrapped etcd on ADDR"},
		},
		{
			// RBAC refusal never heals: exit 3 (FATAL) after one call, no retry.
			// authz.ErrNotAuthorized (talos:pkg/grpc/middleware/authz/authorizer.go).
			name:               "permission-denied",
			bootstrapErrors:    []error{status.Error(codes.PermissionDenied, "not authorized")},
			wantExit:           3,
			wantBootstrapCalls: 1,
			wantErr:            []string{"permission denied (not authorized)"},
		},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each case is a node process (about 2 s to start): run them side by side.
			t.Parallel()

			srv := startWireServer(t, serverTLS, tag, c.versionErrors, c.bootstrapErrors)

			exit, stdout, stderr := runCLIBootstrap(t, repo, withEndpoint(t, talosconfig, srv.addr))
			report := fmt.Sprintf("\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			t.Logf("CLI exit code %d%s", exit, report)

			if exit != c.wantExit {
				t.Errorf("CLI exit code: got %d, want %d%s", exit, c.wantExit, report)
			}

			for _, w := range c.want {
				if w = strings.ReplaceAll(w, "ADDR", srv.addr); !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q%s", w, report)
				}
			}

			for _, w := range c.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q%s", w, report)
				}
			}

			srv.check(t, clientDER, len(c.versionErrors)+1, c.wantBootstrapCalls)
		})
	}
}

// cliCheckout is the repository root (../..), or skips when the CLI cannot run here.
func cliCheckout(t *testing.T) string {
	t.Helper()

	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("wire check skipped: node is not on PATH")
	}

	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}

	for _, need := range []string{"cli/main.ts", "node_modules/tsx/package.json", "node_modules/@grpc/grpc-js/package.json", "node_modules/protobufjs/package.json"} {
		if _, err := os.Stat(filepath.Join(repo, need)); err != nil {
			t.Skipf("wire check skipped: %s is missing (run npm ci in %s)", need, repo)
		}
	}

	return repo
}

// talosconfigClientCert is the DER of the talosconfig's client certificate: what the CLI must present.
func talosconfigClientCert(t testing.TB, talosconfig []byte) []byte {
	t.Helper()

	cfg, err := clientconfig.FromBytes(talosconfig)
	if err != nil {
		t.Fatalf("talosconfig: %v", err)
	}

	ctx := cfg.Contexts[cfg.Context]
	if ctx == nil {
		t.Fatalf("talosconfig: no context %q", cfg.Context)
	}

	block, _ := pem.Decode(b64(t, "crt", ctx.Crt))
	if block == nil {
		t.Fatalf("talosconfig: crt is not PEM")
	}

	return block.Bytes
}

// withEndpoint is the talosconfig with its current context pointed at addr, rewritten with
// machinery's client config as `talosctl config endpoint` does.
func withEndpoint(t testing.TB, talosconfig []byte, addr string) string {
	t.Helper()

	cfg, err := clientconfig.FromBytes(talosconfig)
	if err != nil {
		t.Fatalf("talosconfig: %v", err)
	}

	cfg.Contexts[cfg.Context].Endpoints = []string{addr}

	out, err := cfg.Bytes()
	if err != nil {
		t.Fatalf("talosconfig: %v", err)
	}

	return string(out)
}

// apidTLSConfig is apid's server TLS: a server certificate from the OS CA as machined issues it for
// a control plane (talos:internal/app/machined/pkg/controllers/secrets/api.go generateControlPlane:
// Ed25519 like the CA, for the node's IPs), and client certificates required and verified against
// the OS CA (talos:internal/app/apid/pkg/provider/provider.go ServerConfig, which is
// github.com/siderolabs/crypto/tls.New with Mutual). That package is not used here: from crypto
// v0.6.4 (our v1.12 module) it imports fsnotify, which is not in our modules. Its defaults differ
// across the versions in our modules (to v0.6.0: TLS 1.2+, X25519 only; v0.6.3 and v0.6.4: TLS 1.2+,
// Go's curves; v0.6.5: TLS 1.3+); what every one accepts from a client is TLS 1.3 with X25519, so
// that is all this server offers.
func apidTLSConfig(t testing.TB, bundle *secrets.Bundle) credentials.TransportCredentials {
	t.Helper()

	ca, err := x509.NewCertificateAuthorityFromCertificateAndKey(bundle.Certs.OS)
	if err != nil {
		t.Fatalf("OS CA: %v", err)
	}

	serverCert, err := x509.NewKeyPair(ca,
		x509.IPAddresses([]net.IP{net.IPv4(127, 0, 0, 1)}),
		x509.DNSNames([]string{"cp-01"}),
		x509.CommonName("cp-01"),
		x509.NotAfter(time.Now().Add(time.Hour)),
	)
	if err != nil {
		t.Fatalf("server certificate: %v", err)
	}

	clientCAs := stdx509.NewCertPool()
	if !clientCAs.AppendCertsFromPEM(bundle.Certs.OS.Crt) {
		t.Fatalf("OS CA: not PEM")
	}

	return credentials.NewTLS(&stdtls.Config{
		Certificates:           []stdtls.Certificate{*serverCert.Certificate},
		ClientAuth:             stdtls.RequireAndVerifyClientCert,
		ClientCAs:              clientCAs,
		MinVersion:             stdtls.VersionTLS13,
		CurvePreferences:       []stdtls.CurveID{stdtls.X25519},
		SessionTicketsDisabled: true,
	})
}

// wireCall is one request as the server saw it.
type wireCall struct {
	method   string
	peerDER  []byte // the client's leaf certificate, as verified by the TLS handshake
	orgs     []string
	md       metadata.MD
	deadline time.Duration // left when the call arrived; 0 when it came without one
	request  *machine.BootstrapRequest
}

// wireServer is a MachineService from machinery's stubs that answers from a script and records
// every call, and every request message as it came over the wire (wireCodec).
type wireServer struct {
	machine.UnimplementedMachineServiceServer

	addr  string
	tag   string
	codec *wireCodec

	mu                             sync.Mutex
	calls                          []wireCall
	versionErrors, bootstrapErrors []error
	versions, bootstraps           int
}

func startWireServer(t *testing.T, creds credentials.TransportCredentials, tag string, versionErrors, bootstrapErrors []error) *wireServer {
	t.Helper()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	srv := &wireServer{addr: lis.Addr().String(), tag: tag, codec: &wireCodec{}, versionErrors: versionErrors, bootstrapErrors: bootstrapErrors}
	gs := grpc.NewServer(grpc.Creds(creds), grpc.ForceServerCodec(srv.codec))
	machine.RegisterMachineServiceServer(gs, srv)

	go gs.Serve(lis) //nolint:errcheck // ends with Stop

	t.Cleanup(gs.Stop)

	return srv
}

// record notes a call; the caller holds s.mu.
func (s *wireServer) record(ctx context.Context, method string, req *machine.BootstrapRequest) {
	call := wireCall{method: method, request: req}

	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.VerifiedChains) > 0 {
			leaf := info.State.VerifiedChains[0][0]
			call.peerDER = leaf.Raw
			call.orgs = leaf.Subject.Organization
		}
	}

	call.md, _ = metadata.FromIncomingContext(ctx)

	if d, ok := ctx.Deadline(); ok {
		call.deadline = time.Until(d)
	}

	s.calls = append(s.calls, call)
}

// Version answers as machined does (talos:internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go Version)
// for a container node; apid passes it through unchanged when no `nodes` metadata is set.
func (s *wireServer) Version(ctx context.Context, _ *emptypb.Empty) (*machine.VersionResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.record(ctx, "Version", nil)

	n := s.versions
	s.versions++

	if n < len(s.versionErrors) {
		return nil, s.versionErrors[n]
	}

	info := version.NewVersion()
	info.Tag = s.tag

	return &machine.VersionResponse{Messages: []*machine.Version{{
		Version:  info,
		Platform: &machine.PlatformInfo{Name: "container", Mode: "container"},
		Features: &machine.FeaturesInfo{Rbac: true},
	}}}, nil
}

func (s *wireServer) Bootstrap(ctx context.Context, req *machine.BootstrapRequest) (*machine.BootstrapResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.record(ctx, "Bootstrap", req)

	n := s.bootstraps
	s.bootstraps++

	if n < len(s.bootstrapErrors) {
		return nil, s.bootstrapErrors[n]
	}

	return &machine.BootstrapResponse{Messages: []*machine.Bootstrap{{}}}, nil
}

// check: the calls came in order (Version until it answered, then Bootstrap), each with the
// talosconfig's client certificate (os:admin), no proxying metadata, the CLI's deadline, and
// request messages machinery reads without a field it does not know.
func (s *wireServer) check(t *testing.T, clientDER []byte, wantVersions, wantBootstraps int) {
	t.Helper()

	s.mu.Lock()
	defer s.mu.Unlock()

	var methods []string
	for _, c := range s.calls {
		methods = append(methods, c.method)
	}

	want := slices.Concat(slices.Repeat([]string{"Version"}, wantVersions), slices.Repeat([]string{"Bootstrap"}, wantBootstraps))
	if !slices.Equal(methods, want) {
		t.Errorf("calls: got %q, want %q", methods, want)
	}

	for i, c := range s.calls {
		at := fmt.Sprintf("call %d (%s)", i+1, c.method)

		if !bytes.Equal(c.peerDER, clientDER) {
			t.Errorf("%s: the client certificate is not the talosconfig's", at)
		}

		// apid's authorization reads the roles from the organizations (talos@v1.8.3:pkg/grpc/middleware/authz);
		// Bootstrap needs os:admin.
		if roles, unknown := role.Parse(c.orgs); !roles.Includes(role.Admin) || len(unknown) > 0 {
			t.Errorf("%s: client certificate organizations %q, want %s", at, c.orgs, role.Admin)
		}

		// With `node`/`nodes` apid would proxy the call to another node, not answer it itself
		// (talos@v1.8.3:internal/app/apid/pkg/director/director.go).
		for _, key := range []string{"node", "nodes"} {
			if v := c.md.Get(key); len(v) > 0 {
				t.Errorf("%s: metadata %s=%q: apid would proxy this call", at, key, v)
			}
		}

		if c.deadline <= 0 || c.deadline > wireCallTimeout {
			t.Errorf("%s: arrived with %v left, want a deadline within --call-timeout %v", at, c.deadline, wireCallTimeout)
		}

		if c.request != nil && (c.request.RecoverEtcd || c.request.RecoverSkipHashCheck) {
			t.Errorf("%s: got %v, want a plain bootstrap (recover_etcd and recover_skip_hash_check false)", at, c.request)
		}
	}

	for _, m := range s.codec.received() {
		if m.err != nil {
			t.Errorf("request %s (% x): %v", m.name, m.raw, m.err)
		}

		if m.name == "google.protobuf.Empty" && len(m.raw) > 0 {
			t.Errorf("request %s: got % x, want no bytes", m.name, m.raw)
		}
	}
}

// wireCodec is the proto codec (machinery's messages are plain protobuf-go types) that also keeps
// each request's bytes and rejects fields machinery's type does not have: protobuf would otherwise
// keep them silently as unknown fields, and a wrong field number in our messages.ts would pass.
type wireCodec struct {
	mu   sync.Mutex
	msgs []wireMessage
}

type wireMessage struct {
	name string
	raw  []byte
	err  error
}

func (*wireCodec) Name() string { return "proto" }

func (*wireCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("not a proto message: %T", v)
	}

	return proto.Marshal(m)
}

func (c *wireCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("not a proto message: %T", v)
	}

	err := proto.Unmarshal(data, m)
	if err == nil && len(m.ProtoReflect().GetUnknown()) > 0 {
		err = errors.New("fields unknown to machinery's type")
	}

	c.mu.Lock()
	c.msgs = append(c.msgs, wireMessage{name: string(proto.MessageName(m)), raw: slices.Clone(data), err: err})
	c.mu.Unlock()

	return err
}

func (c *wireCodec) received() []wireMessage {
	c.mu.Lock()
	defer c.mu.Unlock()

	return slices.Clone(c.msgs)
}

// runCLIBootstrap runs the CLI as the Pulumi command resource does (components/clicommands.ts:
// `node --import tsx cli/main.ts bootstrap`, in the project directory, the talosconfig in the
// environment), with timeouts short enough for a test.
func runCLIBootstrap(t *testing.T, repo, talosconfig string) (exit int, stdout, stderr string) {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	cmd := exec.CommandContext(ctx, "node", "--import", "tsx", "cli/main.ts", "bootstrap",
		"--timeout", "20s", "--call-timeout", wireCallTimeout.String(), "--containers", "cp-01=172.30.0.2")
	cmd.Dir = repo
	cmd.Env = append(cliEnv(), "TALOS_DOCKER_TALOSCONFIG="+talosconfig)

	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut

	err := cmd.Run()

	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("running the CLI: %v\nstderr:\n%s", err, errOut.String())
	}

	if ctx.Err() != nil {
		t.Fatalf("the CLI did not end within a minute\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}

	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// cliEnv is this process' environment without what would change where the CLI connects or what it
// reads: grpc-js sends calls through an HTTP(S) proxy from the environment, and the server is local.
func cliEnv() []string {
	var env []string

	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(name) {
		case "http_proxy", "https_proxy", "grpc_proxy", "no_proxy", "no_grpc_proxy", "talos_docker_talosconfig":
			continue
		}

		env = append(env, kv)
	}

	return env
}
