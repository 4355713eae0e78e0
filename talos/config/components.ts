// Which of the Kubernetes components Talos deploys itself a config asks for: the CNI
// (`cluster.network.cni.name`), kube-proxy (`cluster.proxy.disabled`) and CoreDNS
// (`cluster.coreDNS.disabled`), read as Talos reads them (talos@v1.8.3 and v1.13.9:
// pkg/machinery/config/types/v1alpha1/v1alpha1_clusterconfig.go `CNI`: no cni → flannel;
// v1alpha1_proxyconfig.go `Enabled`; v1alpha1_provider.go `CoreDNS.Enabled`). The readiness
// wait follows them: a cluster without Talos' flannel has no flannel pods to wait for, one
// without a CNI has nodes that stay NotReady until the user installs one.

import { v1alpha1Document, valueAt as at } from "./containermode";

/** Talos' CNI names (pkg/machinery/constants FlannelCNI, CustomCNI, NoneCNI). */
export const CNI_NAMES = ["flannel", "custom", "none"] as const;

export type CniName = (typeof CNI_NAMES)[number];

export interface ClusterComponents {
    /** flannel: Talos deploys it; custom: Talos applies the config's CNI manifests; none: no CNI at all */
    cni: CniName;
    kubeProxy: boolean;
    coreDns: boolean;
}

/** The components of the (patched) control-plane config's `cluster` section. */
export function clusterComponents(documents: readonly unknown[]): ClusterComponents {
    const cluster = at(v1alpha1Document(documents), ["cluster"]);
    return {
        cni: cniName(at(cluster, ["network", "cni", "name"])),
        kubeProxy: at(cluster, ["proxy", "disabled"]) !== true,
        coreDns: at(cluster, ["coreDNS", "disabled"]) !== true,
    };
}

/** A name Talos' validation accepts, else flannel (what Talos runs without a `cni` section). */
function cniName(value: unknown): CniName {
    switch (value) {
        case "custom":
        case "none":
            return value;
        default:
            return "flannel";
    }
}
