// What a readiness check says: it holds, it is waited for (with each problem and the logs to read
// for it), it could not be judged yet, or it does not apply to this cluster (and why).

/** The Talos-side checks, in the order Talos runs them (talos@v1.8.3:pkg/cluster/check/default.go). */
export const TALOS_CHECK_IDS = [
    "etcd-healthy",
    "etcd-consistent",
    "etcd-control-planes",
    "apid-ready",
    "kubelet-healthy",
    "nodes-booted",
] as const;

/** The Kubernetes-side checks, which Talos runs after them. */
export const KUBE_CHECK_IDS = [
    "api-ready",
    "nodes-reported",
    "static-pods",
    "control-plane-ready",
    "nodes-ready",
    "kube-proxy",
    "coredns",
    "cni",
    "nodes-schedulable",
] as const;

/** Every check, in Talos' order. */
export const CHECK_IDS = [...TALOS_CHECK_IDS, ...KUBE_CHECK_IDS] as const;

export type CheckId = (typeof CHECK_IDS)[number];

/**
 * ok: it holds. waiting: it does not yet (see problems). pending: not judged, because what it
 * reads could not be read (the API is down, a list failed). skipped: it does not apply.
 */
export type CheckState = "ok" | "waiting" | "pending" | "skipped";

/** One thing that is not ready, and what to read about it. */
export interface Problem {
    text: string;
    /** the node it is about, when there is one */
    node?: string;
    /** the nodes it is about, when there are several */
    nodes?: string[];
    /** the commands to run next: logs to read, objects to describe; never empty */
    read: string[];
}

export interface CheckResult {
    id: CheckId;
    /** what is waited for, in Talos' words: "etcd to be healthy" */
    title: string;
    state: CheckState;
    /** ok: what holds ("3/3 Ready"); waiting/pending: why not, short; skipped: why */
    detail: string;
    problems: Problem[];
}

export function ok(id: CheckId, title: string, detail: string): CheckResult {
    return { id, title, state: "ok", detail, problems: [] };
}

export function skipped(id: CheckId, title: string, why: string): CheckResult {
    return { id, title, state: "skipped", detail: why, problems: [] };
}

export function pending(id: CheckId, title: string, why: string): CheckResult {
    return { id, title, state: "pending", detail: why, problems: [] };
}

/** Waiting on `problems` (at least one); `detail` defaults to the first problem. */
export function waiting(id: CheckId, title: string, problems: Problem[], detail?: string): CheckResult {
    return { id, title, state: "waiting", detail: detail ?? problems[0]?.text ?? "not yet", problems };
}

/** Kubelet and apid messages run long; a problem stays one readable line. */
export function clip(text: string, max = 240): string {
    const one = text.replace(/\s+/g, " ").trim();
    return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
