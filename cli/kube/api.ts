// The little of the Kubernetes API the commands use — `wait` and `status` read (nodes and the
// kube-system pods, DaemonSets and Deployments), `apply` reads static pods and nodes, `manifests`
// patches the kube-proxy DaemonSet, `remove-node` cordons, evicts and deletes — as an interface
// (tests and benches can stand in for it) and the wire shapes of the objects, only the fields we
// use (k8s.io/api/core/v1, apps/v1 and policy/v1 types.go, k8s.io/apimachinery/pkg/apis/meta/v1
// types.go: Node, Pod, DaemonSet, Deployment, Status, in their JSON names).

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
    /** POST a JSON `body` to a path (an Eviction to a pod's eviction subresource); as `get` */
    post(path: string, body: string, timeoutMs: number): Promise<KubeResponse>;
    /** DELETE a path; as `get` */
    delete(path: string, timeoutMs: number): Promise<KubeResponse>;
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

export interface OwnerReference {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
}

export interface ObjectMeta {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
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

/** A pod volume: only whether it is an emptyDir matters to us. */
export interface Volume {
    name: string;
    emptyDir?: object;
}

export interface Pod {
    metadata: ObjectMeta;
    spec?: { nodeName?: string; containers?: Container[]; volumes?: Volume[] };
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
    /** set when the server holds more items than the list's `limit` (ask again with `continue`) */
    metadata?: { continue?: string };
}

/** meta/v1 Status: what the API answers a request it does not carry out. */
export interface KubeStatus {
    kind?: "Status";
    message?: string;
    reason?: string;
    code?: number;
    /** a cause's Go field Type is `reason` in JSON (apimachinery meta/v1 types.go StatusCause) */
    details?: { causes?: { reason?: string; message?: string }[] };
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

/** A Node by name. */
export function nodePath(name: string): string {
    return `${PATHS.nodes}/${encodeURIComponent(name)}`;
}

/** A pod by namespace and name. */
export function podPath(namespace: string, name: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
}

/**
 * The pods bound to a node, in every namespace, a page of `limit` at a time (the field selector
 * and page size kubectl drain lists them with: k8s.io/kubectl@v0.31.14 pkg/drain/drain.go
 * `GetPodsForDeletion`, `cmdutil.DefaultChunkSize` 500).
 */
export function podsOnNodePath(nodeName: string, continueToken?: string, limit = 500): string {
    const query = new URLSearchParams({ fieldSelector: `spec.nodeName=${nodeName}`, limit: String(limit) });
    if (continueToken !== undefined) query.set("continue", continueToken);
    return `/api/v1/pods?${query.toString()}`;
}

/** The content type of a strategic merge patch (k8s.io/apimachinery/pkg/types/patch.go StrategicMergePatchType). */
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
