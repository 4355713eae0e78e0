// A fake Kubernetes API server for CLI tests and benches: HTTPS with a serving certificate from
// the Kubernetes CA (SAN 127.0.0.1), client certificates verified against that CA the way
// kube-apiserver authenticates them (no certificate or a foreign one → 401; it does not fail the
// handshake), and the three reads `wait` makes. The cluster it reports is plain data the test
// changes while the CLI runs. Listens on 127.0.0.1 only.

import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { performance } from "node:perf_hooks";
import type { Socket } from "node:net";

import type { Node, Pod } from "../../cli/kube/api";
import type { CertAndKey } from "../../talos/secretsbundle";
import { issueCert } from "../cli/support/certs";

export interface FakeKubeOptions {
    /** the Kubernetes CA: it issues the serving certificate and authenticates clients */
    k8sCa: CertAndKey;
    /** nothing listens (connections refused) until `listen()` */
    deferListen?: boolean;
}

/** One node of the fake cluster. */
export interface FakeNodeSpec {
    name: string;
    ip: string;
}

export class FakeKube {
    /** /readyz answers 200 "ok" when true, else 500 listing etcd as failing */
    apiReady = false;
    nodes: Node[] = [];
    /** kube-system pods */
    pods: Pod[] = [];
    /** every answer comes this late */
    delayMs = 0;
    /** requests by path, and in all */
    readonly requests = new Map<string, number>();
    totalRequests = 0;
    /** performance.now() when the server started listening */
    listeningSince: number | undefined;

    private server: Server | undefined;
    /** Every TCP connection, handshaking ones included: closeAllConnections only knows HTTP ones. */
    private readonly sockets = new Set<Socket>();

    private constructor(
        readonly port: number,
        private readonly tls: { key: string; cert: string; ca: string },
    ) {}

    static async start(opts: FakeKubeOptions): Promise<FakeKube> {
        const serving = await issueCert(opts.k8sCa, { commonName: "kube-apiserver", ips: ["127.0.0.1"], dnsNames: ["localhost"], usage: "server" });
        // Reserve the port now so a kubeconfig can name it before the server listens.
        const probe = createServer();
        const port = await new Promise<number>((resolve) => probe.listen(0, "127.0.0.1", () => resolve((probe.address() as { port: number }).port)));
        await new Promise((resolve) => probe.close(resolve));
        const fake = new FakeKube(port, { key: serving.key, cert: serving.crt, ca: opts.k8sCa.crt });
        if (!opts.deferListen) await fake.listen();
        return fake;
    }

    /** the kubeconfig `server` */
    get url(): string {
        return `https://127.0.0.1:${this.port}`;
    }

    async listen(): Promise<void> {
        if (this.server !== undefined) return;
        const server = createServer({ ...this.tls, requestCert: true, rejectUnauthorized: false }, (req, res) => this.handle(req, res));
        this.server = server;
        server.on("connection", (socket: Socket) => {
            this.sockets.add(socket);
            socket.once("close", () => this.sockets.delete(socket));
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(this.port, "127.0.0.1", () => resolve());
        });
        this.listeningSince = performance.now();
    }

    async close(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        if (server === undefined) return;
        server.closeAllConnections();
        for (const socket of this.sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
    }

    /** A healthy cluster of these nodes: API ready, nodes Ready, CoreDNS ×2, kube-proxy and flannel on every node. */
    setHealthy(nodes: FakeNodeSpec[]): void {
        this.apiReady = true;
        this.nodes = nodes.map((n) => makeNode(n, true));
        this.pods = [
            makePod("coredns-64b67fc8fd-x2v9q", "kube-dns", nodes[0].name, true),
            makePod("coredns-64b67fc8fd-p7k4m", "kube-dns", nodes[0].name, true),
            ...nodes.flatMap((n, i) => [
                makePod(`kube-proxy-${suffix(i)}`, "kube-proxy", n.name, true),
                makePod(`kube-flannel-${suffix(i)}`, "flannel", n.name, true),
            ]),
        ];
    }

    /** Mark a node NotReady (kubelet's reason while the CNI is not up), and its DaemonSet pods not ready. */
    setNodeNotReady(name: string): void {
        const node = this.nodes.find((n) => n.metadata.name === name);
        if (node === undefined) throw new Error(`no node ${name}`);
        node.status!.conditions = [notReadyCondition()];
        for (const pod of this.pods.filter((p) => p.spec?.nodeName === name && p.metadata.labels?.["k8s-app"] !== "kube-dns")) {
            Object.assign(pod, makePod(pod.metadata.name, pod.metadata.labels!["k8s-app"], name, false));
        }
    }

    private handle(req: IncomingMessage, res: ServerResponse): void {
        const path = (req.url ?? "/").split("?")[0];
        this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
        this.totalRequests++;
        const answer = () => {
            const socket = req.socket as TLSSocket;
            if (!socket.authorized) return send(res, 401, status(401, "Unauthorized"));
            const orgs = socket.getPeerCertificate().subject?.O;
            if (![orgs].flat().includes("system:masters")) return send(res, 403, status(403, `nodes is forbidden: User cannot list resource`));
            if (req.method !== "GET") return send(res, 405, status(405, "MethodNotAllowed"));
            switch (path) {
                case "/readyz":
                    return this.apiReady ? sendText(res, 200, "ok") : sendText(res, 500, "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n");
                case "/api/v1/nodes":
                    return this.apiReady ? send(res, 200, { kind: "NodeList", apiVersion: "v1", metadata: {}, items: this.nodes }) : send(res, 503, status(503, "ServiceUnavailable"));
                case "/api/v1/namespaces/kube-system/pods":
                    return this.apiReady ? send(res, 200, { kind: "PodList", apiVersion: "v1", metadata: {}, items: this.pods }) : send(res, 503, status(503, "ServiceUnavailable"));
                default:
                    return send(res, 404, status(404, "NotFound"));
            }
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
    }
}

export function makeNode(spec: FakeNodeSpec, ready: boolean): Node {
    return {
        metadata: { name: spec.name, labels: { "kubernetes.io/hostname": spec.name } },
        status: {
            addresses: [{ type: "InternalIP", address: spec.ip }, { type: "Hostname", address: spec.name }],
            conditions: [ready ? { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" } : notReadyCondition()],
        },
    };
}

export function makePod(name: string, app: string, nodeName: string, ready: boolean): Pod {
    return {
        metadata: { name, namespace: "kube-system", labels: { "k8s-app": app } },
        spec: { nodeName },
        status: ready
            ? { phase: "Running", conditions: [{ type: "Ready", status: "True" }], containerStatuses: [{ name: app, ready: true, state: {} }] }
            : {
                  phase: "Pending",
                  conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady" }],
                  containerStatuses: [{ name: app, ready: false, state: { waiting: { reason: "ContainerCreating" } } }],
              },
    };
}

function notReadyCondition() {
    return {
        type: "Ready",
        status: "False" as const,
        reason: "KubeletNotReady",
        message: "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
    };
}

function suffix(i: number): string {
    return ["7xk2p", "m4q9d", "b8w3n", "t5z6c", "h2j8r"][i % 5] + (i >= 5 ? String(i) : "");
}

function status(code: number, reason: string) {
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: reason, reason, code };
}

function send(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function sendText(res: ServerResponse, code: number, body: string): void {
    res.writeHead(code, { "content-type": "text/plain; charset=utf-8" }).end(body);
}
