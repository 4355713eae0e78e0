// Cluster state written into a real kube-apiserver (tests/support/kube-apiserver.ts) the way the
// missing components would write it, for the tests and benches that drain nodes: Nodes registered
// and their status written as a kubelet writes it (a strategic merge patch of the `status`
// subresource: k8s.io/kubernetes@v1.31.1 pkg/kubelet/kubelet_node_status.go `updateNodeStatus`
// via PatchNodeStatus), pods bound to a node with their status patched as the kubelet's status
// manager patches it (pkg/kubelet/status/status_manager.go `syncPod`), PodDisruptionBudgets with
// the status the disruption controller keeps (pkg/controller/disruption/disruption.go), and a
// kubelet stand-in that confirms terminated pods (the kubelet deletes a terminating pod with grace
// period 0 once its containers stopped: status_manager.go `canBeDeleted` then Delete).
// Every request goes through our own client (cli/kube/client.ts) with the admin kubeconfig.

import { randomUUID } from "node:crypto";

import { nodePath, podPath, STRATEGIC_MERGE_PATCH, type KubeApi, type KubeResponse, type List, type Pod } from "../../cli/kube/api";

const CALL_MS = 10_000;
const MERGE_PATCH = "application/merge-patch+json";

/** Fails unless the API answered one of `ok`, naming the request. */
export function expectStatus(res: KubeResponse, what: string, ...ok: number[]): KubeResponse {
    if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    return res;
}

/**
 * The namespace's `default` ServiceAccount, which the controller manager's service account
 * controller would make: the ServiceAccount admission plugin refuses a pod without it.
 */
export async function ensureDefaultServiceAccount(api: KubeApi, namespace: string): Promise<void> {
    const body = JSON.stringify({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace } });
    expectStatus(await api.post(`/api/v1/namespaces/${namespace}/serviceaccounts`, body, CALL_MS), `ServiceAccount ${namespace}/default`, 201, 409);
}

/** A Node as a kubelet registers it, then its status: the address and Ready. */
export async function registerNode(api: KubeApi, name: string, ip: string): Promise<void> {
    const node = { apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name } } };
    expectStatus(await api.post("/api/v1/nodes", JSON.stringify(node), CALL_MS), `creating Node ${name}`, 201);
    const now = new Date().toISOString();
    const status = {
        status: {
            addresses: [{ type: "InternalIP", address: ip }, { type: "Hostname", address: name }],
            conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: now, lastTransitionTime: now }],
        },
    };
    expectStatus(await api.patch(`${nodePath(name)}/status`, JSON.stringify(status), STRATEGIC_MERGE_PATCH, CALL_MS), `Node ${name} status`, 200);
}

export interface PodSpec {
    name: string;
    namespace?: string;
    node: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    /** the controller: "ReplicaSet/web-7d4b9" */
    owner?: string;
    emptyDir?: boolean;
    /** default Running (and Ready) */
    phase?: "Running" | "Succeeded" | "Failed";
}

/** A pod bound to its node, then the status its kubelet reports. */
export async function runPod(api: KubeApi, spec: PodSpec): Promise<void> {
    const namespace = spec.namespace ?? "default";
    const [kind, owner] = spec.owner?.split("/") ?? [];
    const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            name: spec.name,
            namespace,
            labels: spec.labels,
            annotations: spec.annotations,
            ownerReferences: owner === undefined
                ? undefined
                : [{ apiVersion: "apps/v1", kind, name: owner, uid: randomUUID(), controller: true }],
        },
        spec: {
            nodeName: spec.node,
            containers: [{ name: "main", image: "registry.k8s.io/pause:3.10" }],
            volumes: spec.emptyDir === true ? [{ name: "scratch", emptyDir: {} }] : undefined,
        },
    };
    const path = `/api/v1/namespaces/${namespace}/pods`;
    expectStatus(await api.post(path, JSON.stringify(pod), CALL_MS), `creating pod ${namespace}/${spec.name}`, 201);
    const phase = spec.phase ?? "Running";
    const ready = phase === "Running" ? "True" : "False";
    const now = new Date().toISOString();
    const status = {
        status: {
            phase,
            hostIP: "127.0.0.1",
            conditions: [{ type: "Ready", status: ready, lastTransitionTime: now }],
            startTime: now,
        },
    };
    const statusPath = `${podPath(namespace, spec.name)}/status`;
    expectStatus(await api.patch(statusPath, JSON.stringify(status), STRATEGIC_MERGE_PATCH, CALL_MS), `pod ${spec.name} status`, 200);
}

