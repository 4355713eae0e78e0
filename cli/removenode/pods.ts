// Which pods on a leaving node are evicted, as `kubectl drain` chooses them
// (k8s.io/kubectl@v0.31.14 pkg/drain/filters.go `makeFilters`: daemonSetFilter, mirrorPodFilter,
// localStorageFilter, unreplicatedFilter, in that order), with the flags that fit a node that
// leaves the cluster for good, its container and volumes removed right after:
// - `--ignore-daemonsets`: a DaemonSet's pod stays (its controller would put it back at once, and
//   it goes with the Node). kubectl first reads the DaemonSet and evicts an orphan only with
//   --force; we leave every DaemonSet-owned pod in place: when the Node object is deleted the
//   pod garbage collector deletes its pods (k8s.io/kubernetes@v1.31.1
//   pkg/controller/podgc/gc_controller.go `gcOrphaned`: "pods that are bound to nodes that don't exist").
// - mirror pods (annotation `kubernetes.io/config.mirror`: the kubelet's static pods, Talos'
//   control-plane components) are skipped, as kubectl always does: the API cannot evict what the
//   kubelet runs from files.
// - `--delete-emptydir-data`: a pod with an emptyDir volume is evicted; its data lives on the
//   node's disk, which is deleted with the node anyway.
// - `--force`: a pod no controller owns is evicted too; it would die with the node, and kubectl
//   without --force would refuse the whole drain.
// - a finished pod (Succeeded or Failed: a completed Job's, an evicted one) is left alone: it runs
//   nothing, no budget counts it, and the pod garbage collector deletes it with the Node as it does
//   the DaemonSet pods (kubectl would delete it; its logs and status would go sooner for nothing).
// The grace period is each pod's own (kubectl's default `--grace-period -1`).

import type { OwnerReference, Pod } from "../kube/api";

/** k8s.io/api/core/v1 annotation_key_constants.go `MirrorPodAnnotationKey`. */
export const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

export type SkipReason = "daemonset" | "mirror" | "finished";

export interface DrainPlan {
    /** the pods to evict */
    evict: Pod[];
    /** the pods left in place, and why */
    skipped: { pod: Pod; why: SkipReason }[];
    /** evicted although no controller owns them (kubectl: "deleting Pods that declare no controller") */
    unmanaged: Pod[];
    /** evicted with their emptyDir data (kubectl: "deleting Pods with local storage") */
    localStorage: Pod[];
}

/** `namespace/name`, as kubectl names pods in its messages. */
export function podName(pod: Pod): string {
    return `${pod.metadata.namespace ?? "default"}/${pod.metadata.name}`;
}

/** The pods' names, comma-separated. */
export function podNames(pods: readonly Pod[]): string {
    return pods.map(podName).join(", ");
}

export function planDrain(pods: readonly Pod[]): DrainPlan {
    const plan: DrainPlan = { evict: [], skipped: [], unmanaged: [], localStorage: [] };
    for (const pod of pods) {
        const finished = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
        if (finished) {
            plan.skipped.push({ pod, why: "finished" });
            continue;
        }
        const controller = controllerOf(pod);
        if (controller?.kind === "DaemonSet") {
            plan.skipped.push({ pod, why: "daemonset" });
            continue;
        }
        if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) {
            plan.skipped.push({ pod, why: "mirror" });
            continue;
        }
        if ((pod.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined)) plan.localStorage.push(pod);
        if (controller === undefined) plan.unmanaged.push(pod);
        plan.evict.push(pod);
    }
    return plan;
}

/** The owner reference marked controller (k8s.io/apimachinery metav1.GetControllerOf). */
function controllerOf(pod: Pod): OwnerReference | undefined {
    return pod.metadata.ownerReferences?.find((ref) => ref.controller === true);
}
