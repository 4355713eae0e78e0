// A Talos API client: gRPC over mutual TLS to apid (talos@v1.8.3:api/machine/machine.proto
// MachineService, and the COSI State service machined serves resources with), with the
// talosconfig's OS CA, client certificate and key. Only the calls the CLI needs. Talking to one
// node directly, as we do through the host-mapped port, needs no metadata: apid answers for
// itself. Another node is reached through the endpoint's apid, as talosctl does with `-n`
// (talos@v1.8.3:internal/app/apid/pkg/director/director.go `Director`: no `node`/`nodes`
// metadata → the local backend; `nodes` → one-to-many, each node's failure reported in its reply
// message; `node` → one-to-one, a failure is the call's status). COSI methods refuse `nodes`
// ("one-2-many proxying is not supported for COSI methods" to v1.12; "… for method <path>" from
// v1.13), so they go with `node`, as talosctl's `get` does (pkg/machinery/client/context.go `WithNode`).

import type { Socket } from "node:net";

import * as grpc from "@grpc/grpc-js";

import type { ApplyMode } from "./applymode";
import { splitConfigDiff } from "./api/configtext";
import { classifyTalosError, TalosApiError } from "./api/errors";
import { isMemberId, memberOf, type EtcdMember } from "./api/etcd";
import {
    APPLY_MODE_NUMBERS,
    applyModeOf,
    MACHINE_CONFIG_RESOURCE,
    messages,
    METHODS,
    type ApplyConfigurationRequest,
    type Codec,
    type Duration,
    type Metadata,
    type ServiceInfo,
    type VersionMessage,
} from "./api/messages";
import { decodeMachineStatus, MACHINE_STATUS_RESOURCE, type MachineStatus } from "./api/runtime";
import type { TalosContext } from "./api/talosconfig";
import { fromTalosEd25519Pem } from "./pem";

export type { ApplyMode } from "./applymode";
export { classifyTalosError, isCredentialFailure, TalosApiError, type TalosErrorKind } from "./api/errors";
export { formatMemberId, peerHosts, type EtcdMember } from "./api/etcd";
export type { ServiceInfo, VersionInfo, VersionMessage } from "./api/messages";
export type { MachineStatus } from "./api/runtime";
export { parseTalosconfig, TalosconfigError, withApidPort, type TalosContext } from "./api/talosconfig";

/** Where and how to reach one apid. */
export interface TalosEndpoint {
    /** host:port, e.g. 127.0.0.1:50000; the host must be in the server certificate's SANs */
    endpoint: string;
    /** PEM: the OS CA certificate */
    ca: string;
    /** PEM: the client certificate (organization os:admin for Bootstrap) */
    crt: string;
    /** PEM: the client key; `ED25519 PRIVATE KEY` (Talos' label) is accepted */
    key: string;
}

/** What `applyConfiguration` sends (talosctl apply-config's flags). */
export interface ApplyRequest {
    /** the whole config text, every document, as the node is to run it: a secret */
    data: string;
    mode: ApplyMode;
    /** the node checks the config and answers what it would do and the diff, changing nothing */
    dryRun: boolean;
    /** try mode: the node goes back to its previous config after this long (Talos' default: 1 min) */
    tryModeTimeoutMs?: number;
}

/** One node's answer to ApplyConfiguration. */
export interface ApplyResult {
    /** the node as apid names it in the reply: the address it was sent to */
    node: string;
    /**
     * The mode the node chose ("States which mode was actually chosen."): auto becomes no-reboot
     * or reboot; at a dry run, the mode it would use.
     */
    mode: ApplyMode;
    /**
     * Talos' summary, safe to print: "Applied configuration without a reboot", "Applied
     * configuration with a reboot", the dry-run summary ("No changes." included), without any diff.
     */
    modeDetails: string;
    /**
     * The config diff Talos sent with it, as it printed it: a dry run's whole diff ("" for no
     * changes); for an auto apply that reboots, the v1alpha1 fields that forced the reboot.
     * Absent when there was none. It shows config lines: secrets. Never print it unredacted.
     */
    diff?: string;
    /** Talos' validation warnings (none at a dry run) */
    warnings: string[];
}