/** A PodDisruptionBudget (minAvailable) with the status the disruption controller would write. */
export async function createPdb(api: KubeApi, namespace: string, name: string, matchLabels: Record<string, string>, minAvailable: number): Promise<void> {
    const pdb = { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name, namespace }, spec: { minAvailable, selector: { matchLabels } } };
    expectStatus(await api.post(`/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets`, JSON.stringify(pdb), CALL_MS), `creating PDB ${name}`, 201);
}

/** The disruption controller's status: healthy pods counted, disruptions allowed. */
export async function setPdbStatus(
    api: KubeApi,
    namespace: string,
    name: string,
    status: { disruptionsAllowed: number; currentHealthy: number; desiredHealthy: number; expectedPods: number },
): Promise<void> {
    // observedGeneration 1: the eviction API answers 429 to a budget whose status is older than its spec.
    const body = JSON.stringify({ status: { observedGeneration: 1, ...status } });
    const path = `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets/${name}/status`;
    expectStatus(await api.patch(path, body, MERGE_PATCH, CALL_MS), `PDB ${name} status`, 200);
}

/** The pods bound to `node`. */
export async function podsOn(api: KubeApi, node: string): Promise<Pod[]> {
    const res = expectStatus(await api.get(`/api/v1/pods?fieldSelector=spec.nodeName%3D${node}`, CALL_MS), `pods on ${node}`, 200);
    return (JSON.parse(res.body) as List<Pod>).items;
}

/**
 * The kubelets of every node: each pod marked for deletion is confirmed gone (deleted with grace
 * period 0), `delayMs` after it was first seen terminating.
 */
export class KubeletStandIn {
    private timer: NodeJS.Timeout | undefined;
    private readonly seen = new Map<string, number>();
    private busy = false;
    /** pods confirmed gone, as namespace/name */
    readonly confirmed: string[] = [];

    constructor(
        private readonly api: KubeApi,
        private readonly delayMs = 0,
        private readonly pollMs = 100,
    ) {}

    start(): void {
        this.timer = setInterval(() => void this.tick(), this.pollMs);
    }

    stop(): void {
        clearInterval(this.timer);
    }

    private async tick(): Promise<void> {
        if (this.busy) return;
        this.busy = true;
        try {
            const res = await this.api.get("/api/v1/pods", CALL_MS);
            if (res.status !== 200) return;
            const terminating = (JSON.parse(res.body) as List<Pod>).items.filter((p) => p.metadata.deletionTimestamp !== undefined);
            const now = Date.now();
            await Promise.all(terminating.map(async (pod) => {
                const key = `${pod.metadata.namespace ?? "default"}/${pod.metadata.name}`;
                const since = this.seen.get(key) ?? now;
                this.seen.set(key, since);
                if (now - since < this.delayMs) return;
                const path = `${podPath(pod.metadata.namespace ?? "default", pod.metadata.name)}?gracePeriodSeconds=0`;
                const gone = await this.api.delete(path, CALL_MS);
                if (gone.status === 200 || gone.status === 404) {
                    this.seen.delete(key);
                    this.confirmed.push(key);
                }
            }));
        } catch {
            // The API restarting or stopping: the next tick tries again.
        } finally {
            this.busy = false;
        }
    }
}
