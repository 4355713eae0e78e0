package conformance

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cosi "github.com/cosi-project/runtime/api/v1alpha1"
	"github.com/cosi-project/runtime/pkg/resource/protobuf"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/siderolabs/talos/pkg/machinery/api/common"
	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/resources/config"
	"github.com/siderolabs/talos/pkg/machinery/role"
	"github.com/siderolabs/talos/pkg/machinery/version"
)

// Test 8 (the wire check, the CLI's apply): `node --import tsx cli/main.ts apply`, as the
// per-node Pulumi command runs it (the talosconfig and the machine config in the environment),
// against one node served by machinery's MachineService stubs and cosi-project/runtime's State
// stubs over the mutual TLS of TestWireBootstrap. The node keeps a running config and answers
// as machined and apid do: Version with its tag, the COSI Get of its MachineConfig as machined's
// COSI server encodes it, ApplyConfiguration by storing the config (or refusing it, or not
// taking it). The server checks every call: the talosconfig's client certificate, the routing
// metadata (`nodes` for Version and ApplyConfiguration, as talosctl -n sends them; `node` for
// COSI, which apid refuses to proxy one-to-many), the deadline, the request fields; the test
// checks the calls made, the CLI's exit code and what it printed.
func TestWireCLIApply(t *testing.T) {
	repo := cliCheckout(t)
	loadOptions(t)

	bundle := loadSecretsBundle(t)
	talosconfig := readFixture(t, "talosconfig")
	clientDER := talosconfigClientCert(t, talosconfig)
	serverTLS := apidTLSConfig(t, bundle)
	running := readFixture(t, "controlplane.yaml")

	// machine.certSANs: in the v1alpha1 document at every minor (v1.14 moves the node labels to a
	// KubeNodeConfig document), and a change a node takes without a reboot.
	changed, err := applyTalos(running, []string{"machine:\n  certSANs:\n    - wirecheck.internal\n"})
	if err != nil {
		t.Fatalf("the changed config: %v", err)
	}

	// A container-mode validation error (talos:pkg/machinery/config/types/v1alpha1/v1alpha1_validation.go).
	refusal := "1 error occurred:\n\t* feature HostDNS should be enabled in container mode (.machine.features.hostDNS.enabled)\n\n"

	cases := []struct {
		name    string
		desired []byte
		// how the node answers ApplyConfiguration
		refuse, stale bool
		args          []string
		wantExit      int
		wantCalls     []string
		// substrings of stdout (want) or stderr (wantErr); ADDR is the server's host:port
		want, wantErr []string
	}{
		{
			name: "in-sync", desired: running,
			wantCalls: []string{"Version", "Get"},
			want:      []string{"answers: Talos " + version.Tag, "done: " + wireNode + " already runs this config"},
		},
		{
			name: "changed", desired: changed,
			wantCalls: []string{"Version", "Get", "ApplyConfiguration", "Get"},
			want: []string{
				"runs another config; it changes at machine.certSANs", "it applies in place", "Talos chose no-reboot: Applied configuration without a reboot",
				"done: " + wireNode + " runs the new config",
			},
		},
		{
			name: "refused", desired: changed, refuse: true,
			wantExit:  3,
			wantCalls: []string{"Version", "Get", "ApplyConfiguration"},
			wantErr: []string{
				"ApplyConfiguration to " + wireNode + " on ADDR was refused: 1 error occurred: * feature HostDNS should be enabled in container mode " +
					"(.machine.features.hostDNS.enabled)",
			},
		},
		{
			// The node answers the apply and goes on reporting its old config: cut short by
			// --timeout, it is still "not applied" (exit 6), not a timeout.
			name: "stale-read-back", desired: changed, stale: true, args: []string{"--timeout", "3s"},
			wantExit: 6,
			wantErr: []string{
				wireNode + " (container cp-01) does not run the config it was sent", "differs at machine.certSANs",
				"docker logs cp-01", "talosctl -n " + wireNode + " logs machined",
			},
		},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each case is a node process (about 2 s to start): run them side by side.
			t.Parallel()

			srv := startCLIApplyServer(t, serverTLS, running, c.refuse, refusal, c.stale)

			exit, stdout, stderr := runCLIApply(t, repo, withEndpoint(t, talosconfig, srv.addr), c.desired, c.args...)
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
				if w = strings.ReplaceAll(w, "ADDR", srv.addr); !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q%s", w, report)
				}
			}

			checkNoSecret(t, bundle, stdout+stderr)
			srv.check(t, clientDER, c.desired, c.wantCalls)
		})
	}
}

// cliApplyCall is one request as the server saw it.
type cliApplyCall struct {
	method   string
	peerDER  []byte
	orgs     []string
	md       metadata.MD
	deadline time.Duration
	apply    *machine.ApplyConfigurationRequest
	get      *cosi.GetRequest
}

