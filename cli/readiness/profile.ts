// What the cluster's config says of the components readiness waits for, as far as the caller
// knows it: the program passes what the config deploys (`wait --cni … --kube-proxy … --coredns
// …`); a field left out is judged by what the cluster shows, as Talos' own checks do (a
// kube-proxy DaemonSet or CoreDNS Deployment that is absent is skipped).

import type { CniName } from "../../talos/config/components";

export interface ClusterProfile {
    /** the config's CNI; undefined: flannel is checked when its DaemonSet exists */
    cni?: CniName;
    /** the config deploys kube-proxy; undefined: checked when its DaemonSet exists */
    kubeProxy?: boolean;
    /** the config deploys CoreDNS; undefined: checked when its Deployment exists */
    coreDns?: boolean;
}

/** The config key behind each field, for the lines that say why something is not checked. */
export const PROFILE_KEYS = {
    cni: "cluster.network.cni.name",
    kubeProxy: "cluster.proxy.disabled",
    coreDns: "cluster.coreDNS.disabled",
} as const;
