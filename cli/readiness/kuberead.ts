// The Kubernetes side of readiness: one round of reads — /readyz, then the Nodes and the
// kube-system pods, DaemonSets and Deployments at once — on the kubeconfig's connection. A list
// that fails is kept as the reason; failures that waiting cannot fix (TLS, 401, 403) are thrown.

import { KubeRequestError, PATHS, type DaemonSet, type Deployment, type KubeApi, type List, type Node, type Pod } from "../kube/api";

/** One round's view of the cluster; a part is an error reason when it could not be read. */
export interface KubeObservation {
    api: { ok: true } | { ok: false; reason: string; timedOut?: boolean };
    nodes?: Node[] | string;
    /** kube-system */
    pods?: Pod[] | string;
    daemonSets?: DaemonSet[] | string;
    deployments?: Deployment[] | string;
}

/** Requests one round makes at most: /readyz and the four lists. */
export const KUBE_REQUESTS_PER_ROUND = 5;

/** One round. Rejects with a fatal KubeRequestError (TLS, 401/403): waiting cannot fix those. */
export async function observeKubernetes(api: KubeApi, timeoutMs: number): Promise<KubeObservation> {
    try {
        const readyz = await api.get(PATHS.readyz, timeoutMs);
        if (readyz.status !== 200) return { api: { ok: false, reason: `readyz ${readyz.status}${failedChecks(readyz.body)}` } };
        const [nodes, pods, daemonSets, deployments] = await Promise.all([
            list<Node>(api, PATHS.nodes, timeoutMs),
            list<Pod>(api, PATHS.kubeSystemPods, timeoutMs),
            list<DaemonSet>(api, PATHS.kubeSystemDaemonSets, timeoutMs),
            list<Deployment>(api, PATHS.kubeSystemDeployments, timeoutMs),
        ]);
        return { api: { ok: true }, nodes, pods, daemonSets, deployments };
    } catch (err) {
        if (err instanceof KubeRequestError && err.kind === "retryable") {
            return { api: { ok: false, reason: err.reason, timedOut: err.timedOut } };
        }
        throw err;
    }
}

/** The items, or why there are none. */
async function list<T>(api: KubeApi, path: string, timeoutMs: number): Promise<T[] | string> {
    try {
        const res = await api.get(path, timeoutMs);
        if (res.status !== 200) return `HTTP ${res.status}`;
        return (JSON.parse(res.body) as List<T>).items ?? [];
    } catch (err) {
        if (err instanceof KubeRequestError && err.kind === "retryable") return err.reason;
        if (err instanceof SyntaxError) return "not JSON";
        throw err;
    }
}

/** kube-apiserver lists failed checks as "[-]etcd failed: reason withheld". */
function failedChecks(body: string): string {
    const failed = body.split("\n").filter((l) => l.startsWith("[-]")).map((l) => l.slice(3).replace(/ failed.*$/, ""));
    return failed.length > 0 ? ` (failing: ${failed.join(", ")})` : "";
}
