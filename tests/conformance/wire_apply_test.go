package conformance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"reflect"
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
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/siderolabs/talos/pkg/machinery/api/common"
	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/resources/config"
	"github.com/siderolabs/talos/pkg/machinery/role"
)

// The node the calls are for: a worker on the cluster network, reached through the endpoint's apid.
const wireNode = "172.30.0.3"

// Test 7 (the wire check, apply): talos/api.ts's ApplyConfiguration and machine-config read,
// driven by tests/conformance/wire-client.ts (every mode, beyond what the CLI's apply sends), against
// machinery's MachineService stubs and cosi-project/runtime's State stubs (the COSI service
// machined serves resources with), over the mutual TLS of TestWireBootstrap. The server checks
// each request as it came over the wire (fields machinery's or COSI's types do not know are an
// error), the metadata apid routes by (`nodes` for ApplyConfiguration, as talosctl apply-config
// sends it; `node` for COSI, which apid refuses to proxy one-to-many; none for the endpoint
// itself), and answers as machined and apid do; the test checks what the client made of it.
func TestWireApply(t *testing.T) {
	repo := cliCheckout(t)
	loadOptions(t)

	bundle := loadSecretsBundle(t)
	talosconfig := readFixture(t, "talosconfig")
	clientDER := talosconfigClientCert(t, talosconfig)
	serverTLS := apidTLSConfig(t, bundle)
	data := readFixture(t, "controlplane.yaml")

	// The runner works in the repository root.
	dataFile, err := filepath.Abs(fixturePath(t, "controlplane.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	wantDigest := textDigest{Sha256: sha256Hex(data), Bytes: len(data)}
	apply := func(mode string, dryRun bool) map[string]any {
		return map[string]any{"call": "apply", "node": wireNode, "dataFile": dataFile, "mode": mode, "dryRun": dryRun}
	}
	nodesMD := map[string][]string{"nodes": {wireNode}}

	// apid's reply for a node whose machined failed: the error in the message's metadata
	// (talos:internal/app/apid/pkg/backend/apid.go BuildError).
	nodeFailure := func(code codes.Code, msg string) *machine.ApplyConfigurationResponse {
		err := status.Error(code, msg)

		return &machine.ApplyConfigurationResponse{Messages: []*machine.ApplyConfiguration{{
			Metadata: &common.Metadata{Hostname: wireNode, Error: err.Error(), Status: status.Convert(err).Proto()},
		}}}
	}
	answer := func(mode machine.ApplyConfigurationRequest_Mode, details string, warnings ...string) *machine.ApplyConfigurationResponse {
		return &machine.ApplyConfigurationResponse{Messages: []*machine.ApplyConfiguration{{
			Metadata: &common.Metadata{Hostname: wireNode}, Mode: mode, ModeDetails: details, Warnings: warnings,
		}}}
	}

	secretLine := "+    token: wirecheck.s3cretvalue0000"
	immediateRefusal := "this config change can't be applied in immediate mode\ndiff:\n--- a\n+++ b\n@@ -1 +1 @@\n" + secretLine + "\n"
	dryRunDiff := "--- a\n+++ b\n@@ -1 +1 @@\n" + secretLine + "\n"

	steps := []wireStep{
		{
			name: "auto", job: apply("auto", false), method: "ApplyConfiguration", md: nodesMD, mode: machine.ApplyConfigurationRequest_AUTO,
			reply: answer(machine.ApplyConfigurationRequest_NO_REBOOT, "Applied configuration without a reboot", "a warning"),
			want:  wantApply(applyOutcome{Node: wireNode, Mode: "no-reboot", ModeDetails: "Applied configuration without a reboot", Warnings: []string{"a warning"}}),
		},
		{
			// machined's dry-run text (v1alpha1_server.go ApplyConfiguration, generateDiff): the diff is kept apart.
			name: "dry-run", job: apply("no-reboot", true), method: "ApplyConfiguration", md: nodesMD, mode: machine.ApplyConfigurationRequest_NO_REBOOT, dryRun: true,
			reply: answer(machine.ApplyConfigurationRequest_NO_REBOOT, "Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\nConfig diff:\n\n"+dryRunDiff),
			want: wantApply(applyOutcome{
				Node: wireNode, Mode: "no-reboot", ModeDetails: "Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).",
				Warnings: []string{}, Diff: &textDigest{Sha256: sha256Hex([]byte(dryRunDiff)), Bytes: len(dryRunDiff)},
			}),
		},
		{
			name: "staged", job: apply("staged", false), method: "ApplyConfiguration", md: nodesMD, mode: machine.ApplyConfigurationRequest_STAGED,
			reply: answer(machine.ApplyConfigurationRequest_STAGED, "Staged configuration to be applied after the next reboot"),
			want:  wantApply(applyOutcome{Node: wireNode, Mode: "staged", ModeDetails: "Staged configuration to be applied after the next reboot", Warnings: []string{}}),
		},
		{
			name: "try", job: withField(apply("try", false), "tryModeTimeoutMs", 90500), method: "ApplyConfiguration", md: nodesMD,
			mode: machine.ApplyConfigurationRequest_TRY, tryTimeout: 90500 * time.Millisecond,
			reply: answer(machine.ApplyConfigurationRequest_TRY, "Applied configuration without a reboot\nThe config is applied in 'try' mode and will be automatically reverted back in 1m30.5s"),
			want: wantApply(applyOutcome{
				Node: wireNode, Mode: "try", Warnings: []string{},
				ModeDetails: "Applied configuration without a reboot\nThe config is applied in 'try' mode and will be automatically reverted back in 1m30.5s",
			}),
		},
		{
			// An auto apply that needs a reboot: machined's mode_details carries CanApplyImmediate's error and diff.
			name: "auto-reboots", job: apply("auto", false), method: "ApplyConfiguration", md: nodesMD, mode: machine.ApplyConfigurationRequest_AUTO,
			reply: answer(machine.ApplyConfigurationRequest_REBOOT, "Applied configuration with a reboot: "+immediateRefusal),
			want: wantApply(applyOutcome{
				Node: wireNode, Mode: "reboot", ModeDetails: "Applied configuration with a reboot: this config change can't be applied in immediate mode",
				Warnings: []string{}, Diff: &textDigest{Sha256: sha256Hex([]byte(dryRunDiff)), Bytes: len(dryRunDiff)},
			}),
		},
		{
			name: "reboot", job: apply("reboot", false), method: "ApplyConfiguration", md: nodesMD, mode: machine.ApplyConfigurationRequest_REBOOT,
			reply: answer(machine.ApplyConfigurationRequest_REBOOT, "Applied configuration with a reboot"),
			want:  wantApply(applyOutcome{Node: wireNode, Mode: "reboot", ModeDetails: "Applied configuration with a reboot", Warnings: []string{}}),
		},
		{
			name: "needs-reboot", job: apply("no-reboot", false), method: "ApplyConfiguration", md: nodesMD, mode: machine.ApplyConfigurationRequest_NO_REBOOT,
			reply: nodeFailure(codes.InvalidArgument, immediateRefusal),
			want: wantError("needs-reboot", "needs a reboot", "ApplyConfiguration to "+wireNode+" on ADDR was refused: the change touches fields the node "+
				"applies only when it boots (this config change can't be applied in immediate mode)"),
		},
		{
			// A container-mode validation error (talos:pkg/machinery/config/types/v1alpha1/v1alpha1_validation.go).
			name: "refused", job: apply("auto", false), method: "ApplyConfiguration", md: nodesMD, mode: machine.ApplyConfigurationRequest_AUTO,
			reply: nodeFailure(codes.InvalidArgument, "1 error occurred:\n\t* feature HostDNS should be enabled in container mode (.machine.features.hostDNS.enabled)\n\n"),
			want: wantError("fatal", "refused", "ApplyConfiguration to "+wireNode+" on ADDR was refused: 1 error occurred: * feature HostDNS "+
				"should be enabled in container mode (.machine.features.hostDNS.enabled)"),
		},
		{
			name: "in-progress", job: apply("auto", false), method: "ApplyConfiguration", md: nodesMD, mode: machine.ApplyConfigurationRequest_AUTO,
			reply: nodeFailure(codes.FailedPrecondition, "another apply configuration is already in progress"),
			want:  wantError("retryable", "another apply configuration is already in progress", ""),
		},
		{
			name: "machine-config", job: map[string]any{"call": "machineConfig", "node": wireNode}, method: "Get", md: map[string][]string{"node": {wireNode}},
			want: wantText(wantDigest),
		},
		{
			name: "machine-config-own", job: map[string]any{"call": "machineConfig"}, method: "Get", md: map[string][]string{},
			want: wantText(wantDigest),
		},
	}

	srv := startApplyWireServer(t, serverTLS, steps, data)

	lines := runWireClient(t, repo, withEndpoint(t, talosconfig, srv.addr), steps)
	if len(lines) != len(steps) {
		t.Fatalf("wire-client printed %d results for %d calls", len(lines), len(steps))
	}

	for i, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.want(t, lines[i], srv.addr)
		})
	}

	srv.check(t, clientDER)
}

