// A fake apid for CLI tests and benches: gRPC over mutual TLS like the real one (server
// certificate issued by the OS CA with 127.0.0.1 in its SANs, client certificates required and
// verified against the same CA), roles read from the client certificate's organizations like
// talos@v1.8.3:pkg/grpc/middleware/authz (injector.go, authorizer.go), and the Bootstrap answers of
// talos@v1.8.3:internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go. Nodes behind
// it take ApplyConfiguration and serve their machine config over COSI (fake-talos-machine.ts),
// and the control planes among them answer the etcd calls (fake-talos-etcd.ts), all
// routed by `nodes`/`node` metadata as apid routes them
// (talos@v1.8.3:internal/app/apid/pkg/director/director.go). Faults are fields a test sets,
// before or while the client runs. Listens on 127.0.0.1 only.

import { createServer } from "node:net";
import { performance } from "node:perf_hooks";

import * as grpc from "@grpc/grpc-js";

import {
    messages, METHODS,
    type ApplyConfigurationRequest, type Codec, type CosiGetRequest, type EtcdMemberListRequest, type EtcdRemoveMemberByIDRequest,
} from "../../talos/api/messages";
import type { CertAndKey } from "../../talos/secretsbundle";
import { issueCert } from "../cli/support/certs";
import type { MachineStatus } from "../../talos/api/runtime";
import { FakeEtcd, type FakeEtcdMember, type FakeEtcdNode } from "./fake-talos-etcd";
import { applyConfiguration, isRebooting, machineConfigResource, minorOf, type FakeMachine, type MachineHost } from "./fake-talos-machine";
import { isMachineStatusRequest, machineStatusResource } from "./fake-talos-runtime";

export type { FakeEtcdMember } from "./fake-talos-etcd";
export type { FakeMachine } from "./fake-talos-machine";

export interface FakeTalosOptions {
    /** the OS CA: it issues the server certificate and is the only CA client certificates may come from */
    osCa: CertAndKey;
    /** refuse connections (nothing listens) until `listen()` is called; default false */
    deferListen?: boolean;
    /** as if the etcd data directory were not empty: Bootstrap answers ALREADY_EXISTS */
    bootstrapped?: boolean;
    /** Bootstrap answers FAILED_PRECONDITION this many times first */
    failedPreconditions?: number;
    /** every answer comes this late */
    delayMs?: number;
    /** the Talos version Version reports; default v1.8.3 */
    tag?: string;
    /**
     * The nodes behind this apid, by IP, for calls with `nodes` metadata (talosctl -n): an up node
     * answers with its tag, a down one with apid's proxy error in the reply's metadata.
     */
    nodes?: Record<string, FakeNode>;
    /** the IP (a key of `nodes`) of the node this apid runs on: calls without node metadata go to it */
    self?: string;
    /** the etcd members, each on a control plane of `nodes` */
    etcd?: FakeEtcdMember[];
}

export interface FakeNode extends FakeMachine, FakeEtcdNode {
    tag?: string;
    down?: boolean;
    /** what ServiceList reports for it; default: every service Running and healthy */
    services?: FakeService[];
    /** its COSI machine status; default: booted (running, ready) */
    machineStatus?: MachineStatus;
}

export interface FakeService {
    id: string;
    state: string;
    health?: { unknown: boolean; healthy: boolean; last_message: string };
}

/** The services of a healthy control plane (talosctl services on v1.8). */
export const HEALTHY_SERVICES: readonly FakeService[] = ["apid", "containerd", "cri", "etcd", "kubelet", "machined", "syslogd", "trustd", "udevd"].map((id) => ({
    id,
    state: "Running",
    health: { unknown: false, healthy: true, last_message: "" },
}));

/** One call as it arrived: the method and the routing metadata apid reads. */
export interface ReceivedCall {
    method: keyof CallCounts;
    nodes: string[];
    node: string[];
}