/** What the CLI needs from a Talos API: small, so tests and benches can stand in for it. */
export interface TalosApi {
    readonly endpoint: string;
    /**
     * The endpoint's own version, or with `node` (an IP on the cluster network) that node's,
     * proxied by the endpoint's apid as talosctl does with `-n`.
     */
    version(timeoutMs: number, node?: string): Promise<VersionMessage>;
    /** Resolves when the node accepted the bootstrap; rejects with a TalosApiError. */
    bootstrap(timeoutMs: number): Promise<void>;
    /** The endpoint's services, or with `node` that node's (as `version`). */
    serviceList(timeoutMs: number, node?: string): Promise<ServiceInfo[]>;
    /**
     * `talosctl apply-config -n <node>`: the config to `node` (an IP on the cluster network)
     * through the endpoint's apid. Rejects with a TalosApiError: kind fatal and reason "refused"
     * with Talos' reason for a config the node does not load or validate; kind needs-reboot for a
     * change no-reboot or try mode cannot make; retryable while another apply is in progress, the
     * node is rebooting, or it cannot be reached. Messages never hold the config or its diff.
     */
    applyConfiguration(timeoutMs: number, node: string, request: ApplyRequest): Promise<ApplyResult>;
    /**
     * The config `node` runs (`talosctl get machineconfig -n <node>`), as it was submitted to it,
     * every document: a secret. Without `node`, the endpoint's own.
     */
    machineConfig(timeoutMs: number, node?: string): Promise<string>;
    /**
     * The etcd members (`talosctl etcd members`), as the endpoint's machined sees them, or with
     * `node` that node's (a control plane; a worker answers Unimplemented). `queryLocal`: ask the
     * node's own etcd member instead of the cluster through the control planes' addresses.
     */
    etcdMemberList(timeoutMs: number, opts?: { node?: string; queryLocal?: boolean }): Promise<EtcdMember[]>;
    /**
     * `talosctl -n <node> etcd leave`: `node` removes its own member from etcd, then stops its etcd
     * and wipes its data. Machined retries etcd's "unhealthy" refusals for up to 5 minutes
     * (talos@v1.8.3:internal/pkg/etcd/etcd.go `LeaveCluster`): give it the time. Rejects with a
     * TalosApiError: retryable when the node cannot be reached, fatal when it refuses.
     */
    etcdLeaveCluster(timeoutMs: number, node: string): Promise<void>;
    /**
     * `talosctl -n <through> etcd remove-member <id>`: the member removed by a control plane,
     * for a node that cannot leave by itself. "not-a-member": etcd does not know the ID (it is
     * removed already).
     */
    etcdRemoveMemberById(timeoutMs: number, memberId: string, through: string): Promise<"removed" | "not-a-member">;
    /**
     * `node`'s machine status (`talosctl get machinestatus -n <node>`): its boot stage and the
     * conditions not yet met. Without `node`, the endpoint's own.
     */
    machineStatus(timeoutMs: number, node?: string): Promise<MachineStatus>;
    close(): void;
}

/** How apid is to route a call: to itself, or to other nodes (see the header). */
type Route = { nodes: string } | { node: string } | undefined;

type SecureConnector = ReturnType<grpc.ChannelCredentials["_createSecureConnector"]>;

/**
 * TLS credentials whose connections still in their handshake end when the channel closes.
 * grpc-js leaves them running: closing a channel shuts its subchannel's connector down, which
 * closes an established HTTP/2 session but not a socket still in the TLS handshake
 * (grpc-js@1.14.7 src/transport.ts `Http2SubchannelConnector.shutdown`). Against an endpoint that
 * accepts TCP and never answers, that socket would keep the process alive after `close()` for
 * as long as the endpoint holds it. The subchannel destroys its secure connector when its last
 * reference goes (src/subchannel.ts `unref`): that is when these sockets are destroyed.
 */
class HandshakesEndOnClose extends grpc.ChannelCredentials {
    constructor(private readonly tls: grpc.ChannelCredentials) {
        super();
    }

    _isSecure(): boolean {
        return this.tls._isSecure();
    }

    _equals(other: grpc.ChannelCredentials): boolean {
        return other === this;
    }