// wireStep is one call of wire-client.ts, what must arrive for it and the server's answer.
type wireStep struct {
	name string
	job  map[string]any

	// what must arrive: the method, the routing metadata (exactly these node/nodes keys), and for
	// ApplyConfiguration the request's mode, dry_run and try_mode_timeout (0: absent); its data
	// must be the fixture's bytes
	method     string
	md         map[string][]string
	mode       machine.ApplyConfigurationRequest_Mode
	dryRun     bool
	tryTimeout time.Duration

	// the ApplyConfiguration answer; COSI Get answers with the fixture config as machined serves it
	reply *machine.ApplyConfigurationResponse

	// checks the line wire-client.ts printed; ADDR in messages is the server's host:port
	want func(t *testing.T, line wireLine, addr string)
}

func withField(job map[string]any, key string, value any) map[string]any {
	job[key] = value

	return job
}

// wireLine is one line of wire-client.ts' output.
type wireLine struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Kind    string `json:"kind"`
		Code    int    `json:"code"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"error"`
}

type textDigest struct {
	Sha256 string `json:"sha256"`
	Bytes  int    `json:"bytes"`
}

type applyOutcome struct {
	Node        string      `json:"node"`
	Mode        string      `json:"mode"`
	ModeDetails string      `json:"modeDetails"`
	Warnings    []string    `json:"warnings"`
	Diff        *textDigest `json:"diff"`
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)

	return hex.EncodeToString(sum[:])
}

