// What the cluster's config implies for the readiness wait, decided here and nowhere else: the
// components Talos deploys for the control-plane config the nodes boot (the CNI, kube-proxy,
// CoreDNS; the `cluster` section that deploys them is the control planes'), read from the same
// input the program renders the config from. Pure.

import { clusterComponentsOf } from "../talos/machineconfig";
import type { ClusterComponents } from "../talos/config/components";
import type { ClusterSpec } from "./config";
import { machineConfigInput, rolePatches } from "./machineinput";

export function readinessComponents(spec: ClusterSpec): ClusterComponents {
    return clusterComponentsOf(machineConfigInput(spec, "controlplane", rolePatches(spec.configPatches, "controlplane")));
}
