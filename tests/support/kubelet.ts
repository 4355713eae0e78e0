// Plays the kubelets and controllers a real cluster has, against the real kube-apiserver of the
// tests (tests/support/kube-apiserver.ts), which runs without either: Node and Pod objects are
// created as a kubelet creates them, and their status is written as a kubelet writes it, a
// strategic merge patch on the status subresource (k8s.io/kubernetes@v1.31.1
// pkg/kubelet/kubelet_node_status.go, pkg/kubelet/status/status_manager.go); a DaemonSet's
// counts as its controller writes them. Pods are deleted at once (grace period 0): no kubelet
// would ever confirm a graceful deletion.

import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";

import { STRATEGIC_MERGE_PATCH, type KubeApi } from "../../cli/kube/api";
import { kubeClientFromKubeconfig } from "../../cli/kube/client";

const NS = "kube-system";
const MERGE_PATCH = "application/merge-patch+json";
/** kubelet's NotReady condition while the CNI is not up (kubelet_node_status.go, runtime network check). */
export const CNI_NOT_READY = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";

export type PodState = "ready" | "creating" | "crashing" | "failed" | "succeeded";

export class Kubelets {
    private constructor(
        private readonly core: CoreV1Api,
        private readonly apps: AppsV1Api,
        private readonly raw: KubeApi,
    ) {}

    static async connect(kubeconfig: string): Promise<Kubelets> {
        const kc = new KubeConfig();
        kc.loadFromString(kubeconfig);
        const kubelets = new Kubelets(kc.makeApiClient(CoreV1Api), kc.makeApiClient(AppsV1Api), await kubeClientFromKubeconfig(kubeconfig));
        // The ServiceAccount admission wants the namespace's default account, which the
        // controller manager would have made.
        await kubelets.core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: "default" } } }).catch(() => undefined);
        return kubelets;
    }

    close(): void {
        this.raw.close();
    }

    /** A kubelet registering its node: the Node, then its first status (NotReady until the CNI is up). */
    async registerNode(name: string, ip: string, controlPlane = false): Promise<void> {
        const labels: Record<string, string> = { "kubernetes.io/hostname": name };
        if (controlPlane) labels["node-role.kubernetes.io/control-plane"] = "";
        await this.core.createNode({ body: { metadata: { name, labels } } });
        await this.nodeStatus(name, {
            addresses: [{ type: "InternalIP", address: ip }, { type: "Hostname", address: name }],
            conditions: [{ type: "Ready", status: "False", reason: "KubeletNotReady", message: CNI_NOT_READY, lastHeartbeatTime: now(), lastTransitionTime: now() }],
            nodeInfo: { kubeletVersion: "v1.31.1" },
        });
    }

    async setNodeReady(name: string): Promise<void> {
        await this.nodeStatus(name, { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: now(), lastTransitionTime: now() }] });
    }

    async cordon(name: string, unschedulable = true): Promise<void> {
        await this.patch(`/api/v1/nodes/${name}`, { spec: { unschedulable } });
    }

    /** A pod bound to `node`, in `state`, as its kubelet reports it. */
    async runPod(name: string, app: string, node: string, state: PodState): Promise<void> {
        const body: V1Pod = {
            metadata: { name, namespace: NS, labels: { "k8s-app": app } },
            spec: { nodeName: node, containers: [{ name: app, image: `registry.k8s.io/${app}:test` }] },
        };
        await this.core.createNamespacedPod({ namespace: NS, body });
        await this.podState(name, app, state);
    }

    async podState(name: string, app: string, state: PodState): Promise<void> {
        await this.patch(`/api/v1/namespaces/${NS}/pods/${name}/status`, { status: podStatus(app, state) });
    }

    /** A DaemonSet as Talos deploys it, with the counts its controller writes. */
    async daemonSet(name: string, app: string, desired: number): Promise<void> {
        const labels = { "k8s-app": app };
        await this.apps.createNamespacedDaemonSet({
            namespace: NS,
            body: {
                metadata: { name, labels },
                spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: app, image: `registry.k8s.io/${app}:test` }] } } },
            },
        });
        const counts = { desiredNumberScheduled: desired, currentNumberScheduled: desired, numberReady: desired, numberMisscheduled: 0 };
        await this.raw.patch(`/apis/apps/v1/namespaces/${NS}/daemonsets/${name}/status`, JSON.stringify({ status: counts }), MERGE_PATCH, 5000).then(check);
    }

    async deployment(name: string, app: string, replicas: number): Promise<void> {
        const labels = { "k8s-app": app };
        await this.apps.createNamespacedDeployment({
            namespace: NS,
            body: {
                metadata: { name, labels },
                spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: app, image: `registry.k8s.io/${app}:test` }] } } },
            },
        });
    }

    /** Everything the tests made: Nodes, kube-system pods, DaemonSets, Deployments. */
    async reset(): Promise<void> {
        await Promise.all([
            this.core.deleteCollectionNode({}),
            this.core.deleteCollectionNamespacedPod({ namespace: NS, gracePeriodSeconds: 0 }),
            this.apps.deleteCollectionNamespacedDaemonSet({ namespace: NS }),
            this.apps.deleteCollectionNamespacedDeployment({ namespace: NS }),
        ]);
    }

    private async nodeStatus(name: string, status: object): Promise<void> {
        await this.patch(`/api/v1/nodes/${name}/status`, { status });
    }

    private async patch(path: string, body: object): Promise<void> {
        check(await this.raw.patch(path, JSON.stringify(body), STRATEGIC_MERGE_PATCH, 5000));
    }
}

function check(res: { status: number; body: string }): void {
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 300)}`);
}

function now(): string {
    return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/** The status a kubelet reports for a pod in `state`. */
function podStatus(app: string, state: PodState): object {
    const time = now();
    const condition = (ready: boolean, reason?: string) => [
        { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: time, ...(reason === undefined ? {} : { reason }) },
        { type: "ContainersReady", status: ready ? "True" : "False", lastTransitionTime: time },
    ];
    const container = (ready: boolean, containerState: object) => [{ name: app, ready, restartCount: 0, image: `registry.k8s.io/${app}:test`, imageID: "", state: containerState }];
    switch (state) {
        case "ready":
            return { phase: "Running", conditions: condition(true), containerStatuses: container(true, { running: { startedAt: time } }) };
        case "creating":
            return { phase: "Pending", conditions: condition(false, "ContainersNotReady"), containerStatuses: container(false, { waiting: { reason: "ContainerCreating" } }) };
        case "crashing":
            return { phase: "Running", conditions: condition(false, "ContainersNotReady"), containerStatuses: container(false, { waiting: { reason: "CrashLoopBackOff" } }) };
        case "failed":
            // An evicted pod: Failed, its container terminated, kept until someone deletes it.
            return { phase: "Failed", reason: "Evicted", message: "The node was low on resource: memory.", conditions: condition(false, "PodFailed"), containerStatuses: container(false, { terminated: { exitCode: 137, reason: "Error", startedAt: time, finishedAt: time } }) };
        case "succeeded":
            return { phase: "Succeeded", conditions: condition(false, "PodCompleted"), containerStatuses: container(false, { terminated: { exitCode: 0, reason: "Completed", startedAt: time, finishedAt: time } }) };
        default: {
            const never: never = state;
            throw new Error(`unknown pod state ${String(never)}`);
        }
    }
}