    _createSecureConnector(...args: Parameters<grpc.ChannelCredentials["_createSecureConnector"]>): SecureConnector {
        const connector = this.tls._createSecureConnector(...args);
        const handshaking = new Set<Socket>();
        return {
            connect(socket) {
                handshaking.add(socket);
                return connector.connect(socket).finally(() => handshaking.delete(socket));
            },
            waitForReady: () => connector.waitForReady(),
            getCallCredentials: () => connector.getCallCredentials(),
            destroy() {
                for (const socket of handshaking) socket.destroy();
                handshaking.clear();
                connector.destroy();
            },
        };
    }
}

export class TalosClient implements TalosApi {
    readonly endpoint: string;
    private readonly credentials: grpc.ChannelCredentials;
    private client: grpc.Client;

    constructor(target: TalosEndpoint) {
        this.endpoint = target.endpoint;
        try {
            this.credentials = new HandshakesEndOnClose(grpc.credentials.createSsl(
                Buffer.from(target.ca),
                // Node's TLS reads Ed25519 keys only as `PRIVATE KEY` (PKCS#8): talos/pem.ts.
                Buffer.from(fromTalosEd25519Pem(target.key)),
                Buffer.from(target.crt),
            ));
        } catch {
            // The underlying message can quote PEM: keep it out.
            throw new TalosApiError("fatal", grpc.status.INVALID_ARGUMENT, "bad credentials", "talosconfig: the CA, certificate or key is not PEM that TLS can use");
        }
        this.client = this.channel();
    }

    /** A client for the context's `index`-th endpoint. */
    static fromContext(ctx: TalosContext, index = 0): TalosClient {
        return new TalosClient({ endpoint: ctx.endpoints[index], ca: ctx.ca, crt: ctx.crt, key: ctx.key });
    }

    async version(timeoutMs: number, node?: string): Promise<VersionMessage> {
        const res = await this.unary(METHODS.version, "Version", messages.empty, messages.versionResponse, {}, timeoutMs, nodesRoute(node));
        const first = res.messages[0];
        if (first === undefined) throw this.emptyReply("Version");
        this.checkMetadata(first.metadata, "Version");
        return first;
    }

    async bootstrap(timeoutMs: number): Promise<void> {
        const res = await this.unary(METHODS.bootstrap, "Bootstrap", messages.bootstrapRequest, messages.bootstrapResponse, {}, timeoutMs, undefined);
        for (const m of res.messages) this.checkMetadata(m.metadata, "Bootstrap");
    }

    async serviceList(timeoutMs: number, node?: string): Promise<ServiceInfo[]> {
        const res = await this.unary(METHODS.serviceList, "ServiceList", messages.empty, messages.serviceListResponse, {}, timeoutMs, nodesRoute(node));
        const first = res.messages[0];
        if (first === undefined) throw this.emptyReply("ServiceList");
        this.checkMetadata(first.metadata, "ServiceList");
        return first.services;
    }

    async applyConfiguration(timeoutMs: number, node: string, request: ApplyRequest): Promise<ApplyResult> {
        const what = `ApplyConfiguration to ${node}`;
        const arg = applyConfigurationRequest(request, what, this.endpoint);
        const res = await this.unary(
            METHODS.applyConfiguration,
            what,
            messages.applyConfigurationRequest,
            messages.applyConfigurationResponse,
            arg,
            timeoutMs,
            { nodes: node },
        );
        const first = res.messages[0];
        if (first === undefined) throw this.emptyReply(what);
        this.checkMetadata(first.metadata, what);
        const mode = applyModeOf(first.mode);
        if (mode === undefined) {
            const message = `${what} on ${this.endpoint}: the node answered with mode ${first.mode}, which this client does not know`;
            throw new TalosApiError("fatal", grpc.status.UNKNOWN, "unknown mode", message);
        }
        const hostname = first.metadata?.hostname ?? "";
        const { text, diff } = splitConfigDiff(first.mode_details);
        return {
            node: hostname === "" ? node : hostname,
            mode,
            modeDetails: text,
            ...(diff === undefined ? {} : { diff }),
            warnings: first.warnings,
        };
    }

    async machineConfig(timeoutMs: number, node?: string): Promise<string> {
        const what = node === undefined ? "reading the machine config" : `reading the machine config of ${node}`;
        const spec = await this.cosiSpec(MACHINE_CONFIG_RESOURCE, what, timeoutMs, node, false);
        return Buffer.from(messages.machineConfigSpec.deserialize(Buffer.from(spec)).yaml_marshalled).toString("utf8");
    }

