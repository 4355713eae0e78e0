package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/siderolabs/talos/pkg/machinery/api/common"
	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/role"
)

// Test 10 (the wire check, etcd): talos/api.ts's EtcdMemberList, EtcdLeaveCluster and
// EtcdRemoveMemberByID, the calls `remove-node` makes for a leaving control plane, driven by
// wire-client.ts against machinery's MachineService stubs over the mutual TLS of
// TestWireBootstrap. For each call the server checks the method path it arrived on, the routing
// metadata (none for the endpoint's own view; `nodes` for another node, as talosctl -n sends it),
// the client certificate, the deadline, and the request bytes against machinery's own encoding of
// the request the call must make (so a wrong field number or type shows at every minor); it answers
// as machined does through apid (a node's failure in its message's metadata: apid's BuildError),
// and the test checks what the client made of the answer. Member IDs are uint64 beyond 2^53.
func TestWireEtcd(t *testing.T) {
	repo := cliCheckout(t)

	bundle := loadSecretsBundle(t)
	talosconfig := readFixture(t, "talosconfig")
	clientDER := talosconfigClientCert(t, talosconfig)
	serverTLS := apidTLSConfig(t, bundle)

	const (
		cp1, cp3 = "172.30.0.2", "172.30.0.4"
		worker   = "172.30.0.3"
		bigID    = uint64(0xfedcba9876543210) // 18364758544493064720: not exact as a float64
		otherID  = uint64(0x8000000000000001)
	)

	members := []*machine.EtcdMember{
		{Id: otherID, Hostname: "talos-cp-01", PeerUrls: []string{"https://" + cp1 + ":2380"}, ClientUrls: []string{"https://" + cp1 + ":2379"}},
		{Id: bigID, Hostname: "talos-cp-03", PeerUrls: []string{"https://" + cp3 + ":2380"}, ClientUrls: []string{"https://" + cp3 + ":2379"}},
		// A learner that has not started: no name, no client URL yet.
		{Id: 7, PeerUrls: []string{"https://172.30.0.9:2380"}, IsLearner: true},
	}
	wantMembers := []etcdMemberOut{
		{ID: "9223372036854775809", Hostname: "talos-cp-01", PeerUrls: []string{"https://" + cp1 + ":2380"}, ClientUrls: []string{"https://" + cp1 + ":2379"}},
		{ID: "18364758544493064720", Hostname: "talos-cp-03", PeerUrls: []string{"https://" + cp3 + ":2380"}, ClientUrls: []string{"https://" + cp3 + ":2379"}},
		{ID: "7", Hostname: "", PeerUrls: []string{"https://172.30.0.9:2380"}, ClientUrls: []string{}, IsLearner: true},
	}

	own := map[string][]string{}
	nodes := func(ip string) map[string][]string { return map[string][]string{"nodes": {ip}} }
	proxied := func(ip string) *common.Metadata { return &common.Metadata{Hostname: ip} }
	// apid's reply for a node that failed (talos:internal/app/apid/pkg/backend/apid.go BuildError).
	failed := func(ip string, code codes.Code, msg string) *common.Metadata {
		err := status.Error(code, msg)

		return &common.Metadata{Hostname: ip, Error: err.Error(), Status: status.Convert(err).Proto()}
	}

	const (
		list   = "/machine.MachineService/EtcdMemberList"
		leave  = "/machine.MachineService/EtcdLeaveCluster"
		remove = "/machine.MachineService/EtcdRemoveMemberByID"
	)

	steps := []etcdWireStep{
		{
			name: "members", job: map[string]any{"call": "etcdMemberList"},
			method: list, md: own, request: &machine.EtcdMemberListRequest{},
			reply: &machine.EtcdMemberListResponse{Messages: []*machine.EtcdMembers{{LegacyMembers: []string{"talos-cp-01", "talos-cp-03", ""}, Members: members}}},
			want:  wantMemberList(wantMembers),
		},
		{
			name: "members-local", job: map[string]any{"call": "etcdMemberList", "node": cp1, "queryLocal": true},
			method: list, md: nodes(cp1), request: &machine.EtcdMemberListRequest{QueryLocal: true},
			reply: &machine.EtcdMemberListResponse{Messages: []*machine.EtcdMembers{{Metadata: proxied(cp1), Members: members[:1]}}},
			want:  wantMemberList(wantMembers[:1]),
		},
		{
			// A worker has no etcd (machined's checkControlplane).
			name: "members-worker", job: map[string]any{"call": "etcdMemberList", "node": worker, "queryLocal": true},
			method: list, md: nodes(worker), request: &machine.EtcdMemberListRequest{QueryLocal: true},
			reply: &machine.EtcdMemberListResponse{Messages: []*machine.EtcdMembers{{
				Metadata: failed(worker, codes.Unimplemented, "member list is only available on control plane nodes"),
			}}},
			want: wantError("fatal", "UNIMPLEMENTED", ""),
		},
		{
			name: "leave", job: map[string]any{"call": "etcdLeaveCluster", "node": cp3},
			method: leave, md: nodes(cp3), request: &machine.EtcdLeaveClusterRequest{},
			reply: &machine.EtcdLeaveClusterResponse{Messages: []*machine.EtcdLeaveCluster{{Metadata: proxied(cp3)}}},
			want:  wantString("left"),
		},
		{
			// The node's apid does not answer: a reason to remove the member through another control plane.
			name: "leave-node-down", job: map[string]any{"call": "etcdLeaveCluster", "node": cp3},
			method: leave, md: nodes(cp3), request: &machine.EtcdLeaveClusterRequest{},
			reply: &machine.EtcdLeaveClusterResponse{Messages: []*machine.EtcdLeaveCluster{{
				Metadata: failed(cp3, codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp `+cp3+`:50000: connect: connection refused"`),
			}}},
			want: wantError("retryable", "connection refused", ""),
		},
		{
			// machined's LeaveCluster gave up (talos:internal/pkg/etcd/etcd.go: it retries "unhealthy cluster" itself).
			name: "leave-refused", job: map[string]any{"call": "etcdLeaveCluster", "node": cp3},
			method: leave, md: nodes(cp3), request: &machine.EtcdLeaveClusterRequest{},
			reply: &machine.EtcdLeaveClusterResponse{Messages: []*machine.EtcdLeaveCluster{{
				Metadata: failed(cp3, codes.Unknown, "failed to leave cluster: etcdserver: unhealthy cluster"),
			}}},
			want: wantError("fatal", "UNKNOWN", "EtcdLeaveCluster on "+cp3+" on ADDR failed: UNKNOWN (failed to leave cluster: etcdserver: unhealthy cluster)"),
		},
		{
			name: "remove", job: map[string]any{"call": "etcdRemoveMemberById", "memberId": "18364758544493064720", "through": cp1},
			method: remove, md: nodes(cp1), request: &machine.EtcdRemoveMemberByIDRequest{MemberId: bigID},
			reply: &machine.EtcdRemoveMemberByIDResponse{Messages: []*machine.EtcdRemoveMemberByID{{Metadata: proxied(cp1)}}},
			want:  wantString("removed"),
		},
		{
			// machined answers NotFound for etcd's ErrMemberNotFound (v1alpha1_server.go EtcdRemoveMemberByID).
			name: "remove-gone", job: map[string]any{"call": "etcdRemoveMemberById", "memberId": "18364758544493064720", "through": cp1},
			method: remove, md: nodes(cp1), request: &machine.EtcdRemoveMemberByIDRequest{MemberId: bigID},
			reply: &machine.EtcdRemoveMemberByIDResponse{Messages: []*machine.EtcdRemoveMemberByID{{
				Metadata: failed(cp1, codes.NotFound, "etcdserver: member not found"),
			}}},
			want: wantString("not-a-member"),
		},
	}

	srv := startEtcdWireServer(t, serverTLS, steps)

	jobs := make([]map[string]any, len(steps))
	for i, s := range steps {
		jobs[i] = s.job
	}

	lines := runWireJobs(t, repo, withEndpoint(t, talosconfig, srv.addr), jobs)
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

// etcdWireStep is one call of wire-client.ts, what must arrive for it and the server's answer.
type etcdWireStep struct {
	name string
	job  map[string]any

	// what must arrive: the full method path, exactly these node/nodes metadata keys, and the
	// request (compared as bytes with machinery's encoding of it)
	method  string
	md      map[string][]string
	request proto.Message

	reply proto.Message
	want  func(t *testing.T, line wireLine, addr string)
}

// etcdMemberOut is a member as talos/api.ts returns it (EtcdMember), the ID a decimal string.
type etcdMemberOut struct {
	ID         string   `json:"id"`
	Hostname   string   `json:"hostname"`
	PeerUrls   []string `json:"peerUrls"`
	ClientUrls []string `json:"clientUrls"`
	IsLearner  bool     `json:"isLearner"`
}

func wantMemberList(want []etcdMemberOut) func(*testing.T, wireLine, string) {
	return func(t *testing.T, line wireLine, _ string) {
		t.Helper()

		var got []etcdMemberOut
		if !line.OK || json.Unmarshal(line.Result, &got) != nil {
			t.Fatalf("want members %+v, got %s", want, describeLine(line))
		}

		if !reflect.DeepEqual(got, want) {
			t.Errorf("members:\n got %+v\nwant %+v", got, want)
		}
	}
}

func wantString(want string) func(*testing.T, wireLine, string) {
	return func(t *testing.T, line wireLine, _ string) {
		t.Helper()

		var got string
		if !line.OK || json.Unmarshal(line.Result, &got) != nil || got != want {
			t.Errorf("want the result %q, got %s", want, describeLine(line))
		}
	}
}

type etcdWireCall struct {
	method   string
	peerDER  []byte
	orgs     []string
	md       metadata.MD
	deadline time.Duration
}

type etcdWireServer struct {
	machine.UnimplementedMachineServiceServer

	addr  string
	codec *wireCodec
	steps []etcdWireStep

	mu    sync.Mutex
	calls []etcdWireCall
}

func startEtcdWireServer(t *testing.T, creds credentials.TransportCredentials, steps []etcdWireStep) *etcdWireServer {
	t.Helper()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	srv := &etcdWireServer{addr: lis.Addr().String(), codec: &wireCodec{}, steps: steps}
	gs := grpc.NewServer(grpc.Creds(creds), grpc.ForceServerCodec(srv.codec))
	machine.RegisterMachineServiceServer(gs, srv)

	go gs.Serve(lis) //nolint:errcheck // ends with Stop

	t.Cleanup(gs.Stop)

	return srv
}

// answer records the call and returns its step's reply, when the step is for this method.
func (s *etcdWireServer) answer(ctx context.Context) (proto.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	call := etcdWireCall{}
	call.method, _ = grpc.Method(ctx)

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
		return nil, status.Errorf(codes.Internal, "call %d (%s): the test has no step for it", n+1, call.method)
	}

	if step := s.steps[n]; step.method != call.method {
		return nil, status.Errorf(codes.Internal, "call %d: step %s expects %s", n+1, step.name, step.method)
	}

	return s.steps[n].reply, nil
}

func (s *etcdWireServer) EtcdMemberList(ctx context.Context, _ *machine.EtcdMemberListRequest) (*machine.EtcdMemberListResponse, error) {
	reply, err := s.answer(ctx)
	if err != nil {
		return nil, err
	}

	return reply.(*machine.EtcdMemberListResponse), nil //nolint:forcetypeassert // the step's method matched
}

func (s *etcdWireServer) EtcdLeaveCluster(ctx context.Context, _ *machine.EtcdLeaveClusterRequest) (*machine.EtcdLeaveClusterResponse, error) {
	reply, err := s.answer(ctx)
	if err != nil {
		return nil, err
	}

	return reply.(*machine.EtcdLeaveClusterResponse), nil //nolint:forcetypeassert // the step's method matched
}

func (s *etcdWireServer) EtcdRemoveMemberByID(
	ctx context.Context, _ *machine.EtcdRemoveMemberByIDRequest,
) (*machine.EtcdRemoveMemberByIDResponse, error) {
	reply, err := s.answer(ctx)
	if err != nil {
		return nil, err
	}

	return reply.(*machine.EtcdRemoveMemberByIDResponse), nil //nolint:forcetypeassert // the step's method matched
}

// check: one call per step, in order, on the step's method path, with the talosconfig's client
// certificate (os:admin: leave and remove need it), the step's routing metadata and no other, the
// client's deadline, and the request bytes machinery encodes for the step's request.
func (s *etcdWireServer) check(t *testing.T, clientDER []byte) {
	t.Helper()

	s.mu.Lock()
	defer s.mu.Unlock()

	if len(s.calls) != len(s.steps) {
		t.Errorf("calls: got %d, want %d (one per step)", len(s.calls), len(s.steps))
	}

	received := s.codec.received()
	if len(received) != len(s.calls) {
		t.Errorf("request messages: got %d, want one per call (%d)", len(received), len(s.calls))
	}

	for i, c := range s.calls {
		if i >= len(s.steps) {
			break
		}

		step := s.steps[i]
		at := fmt.Sprintf("call %d (step %s)", i+1, step.name)

		if c.method != step.method {
			t.Errorf("%s: arrived on %s, want %s", at, c.method, step.method)
		}

		if !bytes.Equal(c.peerDER, clientDER) {
			t.Errorf("%s: the client certificate is not the talosconfig's", at)
		}

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

		if i >= len(received) {
			continue
		}

		m := received[i]
		if m.err != nil {
			t.Errorf("%s: request %s (%d bytes): %v", at, m.name, len(m.raw), m.err)
		}

		want, err := proto.Marshal(step.request)
		if err != nil {
			t.Fatal(err)
		}

		if wantName := string(proto.MessageName(step.request)); m.name != wantName || !bytes.Equal(m.raw, want) {
			t.Errorf("%s: request %s bytes %x, want %s %x", at, m.name, m.raw, wantName, want)
		}
	}
}