func wantApply(want applyOutcome) func(*testing.T, wireLine, string) {
	return func(t *testing.T, line wireLine, _ string) {
		t.Helper()

		var got applyOutcome
		if !line.OK || json.Unmarshal(line.Result, &got) != nil {
			t.Fatalf("want a result %+v, got %s", want, describeLine(line))
		}

		if !reflect.DeepEqual(got, want) {
			t.Errorf("result:\n got %+v (diff %+v)\nwant %+v (diff %+v)", got, got.Diff, want, want.Diff)
		}
	}
}

func wantText(want textDigest) func(*testing.T, wireLine, string) {
	return func(t *testing.T, line wireLine, _ string) {
		t.Helper()

		var got textDigest
		if !line.OK || json.Unmarshal(line.Result, &got) != nil {
			t.Fatalf("want the config text, got %s", describeLine(line))
		}

		if got != want {
			t.Errorf("machine config read back: got %d bytes (sha256 %s), want the fixture's %d bytes (sha256 %s)", got.Bytes, got.Sha256, want.Bytes, want.Sha256)
		}
	}
}

// wantError: the call failed with this kind and reason, and (when given) exactly this message.
func wantError(kind, reason, message string) func(*testing.T, wireLine, string) {
	return func(t *testing.T, line wireLine, addr string) {
		t.Helper()

		if line.OK || line.Error == nil {
			t.Fatalf("want a %s error, got %s", kind, describeLine(line))
		}

		if line.Error.Kind != kind || line.Error.Reason != reason {
			t.Errorf("error: got kind %q reason %q, want %q %q (message %q)", line.Error.Kind, line.Error.Reason, kind, reason, line.Error.Message)
		}

		if message = strings.ReplaceAll(message, "ADDR", addr); message != "" && line.Error.Message != message {
			t.Errorf("error message:\n got %q\nwant %q", line.Error.Message, message)
		}

		if strings.Contains(line.Error.Message, "s3cret") {
			t.Errorf("error message quotes the config diff: %q", line.Error.Message)
		}
	}
}

