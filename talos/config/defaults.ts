// Fixed values of Talos' generator, the same at every minor we support (checked at v1.8.3,
// v1.13.9 and v1.14.1; the documents of v1.14 at v1.14.1). Sources:
// talos@TAG:pkg/machinery/constants/constants.go unless said otherwise.

/** constants.KubeletImage */
export const KUBELET_IMAGE = "ghcr.io/siderolabs/kubelet";
/** constants.KubernetesAPIServerImage, KubernetesControllerManagerImage, KubeProxyImage, KubernetesSchedulerImage */
export const API_SERVER_IMAGE = "registry.k8s.io/kube-apiserver";
export const CONTROLLER_MANAGER_IMAGE = "registry.k8s.io/kube-controller-manager";
export const PROXY_IMAGE = "registry.k8s.io/kube-proxy";
export const SCHEDULER_IMAGE = "registry.k8s.io/kube-scheduler";

/** generate.DefaultOptions: DNSDomain. */
export const DNS_DOMAIN = "cluster.local";
/**
 * constants.DefaultIPv4PodNet / DefaultIPv4ServiceNet. `generate.NewInput` would pick the IPv6
 * ones only if the endpoint parsed as a bare IPv6 address, which a URL never does.
 */
export const POD_SUBNETS: readonly string[] = ["10.244.0.0/16"];
export const SERVICE_SUBNETS: readonly string[] = ["10.96.0.0/12"];

/** constants.DefaultKubePrismPort */
export const KUBE_PRISM_PORT = 7445;

/** constants.LabelExcludeFromExternalLB, put on control planes (contract.go `AddExcludeFromExternalLoadBalancer`). */
export const EXCLUDE_FROM_EXTERNAL_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";

/** The image of a Kubernetes component: `<repository>:v<version>` (generate/init.go). */
export function kubernetesImage(repository: string, kubernetesVersion: string): string {
    return `${repository}:v${kubernetesVersion}`;
}

/**
 * The PodSecurity admission plugin config every controlplane gets (talos@v1.8.3:pkg/machinery/config/generate/init.go,
 * contract.go `PodSecurityAdmissionEnabled`). Keys sorted: Talos encodes this map with sorted keys.
 */
export function podSecurityAdmission(): Record<string, unknown> {
    return {
        name: "PodSecurity",
        configuration: {
            apiVersion: "pod-security.admission.config.k8s.io/v1alpha1",
            defaults: {
                audit: "restricted",
                "audit-version": "latest",
                enforce: "baseline",
                "enforce-version": "latest",
                warn: "restricted",
                "warn-version": "latest",
            },
            exemptions: { namespaces: ["kube-system"], runtimeClasses: [], usernames: [] },
            kind: "PodSecurityConfiguration",
        },
    };
}

/** v1alpha1.APIServerDefaultAuditPolicy (talos@v1.8.3:pkg/machinery/config/types/v1alpha1/v1alpha1_apiserverconfig.go). */
export function defaultAuditPolicy(): Record<string, unknown> {
    return { apiVersion: "audit.k8s.io/v1", kind: "Policy", rules: [{ level: "Metadata" }] };
}

/**
 * Host DNS on, forwarding kube-dns to the host (contract.go HostDNSEnabled > 1.6,
 * HostDNSForwardKubeDNSToHost > 1.7; talosctl asks for it anyway for Docker, docker.go
 * `GenOptions`): container-mode validation requires both
 * (talos@v1.8.3:pkg/machinery/config/types/v1alpha1/v1alpha1_validation.go). In
 * `machine.features.hostDNS` up to v1.13, in a ResolverConfig document's `hostDNS` from v1.14.
 */
export function hostDns(): { enabled: boolean; forwardKubeDNSToHost: boolean } {
    return { enabled: true, forwardKubeDNSToHost: true };
}

/** constants.LabelNodeRoleControlPlane: the control plane's node label and the key of its taint. */
export const CONTROL_PLANE_ROLE = "node-role.kubernetes.io/control-plane";

/** constants.TaintEffectNoSchedule */
export const NO_SCHEDULE = "NoSchedule";

/** constants.DefaultDiscoveryServiceEndpoint; the document's name is "default" (generate/init.go). */
export const DISCOVERY_SERVICE_ENDPOINT = "https://discovery.talos.dev/";

/** constants.EphemeralPartitionLabel */
export const EPHEMERAL_VOLUME = "EPHEMERAL";

/** constants.DefaultFilesystemTrimInterval (7 × 24 h), as Go's time.Duration writes it. */
export const FILESYSTEM_TRIM_INTERVAL = "168h0m0s";

/** constants.FlannelDefaultBackend, FlannelDefaultBackendPort */
export const FLANNEL_BACKEND = { type: "vxlan", port: 4789 } as const;

/**
 * k8s.DefaultAuthenticationConfig (talos@v1.14.1:pkg/machinery/config/types/k8s/authentication.go):
 * anonymous access only to the health endpoints. Keys sorted, as Talos encodes the map.
 */
export function defaultAuthentication(): Record<string, unknown> {
    return {
        anonymous: { conditions: [{ path: "/livez" }, { path: "/readyz" }, { path: "/healthz" }], enabled: true },
        jwt: [],
    };
}

/** k8s.DefaultAuthorizationConfig (talos@v1.14.1:pkg/machinery/config/types/k8s/authorization.go), in its order. */
export const DEFAULT_AUTHORIZERS: readonly { name: string; type: string }[] = [
    { name: "node", type: "Node" },
    { name: "rbac", type: "RBAC" },
];