// cliApplyServer is one node behind apid: machinery's MachineService (Version, ApplyConfiguration)
// and the COSI State service (Get), with the config it runs.
type cliApplyServer struct {
	machine.UnimplementedMachineServiceServer

	addr    string
	codec   *wireCodec
	refuse  bool
	refusal string
	stale   bool

	mu      sync.Mutex
	running []byte
	calls   []cliApplyCall
}

type cliApplyState struct {
	cosi.UnimplementedStateServer

	srv *cliApplyServer
}

func startCLIApplyServer(t *testing.T, creds credentials.TransportCredentials, running []byte, refuse bool, refusal string, stale bool) *cliApplyServer {
	t.Helper()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	srv := &cliApplyServer{addr: lis.Addr().String(), codec: &wireCodec{}, running: running, refuse: refuse, refusal: refusal, stale: stale}
	gs := grpc.NewServer(grpc.Creds(creds), grpc.ForceServerCodec(srv.codec))
	machine.RegisterMachineServiceServer(gs, srv)
	cosi.RegisterStateServer(gs, &cliApplyState{srv: srv})

	go gs.Serve(lis) //nolint:errcheck // ends with Stop

	t.Cleanup(gs.Stop)

	return srv
}

// record notes a call; the caller holds s.mu.
func (s *cliApplyServer) record(ctx context.Context, call cliApplyCall) {
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

// Version answers as machined does through apid with `nodes`: one message, the node's address
// as its hostname (talos:internal/app/apid/pkg/backend/apid.go AppendInfo).
func (s *cliApplyServer) Version(ctx context.Context, _ *emptypb.Empty) (*machine.VersionResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.record(ctx, cliApplyCall{method: "Version"})

	return &machine.VersionResponse{Messages: []*machine.Version{{
		Metadata: &common.Metadata{Hostname: wireNode},
		Version:  version.NewVersion(),
		Platform: &machine.PlatformInfo{Name: "container", Mode: "container"},
		Features: &machine.FeaturesInfo{Rbac: true},
	}}}, nil
}

// ApplyConfiguration answers as machined does for an AUTO apply it can make in place, or with a
// validation refusal in the reply's metadata (apid's BuildError); a stale node answers and keeps
// its config.
func (s *cliApplyServer) ApplyConfiguration(ctx context.Context, req *machine.ApplyConfigurationRequest) (*machine.ApplyConfigurationResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.record(ctx, cliApplyCall{method: "ApplyConfiguration", apply: req})

	if s.refuse {
		err := status.Error(codes.InvalidArgument, s.refusal)

		return &machine.ApplyConfigurationResponse{Messages: []*machine.ApplyConfiguration{{
			Metadata: &common.Metadata{Hostname: wireNode, Error: err.Error(), Status: status.Convert(err).Proto()},
		}}}, nil
	}

	if _, err := configloader.NewFromBytes(req.Data); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}

	if !s.stale {
		s.running = slices.Clone(req.Data)
	}

	return &machine.ApplyConfigurationResponse{Messages: []*machine.ApplyConfiguration{{
		Metadata: &common.Metadata{Hostname: wireNode}, Mode: machine.ApplyConfigurationRequest_NO_REBOOT, ModeDetails: "Applied configuration without a reboot",
	}}}, nil
}

// Get answers as machined's COSI server does (cosi-project/runtime:pkg/state/protobuf/server/server.go
// Get: protobuf.FromResource, then Marshal) with the config the node runs.
func (m *cliApplyState) Get(ctx context.Context, req *cosi.GetRequest) (*cosi.GetResponse, error) {
	s := m.srv
	s.mu.Lock()
	defer s.mu.Unlock()

	s.record(ctx, cliApplyCall{method: "Get", get: req})

	want := config.NewMachineConfig(nil).Metadata()
	if req.Namespace != want.Namespace() || req.Type != want.Type() || req.Id != want.ID() {
		return nil, status.Errorf(codes.NotFound, "resource %s(%s/%s@undefined) doesn't exist", req.Type, req.Namespace, req.Id)
	}

	loaded, err := configloader.NewFromBytes(s.running)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}

	r, err := protobuf.FromResource(config.NewMachineConfig(loaded))
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}

	marshaled, err := r.Marshal()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}

	return &cosi.GetResponse{Resource: marshaled}, nil
}