/** Calls received (including refused ones), by method. */
export interface CallCounts {
    version: number;
    bootstrap: number;
    serviceList: number;
    applyConfiguration: number;
    cosiGet: number;
    etcdMemberList: number;
    etcdLeaveCluster: number;
    etcdRemoveMemberById: number;
}

// talos@v1.8.3:internal/app/machined/pkg/system/services/machined.go `rules`. COSI Get is open to
// readers there, but the MachineConfig type is Sensitive, which Talos' access filter grants to
// os:admin only (talos@v1.8.3:internal/app/resources/access.go), with the same refusal.
const ALLOWED_ROLES: Record<keyof CallCounts, readonly string[]> = {
    version: ["os:admin", "os:operator", "os:reader"],
    serviceList: ["os:admin", "os:operator", "os:reader"],
    bootstrap: ["os:admin"],
    applyConfiguration: ["os:admin"],
    cosiGet: ["os:admin"],
    etcdMemberList: ["os:admin", "os:operator", "os:reader"],
    etcdLeaveCluster: ["os:admin"],
    etcdRemoveMemberById: ["os:admin"],
};

export class FakeTalos {
    /** Fault knobs: change them at any time. */
    bootstrapped: boolean;
    failedPreconditions: number;
    delayMs: number;
    tag: string;
    nodes: Record<string, FakeNode>;
    self: string | undefined;
    etcd: FakeEtcd;
    readonly calls: CallCounts = {
        version: 0, bootstrap: 0, serviceList: 0, applyConfiguration: 0, cosiGet: 0, etcdMemberList: 0, etcdLeaveCluster: 0, etcdRemoveMemberById: 0,
    };
    /** every call, in order of arrival */
    readonly received: ReceivedCall[] = [];
    /** the request message of each call in `received`, at the same index */
    readonly requests: unknown[] = [];
    /** performance.now() when the server started listening (for benches) */
    listeningSince: number | undefined;

    private server: grpc.Server | undefined;
    private readonly timers = new Set<NodeJS.Timeout>();

    private constructor(
        readonly port: number,
        private readonly credentials: grpc.ServerCredentials,
        opts: FakeTalosOptions,
    ) {
        this.bootstrapped = opts.bootstrapped ?? false;
        this.failedPreconditions = opts.failedPreconditions ?? 0;
        this.delayMs = opts.delayMs ?? 0;
        this.tag = opts.tag ?? "v1.8.3";
        this.nodes = opts.nodes ?? {};
        this.self = opts.self;
        this.etcd = new FakeEtcd(opts.etcd ?? []);
    }

    /** A fake on a free 127.0.0.1 port, listening unless `deferListen`. */
    static async start(opts: FakeTalosOptions): Promise<FakeTalos> {
        const server = await issueCert(opts.osCa, { ips: ["127.0.0.1"], dnsNames: ["localhost"], usage: "server" });
        const credentials = grpc.ServerCredentials.createSsl(
            Buffer.from(opts.osCa.crt),
            [{ private_key: Buffer.from(server.key), cert_chain: Buffer.from(server.crt) }],
            true, // RequireAndVerifyClientCert, as apid
        );
        const fake = new FakeTalos(await freePort(), credentials, opts);
        if (!opts.deferListen) await fake.listen();
        return fake;
    }

    /** host:port for a talosconfig */
    get endpoint(): string {
        return `127.0.0.1:${this.port}`;
    }

