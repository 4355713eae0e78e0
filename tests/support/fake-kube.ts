// A fake Kubernetes API server for CLI tests and benches: HTTPS with a serving certificate from
// the Kubernetes CA (SAN 127.0.0.1), client certificates verified against that CA the way
// kube-apiserver authenticates them (no certificate or a foreign one → 401; it does not fail the
// handshake), the three reads `wait` makes, kube-system pods by `k8s-app` label, and DaemonSets
// read and changed by strategic merge patch (the only patch type it takes; another is 415, as
// kube-apiserver answers an unsupported one), with a rollout that completes a few reads later,
// and what a drain asks for (fake-kube-drain.ts: Nodes patched and deleted, the pods on a node,
// evictions with PodDisruptionBudgets, a kubelet confirming terminated pods).
// The cluster it reports is plain data the test changes while the CLI runs. Listens on
// 127.0.0.1 only.

import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { performance } from "node:perf_hooks";
import type { Socket } from "node:net";

import type { Container, DaemonSet, Deployment, Node, Pod } from "../../cli/kube/api";
import type { CertAndKey } from "../../talos/secretsbundle";
import { issueCert } from "../cli/support/certs";
import { drainAnswer, type DrainState, type FakePdb, type ReceivedEviction } from "./fake-kube-drain";

export type { FakePdb, ReceivedEviction } from "./fake-kube-drain";

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

/** A PATCH as the server received it. */
export interface ReceivedPatch {
    path: string;
    contentType: string;
    /** the query's fieldManager, if any */
    fieldManager: string | null;
    body: unknown;
}

export class FakeKube implements DrainState {
    /** /readyz answers 200 "ok" when true, else 500 listing etcd as failing */
    apiReady = false;
    nodes: Node[] = [];
    /** the pods of every namespace (the kube-system list serves those of kube-system) */
    pods: Pod[] = [];
    /** PodDisruptionBudgets, as evictions read them */
    pdbs: FakePdb[] = [];
    /** lists of a node's pods a terminating pod is still in before its kubelet confirms it; Infinity: never */
    terminationReads = 1;
    /** evictions, in order */
    readonly evictions: ReceivedEviction[] = [];
    /** every request's method and path (without the query), in order of arrival */
    readonly log: { method: string; path: string }[] = [];
    /** kube-system DaemonSets by name */
    daemonSets = new Map<string, DaemonSet>();
    /** after a change of a DaemonSet's spec, its status shows the rollout under way for this many reads */
    rolloutReads = 1;
    /** the DaemonSet rollout never completes (its pods do not become available) */
    rolloutStuck = false;
    /** PATCH requests, in order */
    readonly patches: ReceivedPatch[] = [];
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

