// What the fake Kubernetes API (fake-kube.ts) answers to a drain, as kube-apiserver v1.31 does:
// a Node patched (strategic merge of its spec) and deleted; the pods bound to a node listed in
// pages (fieldSelector spec.nodeName, limit, continue); and the Eviction subresource
// (k8s.io/kubernetes@v1.31.1 pkg/registry/core/pod/storage/eviction.go `Create`): a pod that is
// finished, Pending or already terminating is deleted without asking its budget; one matched by
// more than one PodDisruptionBudget is a 500; a budget with no disruption allowed answers 429 with
// its cause ("The disruption budget X needs N healthy pods and has M currently"); otherwise the
// budget's allowance goes down by one and the pod is deleted. Deletion is graceful as the pod
// strategy makes it (pkg/registry/core/pod/strategy.go `CheckGracefulDelete`): a pod bound to a
// node and not finished gets a deletionTimestamp and stays until its kubelet confirms it stopped;
// here the kubelet is a counter: the pod is listed `terminationReads` more times, then gone.

import type { Node, Pod } from "../../cli/kube/api";

/** A PodDisruptionBudget with the status the disruption controller would keep. */
export interface FakePdb {
    name: string;
    namespace: string;
    /** spec.selector.matchLabels */
    matchLabels: Record<string, string>;
    /** status.disruptionsAllowed */
    disruptionsAllowed: number;
    desiredHealthy: number;
    currentHealthy: number;
    /** as the disruption controller would once replacements are ready: after this many refusals, allow one disruption */
    allowAfterRefusals?: number;
    /** state: evictions refused so far */
    refusals?: number;
}

/** An eviction as it arrived and how it was answered. */
export interface ReceivedEviction {
    pod: string;
    status: number;
    /** the request's deleteOptions, as sent */
    deleteOptions: unknown;
}

/** The cluster state the drain handlers read and change: the FakeKube itself. */
export interface DrainState {
    nodes: Node[];
    pods: Pod[];
    pdbs: FakePdb[];
    /** lists of a node's pods a terminating pod is still in; Infinity: its kubelet never confirms */
    terminationReads: number;
    readonly evictions: ReceivedEviction[];
}

export interface Answer {
    code: number;
    body: unknown;
}

const NODE = /^\/api\/v1\/nodes\/([^/]+)$/;
const EVICTION = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/;
const PODS_PATH = "/api/v1/pods";

/** The answer to a drain request, or undefined for a path these handlers do not serve. */
export function drainAnswer(state: DrainState, method: string, path: string, params: URLSearchParams, body: string): Answer | undefined {
    const node = NODE.exec(path);
    if (node !== null) return nodeRequest(state, method, decodeURIComponent(node[1]), body);
    const eviction = EVICTION.exec(path);
    if (eviction !== null && method === "POST") return evict(state, decodeURIComponent(eviction[1]), decodeURIComponent(eviction[2]), body);
    if (path === PODS_PATH && method === "GET") return podsOnNode(state, params);
    return undefined;
}

function nodeRequest(state: DrainState, method: string, name: string, body: string): Answer {
    const at = state.nodes.findIndex((n) => n.metadata.name === name);
    const node = state.nodes[at];
    if (node === undefined) return { code: 404, body: status(404, "NotFound", `nodes "${name}" not found`) };
    switch (method) {
        case "GET":
            return { code: 200, body: { kind: "Node", apiVersion: "v1", ...node } };
        case "PATCH": {
            const patch = JSON.parse(body) as { spec?: Node["spec"] };
            node.spec = { ...node.spec, ...patch.spec };
            return { code: 200, body: { kind: "Node", apiVersion: "v1", ...node } };
        }
        case "DELETE":
            state.nodes.splice(at, 1);
            return { code: 200, body: { kind: "Node", apiVersion: "v1", ...node } };
        default:
            return { code: 405, body: status(405, "MethodNotAllowed", "method not allowed") };
    }
}