// check: the calls in order (all of them when wantCalls is nil: a stale node is read until the
// deadline), each with the talosconfig's client certificate (os:admin), its routing metadata
// and no other, the CLI's deadline, and the requests as the CLI must make them.
func (s *cliApplyServer) check(t *testing.T, clientDER, desired []byte, wantCalls []string) {
	t.Helper()

	s.mu.Lock()
	defer s.mu.Unlock()

	var methods []string
	for _, c := range s.calls {
		methods = append(methods, c.method)
	}

	if wantCalls != nil && !slices.Equal(methods, wantCalls) {
		t.Errorf("calls: got %q, want %q", methods, wantCalls)
	}

	if wantCalls == nil && (len(methods) < 4 || !slices.Equal(methods[:4], []string{"Version", "Get", "ApplyConfiguration", "Get"})) {
		t.Errorf("calls: got %q, want Version, Get, ApplyConfiguration, then Get until the deadline", methods)
	}

	for i, c := range s.calls {
		at := fmt.Sprintf("call %d (%s)", i+1, c.method)

		if !bytes.Equal(c.peerDER, clientDER) {
			t.Errorf("%s: the client certificate is not the talosconfig's", at)
		}

		// ApplyConfiguration needs os:admin; so does reading the MachineConfig, a Sensitive type
		// (talos:internal/app/resources/access.go).
		if roles, unknown := role.Parse(c.orgs); !roles.Includes(role.Admin) || len(unknown) > 0 {
			t.Errorf("%s: client certificate organizations %q, want %s", at, c.orgs, role.Admin)
		}

		want := map[string][]string{"nodes": {wireNode}}
		if c.method == "Get" {
			want = map[string][]string{"node": {wireNode}}
		}

		for _, key := range []string{"node", "nodes"} {
			if got := c.md.Get(key); !slices.Equal(got, want[key]) {
				t.Errorf("%s: metadata %s=%q, want %q", at, key, got, want[key])
			}
		}

		if c.deadline <= 0 || c.deadline > wireCallTimeout {
			t.Errorf("%s: arrived with %v left, want a deadline within --call-timeout %v", at, c.deadline, wireCallTimeout)
		}

		switch {
		case c.apply != nil:
			// talosctl apply-config's default mode, the config as given, no dry run, no try timeout.
			if c.apply.Mode != machine.ApplyConfigurationRequest_AUTO || c.apply.DryRun || c.apply.TryModeTimeout != nil {
				t.Errorf("%s: mode %s dry_run %v try_mode_timeout %v, want AUTO, false, none", at, c.apply.Mode, c.apply.DryRun, c.apply.TryModeTimeout)
			}

			if !bytes.Equal(c.apply.Data, desired) {
				t.Errorf("%s: data is %d bytes, want the machine config's %d bytes as they are", at, len(c.apply.Data), len(desired))
			}
		case c.get != nil && c.get.Options == nil:
			// talosctl's COSI client always sends options (cosi-project/runtime:pkg/state/protobuf/client Get).
			t.Errorf("%s: GetRequest without options", at)
		}
	}

	for _, m := range s.codec.received() {
		if m.err != nil {
			t.Errorf("request %s (%d bytes): %v", m.name, len(m.raw), m.err)
		}
	}
}

// checkNoSecret: nothing the CLI printed holds a key, token or secret of the bundle.
func checkNoSecret(t *testing.T, bundle *secrets.Bundle, output string) {
	t.Helper()

	values := map[string]string{
		"cluster.secret":            bundle.Cluster.Secret,
		"secrets.bootstraptoken":    bundle.Secrets.BootstrapToken,
		"trustdinfo.token":          bundle.TrustdInfo.Token,
		"os.key":                    string(bundle.Certs.OS.Key),
		"k8s.key":                   string(bundle.Certs.K8s.Key),
		"etcd.key":                  string(bundle.Certs.Etcd.Key),
		"k8sserviceaccount.key":     string(bundle.Certs.K8sServiceAccount.Key),
		"secretboxencryptionsecret": bundle.Secrets.SecretboxEncryptionSecret,
	}

	for name, value := range values {
		// As the bundle has it, and as a machine config carries it (base64).
		for _, form := range []string{value, base64.StdEncoding.EncodeToString([]byte(value))} {
			if value != "" && strings.Contains(output, form) {
				t.Errorf("the CLI printed the bundle's %s", name)
			}
		}
	}

	if strings.Contains(output, "PRIVATE KEY") {
		t.Errorf("the CLI printed a private key")
	}
}

// runCLIApply runs the CLI as the per-node Pulumi command does (`node --import tsx cli/main.ts
// apply --node IP --container NAME`, in the project directory, the talosconfig and the machine
// config in the environment), with timeouts short enough for a test.
func runCLIApply(t *testing.T, repo, talosconfig string, desired []byte, extra ...string) (exit int, stdout, stderr string) {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	args := append([]string{"--import", "tsx", "cli/main.ts", "apply", "--node", wireNode, "--container", "cp-01",
		"--timeout", "20s", "--call-timeout", wireCallTimeout.String()}, extra...)
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = repo

	var env []string

	for _, kv := range cliEnv() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.EqualFold(name, "TALOS_DOCKER_MACHINE_CONFIG") && !strings.EqualFold(name, "TALOS_DOCKER_KUBECONFIG") {
			env = append(env, kv)
		}
	}

	cmd.Env = append(env, "TALOS_DOCKER_TALOSCONFIG="+talosconfig, "TALOS_DOCKER_MACHINE_CONFIG="+string(desired))

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