    async machineStatus(timeoutMs: number, node?: string): Promise<MachineStatus> {
        const what = node === undefined ? "reading the machine status" : `reading the machine status of ${node}`;
        // An empty spec is a valid status: stage unknown (0) and no status message encode to nothing.
        return decodeMachineStatus(await this.cosiSpec(MACHINE_STATUS_RESOURCE, what, timeoutMs, node, true));
    }

    /**
     * A COSI resource's proto_spec, checked to be the resource asked for; `node` goes one-to-one.
     * `emptyOk`: zero bytes are a spec of default values, not a missing one.
     */
    private async cosiSpec(
        resource: { namespace: string; type: string; id: string },
        what: string,
        timeoutMs: number,
        node: string | undefined,
        emptyOk: boolean,
    ): Promise<Uint8Array> {
        const res = await this.unary(
            METHODS.cosiGet,
            what,
            messages.cosiGetRequest,
            messages.cosiGetResponse,
            { ...resource, options: {} },
            timeoutMs,
            node === undefined ? undefined : { node },
        );
        const meta = res.resource?.metadata;
        if (meta !== null && meta !== undefined && (meta.type !== resource.type || meta.id !== resource.id)) {
            const message = `${what} on ${this.endpoint}: the reply is resource ${meta.type}/${meta.id}`;
            throw new TalosApiError("fatal", grpc.status.UNKNOWN, "wrong resource", message);
        }
        const spec = res.resource?.spec?.proto_spec;
        if (spec === undefined || (spec.length === 0 && !emptyOk)) {
            throw new TalosApiError("fatal", grpc.status.UNKNOWN, "no spec", `${what} on ${this.endpoint}: the reply has no resource spec`);
        }
        return spec;
    }

    async etcdMemberList(timeoutMs: number, opts: { node?: string; queryLocal?: boolean } = {}): Promise<EtcdMember[]> {
        const what = opts.node === undefined ? "EtcdMemberList" : `EtcdMemberList on ${opts.node}`;
        const res = await this.unary(
            METHODS.etcdMemberList,
            what,
            messages.etcdMemberListRequest,
            messages.etcdMemberListResponse,
            // Only when true: proto3 leaves a default out, and talosctl's request is then empty bytes.
            opts.queryLocal === true ? { query_local: true } : {},
            timeoutMs,
            nodesRoute(opts.node),
        );
        const first = res.messages[0];
        if (first === undefined) throw this.emptyReply(what);
        this.checkMetadata(first.metadata, what);
        return first.members.map(memberOf);
    }

    async etcdLeaveCluster(timeoutMs: number, node: string): Promise<void> {
        const what = `EtcdLeaveCluster on ${node}`;
        const res = await this.unary(
            METHODS.etcdLeaveCluster,
            what,
            messages.etcdLeaveClusterRequest,
            messages.etcdLeaveClusterResponse,
            {},
            timeoutMs,
            { nodes: node },
        );
        if (res.messages.length === 0) throw this.emptyReply(what);
        for (const m of res.messages) this.checkMetadata(m.metadata, what);
    }

    async etcdRemoveMemberById(timeoutMs: number, memberId: string, through: string): Promise<"removed" | "not-a-member"> {
        const what = `EtcdRemoveMemberByID through ${through}`;
        // A member_id left at its default (0) removes nothing; a wrong one could remove another member.
        if (!isMemberId(memberId)) {
            const message = `${what} on ${this.endpoint}: not sent: member ID ${JSON.stringify(memberId)} is not a decimal unsigned 64-bit number`;
            throw new TalosApiError("fatal", grpc.status.INVALID_ARGUMENT, "bad request", message);
        }
        try {
            const res = await this.unary(
                METHODS.etcdRemoveMemberById,
                what,
                messages.etcdRemoveMemberByIdRequest,
                messages.etcdRemoveMemberByIdResponse,
                { member_id: memberId },
                timeoutMs,
                { nodes: through },
            );
            if (res.messages.length === 0) throw this.emptyReply(what);
            for (const m of res.messages) this.checkMetadata(m.metadata, what);
            return "removed";
        } catch (err) {
            // machined answers NotFound for etcd's ErrMemberNotFound (v1alpha1_server.go EtcdRemoveMemberByID).
            if (err instanceof TalosApiError && err.code === grpc.status.NOT_FOUND) return "not-a-member";
            throw err;
        }
    }