/** `spec.nodeName=X`, a page of `limit` from the `continue` offset; the fake kubelet acts on each read. */
function podsOnNode(state: DrainState, params: URLSearchParams): Answer {
    const selector = /^spec\.nodeName=(.+)$/.exec(params.get("fieldSelector") ?? "");
    if (selector === null) return { code: 400, body: status(400, "BadRequest", "the fake serves pods by spec.nodeName only") };
    const nodeName = selector[1];
    kubeletTick(state, nodeName);
    const all = state.pods.filter((p) => p.spec?.nodeName === nodeName);
    const limit = Number(params.get("limit") ?? "0");
    const from = Number(params.get("continue") ?? "0");
    const items = limit > 0 ? all.slice(from, from + limit) : all.slice(from);
    const next = limit > 0 && from + limit < all.length ? String(from + limit) : undefined;
    return { code: 200, body: { kind: "PodList", apiVersion: "v1", metadata: next === undefined ? {} : { continue: next }, items } };
}

const reads = new WeakMap<Pod, number>();

/** The node's kubelet confirms terminated pods: each is listed `terminationReads` times after its deletion, then gone. */
function kubeletTick(state: DrainState, nodeName: string): void {
    for (const pod of state.pods.filter((p) => p.spec?.nodeName === nodeName && p.metadata.deletionTimestamp !== undefined)) {
        const seen = reads.get(pod) ?? 0;
        if (seen >= state.terminationReads) state.pods.splice(state.pods.indexOf(pod), 1);
        else reads.set(pod, seen + 1);
    }
}

function evict(state: DrainState, namespace: string, name: string, body: string): Answer {
    const who = `${namespace}/${name}`;
    const request = JSON.parse(body) as { kind?: string; apiVersion?: string; metadata?: { name?: string; namespace?: string }; deleteOptions?: unknown };
    const answer = evictionAnswer(state, namespace, name, request);
    state.evictions.push({ pod: who, status: answer.code, deleteOptions: request.deleteOptions });
    return answer;
}

function evictionAnswer(
    state: DrainState,
    namespace: string,
    name: string,
    request: { kind?: string; apiVersion?: string; metadata?: { name?: string; namespace?: string } },
): Answer {
    if (request.kind !== "Eviction" || request.apiVersion !== "policy/v1") {
        return { code: 400, body: status(400, "BadRequest", `not a policy/v1 Eviction: ${request.apiVersion}/${request.kind}`) };
    }
    if (request.metadata?.name !== name) return { code: 400, body: status(400, "BadRequest", "name in URL does not match name in Eviction object") };
    const pod = state.pods.find((p) => p.metadata.name === name && p.metadata.namespace === namespace);
    if (pod === undefined) return { code: 404, body: status(404, "NotFound", `pods "${name}" not found`) };
    const phase = pod.status?.phase;
    const ignoresBudget = phase === "Succeeded" || phase === "Failed" || phase === "Pending" || pod.metadata.deletionTimestamp !== undefined;
    if (!ignoresBudget) {
        const budgets = state.pdbs.filter((b) => b.namespace === namespace && matches(b.matchLabels, pod.metadata.labels ?? {}));
        if (budgets.length > 1) {
            const message = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.";
            return { code: 500, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, code: 500 } };
        }
        const budget = budgets[0];
        if (budget !== undefined && budget.disruptionsAllowed <= 0) return refuse(budget);
        if (budget !== undefined) budget.disruptionsAllowed--;
    }
    deletePod(state, pod);
    return { code: 201, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 } };
}

/** 429 with the budget's cause, as checkAndDecrement answers; the controller may allow one later. */
function refuse(budget: FakePdb): Answer {
    budget.refusals = (budget.refusals ?? 0) + 1;
    const cause = `The disruption budget ${budget.name} needs ${budget.desiredHealthy} healthy pods and has ${budget.currentHealthy} currently`;
    if (budget.allowAfterRefusals !== undefined && budget.refusals >= budget.allowAfterRefusals) budget.disruptionsAllowed = 1;
    return {
        code: 429,
        body: {
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Failure",
            message: "Cannot evict pod as it would violate the pod's disruption budget.",
            reason: "TooManyRequests",
            details: { causes: [{ reason: "DisruptionBudget", message: cause }], retryAfterSeconds: 0 },
            code: 429,
        },
    };
}

/** Graceful deletion: a pod bound to a node and not finished is marked; any other goes at once. */
function deletePod(state: DrainState, pod: Pod): void {
    const finished = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
    if (pod.spec?.nodeName === undefined || finished) {
        state.pods.splice(state.pods.indexOf(pod), 1);
        return;
    }
    pod.metadata.deletionTimestamp ??= new Date().toISOString();
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
    return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

function status(code: number, reason: string, message: string) {
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}