    /**
     * A healthy cluster of these nodes: API ready, nodes Ready, the first `controlPlanes` labelled
     * as control planes and running their static pods, CoreDNS ×2, kube-proxy and flannel on every node.
     */
    setHealthy(nodes: FakeNodeSpec[], controlPlanes = 1): void {
        this.apiReady = true;
        this.nodes = nodes.map((n, i) => (i < controlPlanes ? makeControlPlaneNode(n, true) : makeNode(n, true)));
        this.pods = [
            ...nodes.slice(0, controlPlanes).flatMap((n) => CONTROL_PLANE_APPS.map((app) => makeStaticPod(app, n, `registry.k8s.io/${app}:v1.31.1`, true))),
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

    /** A kube-proxy DaemonSet as Talos renders it (talos@v1.8.3:…/controllers/k8s/templates/kube-proxy-template.yaml), rolled out on `nodes` nodes. */
    addKubeProxy(image: string, nodes: number): DaemonSet {
        const ds: DaemonSet = {
            metadata: { name: "kube-proxy", namespace: "kube-system", labels: { "k8s-app": "kube-proxy", tier: "node" }, generation: 1 },
            spec: { template: { spec: { containers: [{ name: "kube-proxy", image }] } } },
            status: { observedGeneration: 1, ...counters(nodes, nodes) },
        };
        this.daemonSets.set("kube-proxy", ds);
        return ds;
    }

    private readonly rollouts = new Map<string, number>();

    private handle(req: IncomingMessage, res: ServerResponse): void {
        const [path, query = ""] = (req.url ?? "/").split("?", 2);
        this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
        this.totalRequests++;
        this.log.push({ method: req.method ?? "GET", path });
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            if (this.delayMs > 0) setTimeout(answer, this.delayMs);
            else answer();
        });
        const answer = () => {
            const socket = req.socket as TLSSocket;
            if (!socket.authorized) return send(res, 401, status(401, "Unauthorized"));
            const orgs = socket.getPeerCertificate().subject?.O;
            if (![orgs].flat().includes("system:masters")) return send(res, 403, status(403, `nodes is forbidden: User cannot list resource`));
            const params = new URLSearchParams(query);
            const body = Buffer.concat(chunks).toString("utf8");
            const drain = drainAnswer(this, req.method ?? "GET", path, params, body);
            if (drain !== undefined) return this.apiReady ? send(res, drain.code, drain.body) : send(res, 503, status(503, "ServiceUnavailable"));
            const daemonSet = /^\/apis\/apps\/v1\/namespaces\/kube-system\/daemonsets\/([^/]+)$/.exec(path);
            if (daemonSet !== null) return this.daemonSet(req, res, decodeURIComponent(daemonSet[1]), params, Buffer.concat(chunks).toString("utf8"));
            if (req.method !== "GET") return send(res, 405, status(405, "MethodNotAllowed"));
            switch (path) {
                case "/readyz":
                    return this.apiReady ? sendText(res, 200, "ok") : sendText(res, 500, "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n");
                case "/api/v1/nodes":
                    return this.apiReady ? send(res, 200, { kind: "NodeList", apiVersion: "v1", metadata: {}, items: this.nodes }) : send(res, 503, status(503, "ServiceUnavailable"));
                case "/api/v1/namespaces/kube-system/pods": {
                    if (!this.apiReady) return send(res, 503, status(503, "ServiceUnavailable"));
                    const selector = params.get("labelSelector");
                    const items = this.pods.filter((p) => p.metadata.namespace === "kube-system" && matches(p, selector));
                    return send(res, 200, { kind: "PodList", apiVersion: "v1", metadata: {}, items });
                }
                case "/apis/apps/v1/namespaces/kube-system/daemonsets":
                    if (!this.apiReady) return send(res, 503, status(503, "ServiceUnavailable"));
                    return send(res, 200, { kind: "DaemonSetList", apiVersion: "apps/v1", metadata: {}, items: this.listedDaemonSets() });
                case "/apis/apps/v1/namespaces/kube-system/deployments":
                    if (!this.apiReady) return send(res, 503, status(503, "ServiceUnavailable"));
                    return send(res, 200, { kind: "DeploymentList", apiVersion: "apps/v1", metadata: {}, items: this.listedDeployments() });
                default:
                    return send(res, 404, status(404, "NotFound"));
            }
        };
    }

    /**
     * The DaemonSets Talos deploys, as their controller would count them: each one whose pods
     * exist (kube-proxy, flannel), wanting a pod on every node; the ones added by hand as they are.
     */
    private listedDaemonSets(): DaemonSet[] {
        const derived = [["kube-proxy", "kube-proxy"], ["kube-flannel", "flannel"]]
            .filter(([name, app]) => !this.daemonSets.has(name) && this.pods.some((p) => p.metadata.labels?.["k8s-app"] === app))
            .map(([name, app]): DaemonSet => ({
                metadata: { name, namespace: "kube-system", labels: { "k8s-app": app } },
                status: { desiredNumberScheduled: this.nodes.length },
            }));
        return [...this.daemonSets.values(), ...derived];
    }