    close(): void {
        this.client.close();
    }

    private unary<Req, Res>(path: string, what: string, req: Codec<Req>, res: Codec<Res>, arg: Req, timeoutMs: number, route: Route): Promise<Res> {
        const metadata = new grpc.Metadata();
        if (route !== undefined && "nodes" in route) metadata.set("nodes", route.nodes);
        if (route !== undefined && "node" in route) metadata.set("node", route.node);
        return new Promise((resolve, reject) => {
            this.client.makeUnaryRequest(
                path,
                req.serialize,
                res.deserialize,
                arg,
                metadata,
                { deadline: Date.now() + timeoutMs },
                (err, value) => {
                    if (err === null && value !== undefined) return resolve(value);
                    if (err?.code === grpc.status.UNAVAILABLE) this.renewChannel();
                    reject(classifyTalosError(err ?? new Error("empty reply"), this.endpoint, what));
                },
            );
        });
    }

    /**
     * After a failed connection grpc-js reconnects on its own backoff (1 s growing to 120 s) and
     * fails every call in between at once with the old error, so a node that came up would be
     * noticed late, whatever pace the caller retries at. A fresh channel connects on the next
     * call instead: the caller's retry pace (cli/backoff.ts) is the only one.
     */
    private renewChannel(): void {
        this.client.close();
        this.client = this.channel();
    }

    private channel(): grpc.Client {
        return new grpc.Client(this.endpoint, this.credentials, {
            // Subchannels of its own: from grpc-js' global pool, a renewed channel would
            // get back the same subchannel, still backing off.
            "grpc.use_local_subchannel_pool": 1,
        });
    }

    /**
     * apid reports a proxied node's failure in the message metadata, not as the call's status:
     * `error` is the error's text ("rpc error: code = … desc = <message>"), `status` the status
     * itself (talos@v1.8.3:internal/app/apid/pkg/backend/apid.go `BuildError`). The status'
     * message is Talos' own words, so it is read first.
     */
    private checkMetadata(meta: Metadata | null | undefined, what: string): void {
        if (meta === null || meta === undefined || meta.error === "") return;
        const message = meta.status?.message ?? "";
        const details = message === "" ? meta.error : message;
        throw classifyTalosError({ code: meta.status?.code ?? grpc.status.UNKNOWN, details }, this.endpoint, what);
    }

    private emptyReply(what: string): TalosApiError {
        return new TalosApiError("retryable", grpc.status.UNKNOWN, "empty reply", `${what} on ${this.endpoint}: the reply has no messages`);
    }
}

/** `nodes` metadata for a call to another node (one-to-many; see the header), none for the endpoint itself. */
function nodesRoute(node: string | undefined): Route {
    return node === undefined ? undefined : { nodes: node };
}

/** The request, with the mode's wire number from the one table; refuses what the table lacks. */
function applyConfigurationRequest(request: ApplyRequest, what: string, endpoint: string): ApplyConfigurationRequest {
    const problems: string[] = [];
    // Callers from plain JavaScript, or a cast, could pass any string: never let it become REBOOT (0).
    const mode: number | undefined = Object.hasOwn(APPLY_MODE_NUMBERS, request.mode) ? APPLY_MODE_NUMBERS[request.mode] : undefined;
    if (mode === undefined) {
        problems.push(`mode ${JSON.stringify(request.mode)} is not one of ${Object.keys(APPLY_MODE_NUMBERS).join(", ")}`);
    }
    if (typeof request.data !== "string" || request.data === "") problems.push("the config is empty");
    const timeout = request.tryModeTimeoutMs;
    if (timeout !== undefined && (!Number.isInteger(timeout) || timeout <= 0)) {
        problems.push(`tryModeTimeoutMs ${timeout} is not a positive whole number of milliseconds`);
    }
    if (mode === undefined || problems.length > 0) {
        const message = `${what} on ${endpoint}: not sent: ${problems.join("; ")}`;
        throw new TalosApiError("fatal", grpc.status.INVALID_ARGUMENT, "bad request", message);
    }
    return {
        data: Buffer.from(request.data, "utf8"),
        mode,
        dry_run: request.dryRun,
        ...(timeout === undefined ? {} : { try_mode_timeout: durationOf(timeout) }),
    };
}

function durationOf(ms: number): Duration {
    return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