    /** Start accepting connections (connections are refused before). */
    async listen(): Promise<void> {
        if (this.server !== undefined) return;
        const server = new grpc.Server();
        server.addService(
            {
                Version: this.method(METHODS.version, messages.empty, messages.versionResponse),
                Bootstrap: this.method(METHODS.bootstrap, messages.bootstrapRequest, messages.bootstrapResponse),
                ServiceList: this.method(METHODS.serviceList, messages.empty, messages.serviceListResponse),
                ApplyConfiguration: this.method(METHODS.applyConfiguration, messages.applyConfigurationRequest, messages.applyConfigurationResponse),
                EtcdMemberList: this.method(METHODS.etcdMemberList, messages.etcdMemberListRequest, messages.etcdMemberListResponse),
                EtcdLeaveCluster: this.method(METHODS.etcdLeaveCluster, messages.etcdLeaveClusterRequest, messages.etcdLeaveClusterResponse),
                EtcdRemoveMemberByID: this.method(METHODS.etcdRemoveMemberById, messages.etcdRemoveMemberByIdRequest, messages.etcdRemoveMemberByIdResponse),
            },
            {
                Version: this.handler("version", (call) => this.version(call.metadata.get("nodes").map(String))),
                Bootstrap: this.handler("bootstrap", () => this.bootstrap()),
                ServiceList: this.handler("serviceList", (call) => this.serviceList(call.metadata.get("nodes").map(String))),
                ApplyConfiguration: this.handler<ApplyConfigurationRequest>("applyConfiguration", (call) => this.applyConfiguration(call)),
                EtcdMemberList: this.handler<EtcdMemberListRequest>("etcdMemberList", (call) =>
                    this.routed(call, (node, ip) => this.etcd.memberList(node, ip, call.request.query_local === true, this.started))),
                EtcdLeaveCluster: this.handler("etcdLeaveCluster", (call) =>
                    this.routed(call, (node, ip) => this.etcd.leave(node, ip, this.started))),
                EtcdRemoveMemberByID: this.handler<EtcdRemoveMemberByIDRequest>("etcdRemoveMemberById", (call) =>
                    this.routed(call, (node) => this.etcd.removeById(node, call.request.member_id, this.started))),
            },
        );
        server.addService(
            { Get: this.method(METHODS.cosiGet, messages.cosiGetRequest, messages.cosiGetResponse) },
            { Get: this.handler<CosiGetRequest>("cosiGet", (call) => this.cosiGet(call)) },
        );
        this.server = server;
        await new Promise<void>((resolve, reject) =>
            server.bindAsync(this.endpoint, this.credentials, (err) => (err ? reject(err) : resolve())),
        );
        this.listeningSince = performance.now();
    }

    /** Forget the calls received so far (`received` and `requests` together). */
    clearCalls(): void {
        this.received.length = 0;
        this.requests.length = 0;
    }

    /** Stop listening and drop connections and pending answers. */
    async close(): Promise<void> {
        for (const t of this.timers) clearTimeout(t);
        this.timers.clear();
        this.server?.forceShutdown();
        this.server = undefined;
    }

    private version(targets: string[]): object {
        const answer = (tag: string) => ({ version: { tag, sha: "fake", built: "", go_version: "go1.22", os: "linux", arch: "amd64" }, platform: { name: "container", mode: "container" }, features: { rbac: true } });
        if (targets.length === 0) return { messages: [answer(this.tag)] };
        // talos@v1.8.3:internal/app/apid/pkg/backend/apid.go AppendErrors: a failed node is a
        // message of its own with the error in its metadata.
        return {
            messages: targets.map((ip) => {
                const node = this.nodes[ip];
                if (node === undefined || this.isDown(node)) return proxyFailure(ip, node);
                return { ...answer(node.tag ?? this.tag), metadata: { hostname: ip, error: "" } };
            }),
        };
    }

    private serviceList(targets: string[]): object {
        if (targets.length === 0) {
            return { messages: [{ services: [{ id: "apid", state: "Running", health: { unknown: false, healthy: true, last_message: "" } }, { id: "etcd", state: this.bootstrapped ? "Running" : "Preparing" }] }] };
        }
        return {
            messages: targets.map((ip) => {
                const node = this.nodes[ip];
                if (node === undefined || this.isDown(node)) return proxyFailure(ip, node);
                return { metadata: { hostname: ip, error: "" }, services: node.services ?? HEALTHY_SERVICES };
            }),
        };
    }

