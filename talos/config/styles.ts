// Which document a setting goes to, per the version contract's styles: one exhaustive switch per
// style, so every section asks the same question the same way.

import type { DiscoveryStyle, HostDnsStyle, KubernetesConfigStyle } from "../versions";

/** Kubernetes is configured in the v1alpha1 document (else in `Kube…Config` documents). */
export function kubernetesInV1alpha1(style: KubernetesConfigStyle): boolean {
    switch (style) {
        case "v1alpha1":
            return true;
        case "kubeDocuments":
            return false;
        default: {
            const unreachable: never = style;
            throw new Error(`unknown Kubernetes config style ${String(unreachable)}`);
        }
    }
}

/** The discovery service and the cluster's identity are in the v1alpha1 `cluster` section. */
export function discoveryInV1alpha1(style: DiscoveryStyle): boolean {
    switch (style) {
        case "v1alpha1Cluster":
            return true;
        case "discoveryDocuments":
            return false;
        default: {
            const unreachable: never = style;
            throw new Error(`unknown discovery style ${String(unreachable)}`);
        }
    }
}

/** Host DNS is switched on in `machine.features.hostDNS` (else in a ResolverConfig document). */
export function hostDnsInV1alpha1(style: HostDnsStyle): boolean {
    switch (style) {
        case "machineFeatures":
            return true;
        case "resolverConfigDocument":
            return false;
        default: {
            const unreachable: never = style;
            throw new Error(`unknown host DNS style ${String(unreachable)}`);
        }
    }
}
