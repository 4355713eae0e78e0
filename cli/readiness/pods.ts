// Which pods count, and when one is ready, as Talos' pod assertion has it
// (talos@v1.8.3 and v1.13.9:pkg/cluster/check/kubernetes.go `K8sPodReadyAssertion`): pods being
// deleted, Failed pods (an evicted pod stays Failed until it is deleted) and pods whose
// containers have all terminated ("Completed": a Running phase left over from a graceful kubelet
// shutdown) are skipped; Succeeded pods too, since they have finished. A pod is ready when its
// Ready condition is True. Unlike Talos, a pod with no container status yet (just created) is
// counted, as not ready: Talos' loop skips it, which could declare a component ready before its
// pods have started.

import type { Pod } from "../kube/api";

/** Why a pod does not count, or undefined when it does. */
export function skippedBecause(pod: Pod): string | undefined {
    if (pod.metadata.deletionTimestamp !== undefined) return "being deleted";
    const phase = pod.status?.phase;
    if (phase === "Failed") return "Failed";
    if (phase === "Succeeded") return "Succeeded";
    const statuses = pod.status?.containerStatuses ?? [];
    if (statuses.length > 0 && statuses.every((c) => c.state?.terminated !== undefined)) return "Completed";
    return undefined;
}

export function counts(pod: Pod): boolean {
    return skippedBecause(pod) === undefined;
}

export function podReady(pod: Pod): boolean {
    return pod.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
}

/** "Pending: ContainerCreating", "Running: CrashLoopBackOff", … */
export function podWhy(pod: Pod): string {
    const phase = pod.status?.phase ?? "Unknown";
    const waiting = (pod.status?.containerStatuses ?? [])
        .map((c) => c.state?.waiting?.reason ?? c.state?.terminated?.reason)
        .filter((r): r is string => r !== undefined);
    if (waiting.length > 0) return `${phase}: ${[...new Set(waiting)].join(", ")}`;
    const cond = pod.status?.conditions?.find((c) => c.status !== "True" && c.reason);
    return cond?.reason ? `${phase}: ${cond.reason}` : phase;
}

/** What to read about a pod that is not ready. */
export function podAdvice(pod: Pod): string[] {
    const name = pod.metadata.name;
    return [`kubectl -n kube-system describe pod ${name}`, `kubectl -n kube-system logs ${name}`];
}