    private bootstrap(): object {
        if (this.failedPreconditions > 0) {
            this.failedPreconditions--;
            throw { code: grpc.status.FAILED_PRECONDITION, details: "bootstrap is not available yet" };
        }
        if (this.bootstrapped) throw { code: grpc.status.ALREADY_EXISTS, details: "etcd data directory is not empty" };
        this.bootstrapped = true;
        return { messages: [{}] };
    }

    /**
     * Through apid with `nodes`: one message per node, a node's failure in its message's metadata
     * (talos@v1.8.3:internal/app/apid/pkg/backend/apid.go `AppendInfo`, `BuildError`). Without,
     * the apid's own node answers, a failure being the call's status.
     */
    private applyConfiguration(call: grpc.ServerUnaryCall<ApplyConfigurationRequest, unknown>): object {
        const targets = call.metadata.get("nodes").map(String);
        if (targets.length === 0) return { messages: [this.applyOn(this.ownNode(), call.request)] };
        return {
            messages: targets.map((ip) => {
                const node = this.nodes[ip];
                if (node === undefined || this.isDown(node)) return proxyFailure(ip, node);
                try {
                    return { ...this.applyOn(node, call.request), metadata: { hostname: ip, error: "" } };
                } catch (err) {
                    return nodeFailure(ip, err);
                }
            }),
        };
    }

    private applyOn(node: FakeNode, request: ApplyConfigurationRequest): object {
        return applyConfiguration(node, node.tag ?? this.tag, request, this.host);
    }

    /**
     * COSI Get, routed as apid routes it: `nodes` is refused for COSI methods, `node` is proxied
     * one-to-one (a failure is the call's status), none is the apid's own node.
     */
    private cosiGet(call: grpc.ServerUnaryCall<CosiGetRequest, unknown>): object {
        if (call.metadata.get("nodes").length > 0) throw { code: grpc.status.INVALID_ARGUMENT, details: oneToManyRefusal(this.tag, METHODS.cosiGet) };
        const node = call.metadata.get("node").map(String);
        if (node.length > 1) throw { code: grpc.status.INVALID_ARGUMENT, details: "node metadata must be single-valued" };
        const target = node.length === 1 ? this.nodes[node[0]] : this.ownNode();
        if (target === undefined || this.isDown(target)) {
            const ip = node[0] ?? this.self ?? "127.0.0.1";
            throw { code: grpc.status.UNAVAILABLE, details: dialError(ip, target) };
        }
        if (isMachineStatusRequest(call.request)) return machineStatusResource(target.machineStatus, call.request);
        return machineConfigResource(target, minorOf(target.tag ?? this.tag), call.request);
    }

    /**
     * A MachineService call as apid routes it: with `nodes`, one message per node (a node's
     * failure in its message's metadata); without, the apid's own node answers and a failure is
     * the call's status.
     */
    private routed(call: grpc.ServerUnaryCall<unknown, unknown>, answer: (node: FakeNode, ip: string) => object): object {
        const targets = call.metadata.get("nodes").map(String);
        if (targets.length === 0) return { messages: [answer(this.ownNode(), this.self ?? "127.0.0.1")] };
        return {
            messages: targets.map((ip) => {
                const node = this.nodes[ip];
                if (node === undefined || this.isDown(node)) return proxyFailure(ip, node);
                try {
                    return { ...answer(node, ip), metadata: { hostname: ip, error: "" } };
                } catch (err) {
                    return nodeFailure(ip, err);
                }
            }),
        };
    }

    /** A member whose node is up and whose etcd answers: what etcd counts as started. */
    private readonly started = (member: FakeEtcdMember): boolean => {
        const node = this.nodes[member.ip];
        return node !== undefined && !this.isDown(node) && node.etcdUnhealthy === undefined;
    };

