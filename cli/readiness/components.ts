// The Kubernetes objects readiness looks for, as Talos names and labels them: the kube-system
// workloads it deploys (by their `k8s-app` label, the selectors of
// talos@v1.8.3:pkg/cluster/check/default.go), the control-plane static pods, and the label that
// marks a control-plane Node.

/** A kube-system workload Talos deploys, found by its `k8s-app` label. */
export interface SystemWorkload {
    /** as the progress lines name it */
    name: string;
    /** the `k8s-app` label of the workload and its pods */
    app: string;
    kind: "DaemonSet" | "Deployment";
    /** its object's name in kube-system */
    objectName: string;
}

// DaemonSet kube-proxy (talos@v1.8.3:internal/app/machined/pkg/controllers/k8s/templates/
// kube-proxy-template.yaml; v1.13.9: …/k8s/internal/k8stemplates/testdata/kube-proxy-daemonset.yaml).
export const KUBE_PROXY: SystemWorkload = { name: "kube-proxy", app: "kube-proxy", kind: "DaemonSet", objectName: "kube-proxy" };

// Deployment coredns, 2 replicas (…/templates/core-dns-template.yaml; v1.13.9: coredns-deployment.yaml).
export const COREDNS: SystemWorkload = { name: "CoreDNS", app: "kube-dns", kind: "Deployment", objectName: "coredns" };

// DaemonSet kube-flannel, Talos' default CNI (talos@v1.8.3:pkg/flannel/template.go; v1.13.9: flannel-daemonset.yaml).
export const FLANNEL: SystemWorkload = { name: "flannel", app: "flannel", kind: "DaemonSet", objectName: "kube-flannel" };

/**
 * The static pods every control plane runs, by `k8s-app` label; the kubelet mirrors each as
 * `<app>-<node name>` (talos@v1.8.3:internal/app/machined/pkg/controllers/k8s/
 * control_plane_static_pod.go), and Talos' check wants all three on every control plane
 * (pkg/cluster/check/kubernetes.go `K8sControlPlaneStaticPods`, `K8sFullControlPlaneAssertion`).
 */
export const CONTROL_PLANE_PODS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;

/** The label Talos puts on control-plane Nodes (pkg/machinery/constants `LabelNodeRoleControlPlane`). */
export const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";

/** The Talos services whose health Talos' checks wait for on the control planes. */
export const ETCD_SERVICE = "etcd";
export const KUBELET_SERVICE = "kubelet";
