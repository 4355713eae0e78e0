// The little of the Kubernetes API that `wait` reads, as an interface (tests and benches can
// stand in for it) and the wire shapes of the objects, only the fields we use
// (k8s.io/api/core/v1 types.go: Node, Pod and their statuses, in their JSON names).

export interface KubeResponse {
    status: number;
    body: string;
}

export interface KubeApi {
    /** the API server URL from the kubeconfig */
    readonly server: string;
    /** GET a path; resolves with any HTTP status, rejects with a KubeRequestError when there is none */
    get(path: string, timeoutMs: number): Promise<KubeResponse>;
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
}

export interface Node {
    metadata: ObjectMeta;
    status?: { conditions?: Condition[]; addresses?: { type: string; address: string }[] };
}

export interface ContainerStatus {
    name: string;
    ready: boolean;
    state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
}

export interface Pod {
    metadata: ObjectMeta;
    spec?: { nodeName?: string };
    status?: { phase?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[] };
}

export interface List<T> {
    items: T[];
}

export const PATHS = {
    readyz: "/readyz",
    nodes: "/api/v1/nodes",
    kubeSystemPods: "/api/v1/namespaces/kube-system/pods",
} as const;