func describeLine(line wireLine) string {
	if line.Error != nil {
		return fmt.Sprintf("error %+v", *line.Error)
	}

	return "result " + string(line.Result)
}

// applyWireCall is one request as the server saw it.
type applyWireCall struct {
	method   string
	peerDER  []byte
	orgs     []string
	md       metadata.MD
	deadline time.Duration
	apply    *machine.ApplyConfigurationRequest
	get      *cosi.GetRequest
}

// applyWireServer serves machinery's MachineService and the COSI State service on one gRPC server,
// answering the n-th call from the n-th step; the node's config is `data`.
type applyWireServer struct {
	addr  string
	codec *wireCodec
	steps []wireStep
	data  []byte

	mu    sync.Mutex
	calls []applyWireCall
}

type applyMachineService struct {
	machine.UnimplementedMachineServiceServer

	srv *applyWireServer
}

type applyStateService struct {
	cosi.UnimplementedStateServer

	srv *applyWireServer
}

func startApplyWireServer(t *testing.T, creds credentials.TransportCredentials, steps []wireStep, data []byte) *applyWireServer {
	t.Helper()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	srv := &applyWireServer{addr: lis.Addr().String(), codec: &wireCodec{}, steps: steps, data: data}
	gs := grpc.NewServer(grpc.Creds(creds), grpc.ForceServerCodec(srv.codec))
	machine.RegisterMachineServiceServer(gs, &applyMachineService{srv: srv})
	cosi.RegisterStateServer(gs, &applyStateService{srv: srv})

	go gs.Serve(lis) //nolint:errcheck // ends with Stop

	t.Cleanup(gs.Stop)

	return srv
}

// record notes a call and returns its step; the caller holds s.mu.
func (s *applyWireServer) record(ctx context.Context, call applyWireCall) (wireStep, error) {
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

	n := len(s.calls)
	s.calls = append(s.calls, call)

	if n >= len(s.steps) {
		return wireStep{}, status.Errorf(codes.Internal, "call %d (%s): the test has no step for it", n+1, call.method)
	}

	return s.steps[n], nil
}

func (m *applyMachineService) ApplyConfiguration(ctx context.Context, req *machine.ApplyConfigurationRequest) (*machine.ApplyConfigurationResponse, error) {
	s := m.srv
	s.mu.Lock()
	defer s.mu.Unlock()

	step, err := s.record(ctx, applyWireCall{method: "ApplyConfiguration", apply: req})
	if err != nil {
		return nil, err
	}

	if step.reply == nil {
		return nil, status.Error(codes.Internal, "the step expects another method")
	}

	return step.reply, nil
}

