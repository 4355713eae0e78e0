// A Talos API client: gRPC over mutual TLS to apid (talos@v1.8.3:api/machine/machine.proto
// MachineService), with the talosconfig's OS CA, client certificate and key. Only the calls the
// CLI needs. Talking to one node directly, as we do through the host-mapped port, needs no
// `nodes` metadata: apid answers for itself (talos@v1.8.3:internal/app/apid/pkg/director/director.go `Director`: no
// `node`/`nodes` metadata → the local backend).

import type { Socket } from "node:net";

import * as grpc from "@grpc/grpc-js";

import { classifyTalosError, TalosApiError } from "./api/errors";
import { messages, METHODS, type Codec, type Metadata, type ServiceInfo, type VersionMessage } from "./api/messages";
import type { TalosContext } from "./api/talosconfig";
import { fromTalosEd25519Pem } from "./pem";

export { classifyTalosError, TalosApiError, type TalosErrorKind } from "./api/errors";
export type { ServiceInfo, VersionInfo, VersionMessage } from "./api/messages";
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
    close(): void;
}

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
        const res = await this.unary(METHODS.version, "Version", messages.empty, messages.versionResponse, {}, timeoutMs, node);
        const first = res.messages[0];
        if (first === undefined) throw this.emptyReply("Version");
        this.checkMetadata(first.metadata, "Version");
        return first;
    }

    async bootstrap(timeoutMs: number): Promise<void> {
        const res = await this.unary(METHODS.bootstrap, "Bootstrap", messages.bootstrapRequest, messages.bootstrapResponse, {}, timeoutMs);
        for (const m of res.messages) this.checkMetadata(m.metadata, "Bootstrap");
    }

    async serviceList(timeoutMs: number, node?: string): Promise<ServiceInfo[]> {
        const res = await this.unary(METHODS.serviceList, "ServiceList", messages.empty, messages.serviceListResponse, {}, timeoutMs, node);
        const first = res.messages[0];
        if (first === undefined) throw this.emptyReply("ServiceList");
        this.checkMetadata(first.metadata, "ServiceList");
        return first.services;
    }

    close(): void {
        this.client.close();
    }

    private unary<Req, Res>(path: string, what: string, req: Codec<Req>, res: Codec<Res>, arg: Req, timeoutMs: number, node?: string): Promise<Res> {
        const metadata = new grpc.Metadata();
        // `nodes` (one-to-many) rather than `node`: apid then reports the node's failure in the
        // reply's metadata with its hostname, which checkMetadata turns into a classified error
        // (talos@v1.8.3:internal/app/apid/pkg/director/director.go).
        if (node !== undefined) metadata.set("nodes", node);
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

    /** apid reports a proxied node's failure in the message metadata, not as the call's status. */
    private checkMetadata(meta: Metadata | null | undefined, what: string): void {
        if (meta === null || meta === undefined || meta.error === "") return;
        throw classifyTalosError({ code: meta.status?.code ?? grpc.status.UNKNOWN, details: meta.error }, this.endpoint, what);
    }

    private emptyReply(what: string): TalosApiError {
        return new TalosApiError("retryable", grpc.status.UNKNOWN, "empty reply", `${what} on ${this.endpoint}: the reply has no messages`);
    }
}