    /** The node this apid runs on (`self`), for calls without node metadata. */
    private ownNode(): FakeNode {
        const own = this.self === undefined ? undefined : this.nodes[this.self];
        if (own === undefined) throw { code: grpc.status.UNIMPLEMENTED, details: "fake apid: no `self` node to answer for itself" };
        if (this.isDown(own)) throw { code: grpc.status.UNAVAILABLE, details: "connection refused" };
        return own;
    }

    private isDown(node: FakeNode): boolean {
        return node.down === true || isRebooting(node, this.host);
    }

    private readonly host: MachineHost = {
        now: () => performance.now(),
        after: (ms, fn) => {
            const t = setTimeout(() => {
                this.timers.delete(t);
                fn();
            }, ms);
            this.timers.add(t);
        },
    };

    private method<Req, Res>(path: string, req: Codec<Req>, res: Codec<Res>): grpc.MethodDefinition<Req, Res> {
        return {
            path,
            requestStream: false,
            responseStream: false,
            requestSerialize: req.serialize,
            requestDeserialize: req.deserialize,
            responseSerialize: res.serialize,
            responseDeserialize: res.deserialize,
        };
    }

    private handler<Req>(name: keyof CallCounts, answer: (call: grpc.ServerUnaryCall<Req, unknown>) => object): grpc.handleUnaryCall<Req, unknown> {
        return (call, callback) => {
            this.calls[name]++;
            this.received.push({ method: name, nodes: call.metadata.get("nodes").map(String), node: call.metadata.get("node").map(String) });
            this.requests.push(call.request);
            const orgs = call.getAuthContext()?.sslPeerCertificate?.subject?.O;
            const roles = orgs === undefined ? [] : Array.isArray(orgs) ? orgs : [orgs];
            const reply = () => {
                if (!roles.some((r) => ALLOWED_ROLES[name].includes(r))) {
                    callback({ code: grpc.status.PERMISSION_DENIED, details: "not authorized" });
                    return;
                }
                try {
                    callback(null, answer(call));
                } catch (err) {
                    callback(err as grpc.ServiceError);
                }
            };
            if (this.delayMs <= 0) return reply();
            const t = setTimeout(() => {
                this.timers.delete(t);
                reply();
            }, this.delayMs);
            this.timers.add(t);
        };
    }
}

/** apid's message for a node it cannot reach: unknown to it, or down. */
function proxyFailure(ip: string, node: FakeNode | undefined): object {
    const error = `rpc error: code = Unavailable desc = ${dialError(ip, node)}`;
    return { metadata: { hostname: ip, error, status: { code: grpc.status.UNAVAILABLE, message: error } } };
}

function dialError(ip: string, node: FakeNode | undefined): string {
    return `connection error: desc = "transport: Error while dialing: dial tcp ${ip}:50000: connect: ${node ? "connection refused" : "no route to host"}"`;
}

/** apid's message for a node that answered with an error: Go's `err.Error()` and the status itself. */
function nodeFailure(ip: string, err: unknown): object {
    const { code, details } = err as { code: grpc.status; details: string };
    const name = grpc.status[code].split("_").map((w) => w[0] + w.slice(1).toLowerCase()).join("");
    return { metadata: { hostname: ip, error: `rpc error: code = ${name} desc = ${details}`, status: { code, message: details } } };
}

/**
 * apid's refusal of `nodes` on a method it will not proxy one-to-many: COSI methods up to v1.12,
 * any method outside its allow-list from v1.13 (director.go at each tag).
 */
export function oneToManyRefusal(tag: string, method: string): string {
    const minor = Number(minorOf(tag).split(".")[1]);
    return minor >= 13 ? `one-2-many proxying is not supported for method ${method}` : "one-2-many proxying is not supported for COSI methods";
}

/** A port nothing listens on, so that connections are refused until the fake binds it. */
function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const probe = createServer();
        probe.once("error", reject);
        probe.listen(0, "127.0.0.1", () => {
            const address = probe.address();
            probe.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
        });
    });
}