    /** The CoreDNS Deployment once its pods exist, with as many replicas as there are pods. */
    private listedDeployments(): Deployment[] {
        const coredns = this.pods.filter((p) => p.metadata.labels?.["k8s-app"] === "kube-dns");
        if (coredns.length === 0) return [];
        return [{ metadata: { name: "coredns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } }, spec: { replicas: coredns.length } }];
    }

    /** GET and PATCH of a kube-system DaemonSet. */
    private daemonSet(req: IncomingMessage, res: ServerResponse, name: string, params: URLSearchParams, body: string): void {
        if (!this.apiReady) return send(res, 503, status(503, "ServiceUnavailable"));
        const ds = this.daemonSets.get(name);
        if (ds === undefined) return send(res, 404, status(404, `daemonsets.apps "${name}" not found`));
        switch (req.method) {
            case "GET":
                return send(res, 200, { kind: "DaemonSet", apiVersion: "apps/v1", ...this.observed(name, ds) });
            case "PATCH": {
                const contentType = req.headers["content-type"] ?? "";
                let patch: unknown;
                try {
                    patch = JSON.parse(body);
                } catch {
                    return send(res, 400, status(400, "BadRequest"));
                }
                this.patches.push({ path: req.url ?? "", contentType, fieldManager: params.get("fieldManager"), body: patch });
                if (contentType !== "application/strategic-merge-patch+json") return send(res, 415, status(415, "UnsupportedMediaType"));
                const before = JSON.stringify(ds.spec);
                ds.spec = strategicMerge(ds.spec, (patch as { spec?: unknown }).spec) as DaemonSet["spec"];
                if (JSON.stringify(ds.spec) !== before) {
                    ds.metadata.generation = (ds.metadata.generation ?? 1) + 1;
                    this.rollouts.set(name, this.rolloutReads);
                }
                return send(res, 200, { kind: "DaemonSet", apiVersion: "apps/v1", ...ds });
            }
            default:
                return send(res, 405, status(405, "MethodNotAllowed"));
        }
    }

    /** The DaemonSet as a read sees it: while its rollout is under way, not yet observed nor updated. */
    private observed(name: string, ds: DaemonSet): DaemonSet {
        const desired = ds.status?.desiredNumberScheduled ?? 0;
        const left = this.rollouts.get(name) ?? 0;
        if (this.rolloutStuck) {
            // One pod of the new template never becomes available.
            return { ...ds, status: { ...ds.status, observedGeneration: ds.metadata.generation, ...counters(desired, Math.max(0, desired - 1)) } };
        }
        if (left > 0) {
            this.rollouts.set(name, left - 1);
            return { ...ds, status: { ...ds.status, observedGeneration: (ds.metadata.generation ?? 1) - 1, ...counters(desired, 0) } };
        }
        ds.status = { ...ds.status, observedGeneration: ds.metadata.generation, ...counters(desired, desired) };
        return ds;
    }
}

/** A DaemonSet's counters with `updated` of `desired` pods on the new template (the rest still starting). */
function counters(desired: number, updated: number): NonNullable<DaemonSet["status"]> {
    return { desiredNumberScheduled: desired, currentNumberScheduled: desired, updatedNumberScheduled: updated, numberAvailable: updated, numberReady: updated };
}

/**
 * A strategic merge patch as kube-apiserver applies it to the parts we patch: maps merge,
 * `containers` merge by `name` (its patchMergeKey in k8s.io/api/core/v1 types.go), other lists
 * are replaced.
 */
function strategicMerge(target: unknown, patch: unknown): unknown {
    if (patch === undefined) return target;
    if (Array.isArray(patch)) return patch;
    if (typeof patch !== "object" || patch === null) return patch;
    const base = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
    for (const [key, value] of Object.entries(patch)) {
        if (key === "containers" && Array.isArray(value) && Array.isArray(base[key])) {
            const merged = [...(base[key] as Container[])];
            for (const item of value as Container[]) {
                const at = merged.findIndex((c) => c.name === item.name);
                if (at < 0) merged.push(item);
                else merged[at] = strategicMerge(merged[at], item) as Container;
            }
            base[key] = merged;
        } else {
            base[key] = strategicMerge(base[key], value);
        }
    }
    return base;
}

/** `k8s-app=<value>`, the only selector the CLI sends; none matches every pod. */
function matches(pod: Pod, selector: string | null): boolean {
    if (selector === null) return true;
    const [key, value] = selector.split("=", 2);
    return pod.metadata.labels?.[key] === value;
}

/** The control-plane static pods, by `k8s-app` label. */
const CONTROL_PLANE_APPS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/** A control-plane Node: labelled as Talos labels it (pkg/machinery/constants LabelNodeRoleControlPlane). */
export function makeControlPlaneNode(spec: FakeNodeSpec, ready: boolean): Node {
    const node = makeNode(spec, ready);
    node.metadata.labels = { ...node.metadata.labels, "node-role.kubernetes.io/control-plane": "" };
    return node;
}

export function makeNode(spec: FakeNodeSpec, ready: boolean, kubeletVersion = "v1.31.1"): Node {
    return {
        metadata: { name: spec.name, labels: { "kubernetes.io/hostname": spec.name } },
        status: {
            addresses: [{ type: "InternalIP", address: spec.ip }, { type: "Hostname", address: spec.name }],
            conditions: [ready ? { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" } : notReadyCondition()],
            nodeInfo: { kubeletVersion },
        },
    };
}

/**
 * A control-plane static pod as the kubelet mirrors it: `<component>-<node name>`, labelled
 * `k8s-app: <component>` (talos@v1.8.3:internal/app/machined/pkg/controllers/k8s/control_plane_static_pod.go),
 * on the node's host IP.
 */
export function makeStaticPod(component: string, node: FakeNodeSpec, image: string, ready: boolean): Pod {
    return {
        metadata: { name: `${component}-${node.name}`, namespace: "kube-system", labels: { "k8s-app": component, tier: "control-plane" } },
        spec: { nodeName: node.name, containers: [{ name: component, image }] },
        status: {
            phase: "Running",
            hostIP: node.ip,
            conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
            containerStatuses: [{ name: component, ready, state: {} }],
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