// Get answers as machined's COSI server does (cosi-project/runtime:pkg/state/protobuf/server/server.go
// Get: protobuf.FromResource, then Marshal) for the resource Talos keeps the running config in.
func (m *applyStateService) Get(ctx context.Context, req *cosi.GetRequest) (*cosi.GetResponse, error) {
	s := m.srv
	s.mu.Lock()
	defer s.mu.Unlock()

	if _, err := s.record(ctx, applyWireCall{method: "Get", get: req}); err != nil {
		return nil, err
	}

	want := config.NewMachineConfig(nil).Metadata()
	if req.Namespace != want.Namespace() || req.Type != want.Type() || req.Id != want.ID() {
		return nil, status.Errorf(codes.NotFound, "resource %s(%s/%s@undefined) doesn't exist", req.Type, req.Namespace, req.Id)
	}

	loaded, err := configloader.NewFromBytes(s.data)
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

// check: one call per step, in order, each with the talosconfig's client certificate (os:admin),
// the step's routing metadata and no other, the client's deadline, and the request the step wants.
func (s *applyWireServer) check(t *testing.T, clientDER []byte) {
	t.Helper()

	s.mu.Lock()
	defer s.mu.Unlock()

	if len(s.calls) != len(s.steps) {
		t.Errorf("calls: got %d, want %d (one per step)", len(s.calls), len(s.steps))
	}

	for i, c := range s.calls {
		if i >= len(s.steps) {
			break
		}

		step := s.steps[i]
		at := fmt.Sprintf("call %d (%s, step %s)", i+1, c.method, step.name)

		if c.method != step.method {
			t.Errorf("%s: got %s, want %s", at, c.method, step.method)

			continue
		}

		if !bytes.Equal(c.peerDER, clientDER) {
			t.Errorf("%s: the client certificate is not the talosconfig's", at)
		}

		// ApplyConfiguration needs os:admin; so does reading the MachineConfig, a Sensitive type
		// (talos:internal/app/resources/access.go).
		if roles, unknown := role.Parse(c.orgs); !roles.Includes(role.Admin) || len(unknown) > 0 {
			t.Errorf("%s: client certificate organizations %q, want %s", at, c.orgs, role.Admin)
		}

		for _, key := range []string{"node", "nodes"} {
			if got, want := c.md.Get(key), step.md[key]; !slices.Equal(got, want) {
				t.Errorf("%s: metadata %s=%q, want %q", at, key, got, want)
			}
		}

		if c.deadline <= 0 || c.deadline > wireCallTimeout {
			t.Errorf("%s: arrived with %v left, want a deadline within %v", at, c.deadline, wireCallTimeout)
		}

		switch {
		case c.apply != nil:
			checkApplyRequest(t, at, c.apply, step, s.data)
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

func checkApplyRequest(t *testing.T, at string, req *machine.ApplyConfigurationRequest, step wireStep, data []byte) {
	t.Helper()

	if !bytes.Equal(req.Data, data) {
		t.Errorf("%s: data is %d bytes, want the fixture config's %d bytes as they are", at, len(req.Data), len(data))
	}

	if req.Mode != step.mode {
		t.Errorf("%s: mode %s, want %s", at, req.Mode, step.mode)
	}

	if req.DryRun != step.dryRun {
		t.Errorf("%s: dry_run %v, want %v", at, req.DryRun, step.dryRun)
	}

	var want *durationpb.Duration
	if step.tryTimeout > 0 {
		want = durationpb.New(step.tryTimeout)
	}

	if got := req.TryModeTimeout; (got == nil) != (want == nil) || (got != nil && got.AsDuration() != want.AsDuration()) {
		t.Errorf("%s: try_mode_timeout %v, want %v", at, got, want)
	}
}

// runWireClient runs wire-client.ts with the steps' jobs and returns the lines it printed.
func runWireClient(t *testing.T, repo, talosconfig string, steps []wireStep) []wireLine {
	t.Helper()

	jobs := make([]map[string]any, len(steps))
	for i, s := range steps {
		jobs[i] = s.job
	}

	return runWireJobs(t, repo, talosconfig, jobs)
}

// runWireJobs runs wire-client.ts with these jobs and returns the lines it printed.
func runWireJobs(t *testing.T, repo, talosconfig string, jobs []map[string]any) []wireLine {
	t.Helper()

	input, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	cmd := exec.CommandContext(ctx, "node", "--import", "tsx", filepath.Join("tests", "conformance", "wire-client.ts"))
	cmd.Dir = repo
	cmd.Env = append(cliEnv(), "TALOS_DOCKER_TALOSCONFIG="+talosconfig, fmt.Sprintf("WIRE_CALL_TIMEOUT_MS=%d", wireCallTimeout.Milliseconds()))
	cmd.Stdin = bytes.NewReader(input)

	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || ctx.Err() != nil {
			t.Fatalf("running wire-client.ts: %v\nstderr:\n%s", err, errOut.String())
		}

		t.Fatalf("wire-client.ts exited %d\nstdout:\n%s\nstderr:\n%s", exitErr.ExitCode(), out.String(), errOut.String())
	}

	var lines []wireLine

	scanner := bufio.NewScanner(&out)
	for scanner.Scan() {
		var line wireLine
		if err := json.Unmarshal(scanner.Bytes(), &line); err != nil {
			t.Fatalf("wire-client.ts printed %q: %v", scanner.Text(), err)
		}

		lines = append(lines, line)
	}

	return lines
}
