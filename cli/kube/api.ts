// The little of the Kubernetes API the commands use — `wait` and `status` read (nodes and the
// kube-system pods, DaemonSets and Deployments), `apply` reads
// static pods and nodes, `manifests` patches the kube-proxy DaemonSet — as an interface (tests
// and benches can stand in for it) and the wire shapes of the objects, only the fields we use
// (k8s.io/api/core/v1 and apps/v1 types.go: Node, Pod, DaemonSet, in their JSON names).

export interface KubeResponse {
    status: number;
    body: string;
}

export interface KubeApi {
    /** the API server URL from the kubeconfig */
    readonly server: string;
    /** GET a path; resolves with any HTTP status, rejects with a KubeRequestError when there is none */
    get(path: string, timeoutMs: number): Promise<KubeResponse>;
    /**
     * PATCH a path with `body` of `contentType` (a strategic merge patch:
     * application/strategic-merge-patch+json); resolves and rejects as `get` does.
     */
    patch(path: string, body: string, contentType: string, timeoutMs: number): Promise<KubeResponse>;
    close(): void;
}

/** No HTTP answer, or one that waiting cannot change (401/403). `message` holds no secrets. */
export class KubeRequestError extends Error {
    constructor(
        readonly kind: "retryable" | "fatal",
        /** short, for progress lines */
        readonly reason: string,
        message: string,
        /** the request's own deadline passed */
        readonly timedOut = false,
    ) {
        super(message);
        this.name = "KubeRequestError";
    }
}

export interface Condition {
    type: string;
    status: "True" | "False" | "Unknown";
    reason?: string;
    message?: string;
}

export interface ObjectMeta {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    generation?: number;
}

export interface Node {
    metadata: ObjectMeta;
    /** unschedulable: cordoned */
    spec?: { unschedulable?: boolean };
    status?: {
        conditions?: Condition[];
        addresses?: { type: string; address: string }[];
        /** what the kubelet reports of itself: kubeletVersion is "v1.31.1" */
        nodeInfo?: { kubeletVersion?: string };
    };
}

export interface Container {
    name: string;
    image?: string;
}

export interface ContainerStatus {
    name: string;
    ready: boolean;
    state?: { waiting?: { reason?: string }; running?: { startedAt?: string }; terminated?: { reason?: string } };
}

export interface Pod {
    metadata: ObjectMeta;
    spec?: { nodeName?: string; containers?: Container[] };
    status?: { phase?: string; hostIP?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[] };
}

/** apps/v1 DaemonSet: the pod template's containers and the rollout counters. */
export interface DaemonSet {
    metadata: ObjectMeta;
    spec?: { template?: { spec?: { containers?: Container[] } } };
    status?: {
        observedGeneration?: number;
        desiredNumberScheduled?: number;
        currentNumberScheduled?: number;
        updatedNumberScheduled?: number;
        numberAvailable?: number;
        numberReady?: number;
    };
}

/** apps/v1 Deployment: how many replicas it asks for. */
export interface Deployment {
    metadata: ObjectMeta;
    spec?: { replicas?: number };
}

export interface List<T> {
    items: T[];
}

export const PATHS = {
    readyz: "/readyz",
    nodes: "/api/v1/nodes",
    kubeSystemPods: "/api/v1/namespaces/kube-system/pods",
    kubeSystemDaemonSets: "/apis/apps/v1/namespaces/kube-system/daemonsets",
    kubeSystemDeployments: "/apis/apps/v1/namespaces/kube-system/deployments",
} as const;

/** The kube-system pods with label `k8s-app=<app>` (how Talos labels its static pods and kube-proxy). */
export function kubeSystemPodsOf(app: string): string {
    return `${PATHS.kubeSystemPods}?labelSelector=${encodeURIComponent(`k8s-app=${app}`)}`;
}

/** A DaemonSet in a namespace. */
export function daemonSetPath(namespace: string, name: string): string {
    return `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/daemonsets/${encodeURIComponent(name)}`;
}

/** The content type of a strategic merge patch (k8s.io/apimachinery/pkg/types/patch.go StrategicMergePatchType). */
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
