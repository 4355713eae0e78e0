// Whether the control planes run workloads, as kind makes a cluster without workers: Talos taints
// a control plane NoSchedule unless `cluster.allowSchedulingOnControlPlanes` is true
// (talos@v1.8.3:internal/app/machined/pkg/controllers/k8s/node_taint_spec.go: the taint spec exists
// only while ScheduleOnControlPlanes() is false, and node_apply.go removes an owned taint whose
// spec is gone). Without workers, nothing else could run local-path-provisioner or an ingress. Pure.

import type { ConfigPatch } from "../talos/patches";

/**
 * The control planes take workloads when there are no workers, and keep taking them once they
 * did (`previously`: what the last run recorded, model/clusterchange.ts). Turning it off when
 * workers join would taint the control planes again: a pod bound to a local-path volume on one
 * of them could not be scheduled anywhere after its next restart, and the arrival of workers
 * would change the control planes' config and move ingress (replacing the first control plane's
 * container) instead of only adding nodes. A configPatches.controlPlane that sets the field
 * false still turns it off: it applies after this one.
 */
export function controlPlanesSchedulable(workers: number, previously = false): boolean {
    return workers === 0 || previously;
}

/** Our patch of the control-plane config when they take workloads: applied before the user's patches. */
export const SCHEDULE_ON_CONTROL_PLANES_PATCH: ConfigPatch = {
    kind: "strategic",
    documents: [{ cluster: { allowSchedulingOnControlPlanes: true } }],
};
