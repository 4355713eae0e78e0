// The `Kube…Config` documents that configure Kubernetes from the v1.14 contract on
// (talos@v1.14.1:pkg/machinery/config/generate/kubernetes.go): the ones every node gets
// (`generateKubernetesUniversalConfigs`), then the control plane's
// (`generateKubernetesControlplaneConfigs`), each in the generator's order. Certificates and keys
// are PEM text here, not the base64 of the v1alpha1 fields (meta.CertificateAndKey).

import {
    API_SERVER_IMAGE,
    CONTROLLER_MANAGER_IMAGE,
    CONTROL_PLANE_ROLE,
    DEFAULT_AUTHORIZERS,
    DNS_DOMAIN,
    EXCLUDE_FROM_EXTERNAL_LB_LABEL,
    FLANNEL_BACKEND,
    KUBELET_IMAGE,
    KUBE_PRISM_PORT,
    NO_SCHEDULE,
    POD_SUBNETS,
    PROXY_IMAGE,
    SCHEDULER_IMAGE,
    SERVICE_SUBNETS,
    defaultAuditPolicy,
    defaultAuthentication,
    kubernetesImage,
    podSecurityAdmission,
} from "./defaults";
import { toTalosEd25519Pem } from "../pem";
import { apiServerSANs } from "./cluster";
import { pemCertAndKey, type GenerateInput } from "./input";

type Doc = Record<string, unknown>;

function doc(kind: string, fields: Doc): Doc {
    return { apiVersion: "v1alpha1", kind, ...fields };
}

/** Every node's documents, then the control plane's. */
export function kubernetesDocuments(input: GenerateInput): Doc[] {
    switch (input.role) {
        case "controlplane":
            return [...universalDocuments(input), ...controlPlaneDocuments(input)];
        case "worker":
            return universalDocuments(input);
        default: {
            const unreachable: never = input.role;
            throw new Error(`unknown role ${String(unreachable)}`);
        }
    }
}

function universalDocuments(input: GenerateInput): Doc[] {
    const controlPlane = input.role === "controlplane";
    const node: Doc = { nodeIP: {} };
    if (controlPlane) {
        // AddExcludeFromExternalLoadBalancer (> 1.5); the role label and its NoSchedule taint
        // unless scheduling on control planes is allowed, which the Docker flow does not ask for.
        node.labels = { [CONTROL_PLANE_ROLE]: "", [EXCLUDE_FROM_EXTERNAL_LB_LABEL]: "" };
        node.taints = { [CONTROL_PLANE_ROLE]: NO_SCHEDULE };
    }
    const k8sCA = input.secrets.certs.k8s;
    // Workers trust the Kubernetes CA without holding its key (generate/kubernetes.go).
    const ca: Doc = controlPlane ? { issuingCA: pemCertAndKey(k8sCA) } : { acceptedCAs: [k8sCA.crt] };
    return [
        doc("KubeClusterConfig", { clusterName: input.clusterName, endpoint: input.controlPlaneEndpoint }),
        doc("KubeNodeConfig", node),
        doc("KubeletConfig", {
            image: kubernetesImage(KUBELET_IMAGE, input.kubernetesVersion),
            config: {},
            defaultRuntimeSeccompProfileEnabled: true,
        }),
        doc("KubeNetworkConfig", {
            dnsDomain: DNS_DOMAIN,
            podSubnets: [...POD_SUBNETS],
            serviceSubnets: [...SERVICE_SUBNETS],
        }),
        doc("KubeAPIServerCAConfig", ca),
        doc("KubePrismConfig", { port: KUBE_PRISM_PORT }),
    ];
}

function controlPlaneDocuments(input: GenerateInput): Doc[] {
    const { secrets, kubernetesVersion: k8s } = input;
    const admission = podSecurityAdmission();
    return [
        doc("KubeAggregatorCAConfig", { issuingCA: pemCertAndKey(secrets.certs.k8sAggregator) }),
        doc("KubeAdmissionControlConfig", { name: admission.name, configuration: admission.configuration }),
        doc("KubeAuditPolicyConfig", { configuration: defaultAuditPolicy() }),
        doc("KubeAuthenticationConfig", { configuration: defaultAuthentication() }),
        ...DEFAULT_AUTHORIZERS.map((a) => doc("KubeAuthorizerConfig", { name: a.name, type: a.type })),
        doc("KubeEtcdEncryptionConfig", { config: etcdEncryption(secrets.secrets.secretboxEncryptionSecret) }),
        doc("KubeServiceAccountConfig", {
            issuer: {
                privateKey: toTalosEd25519Pem(secrets.certs.k8sServiceAccount.key),
                issuerURL: input.controlPlaneEndpoint,
            },
        }),
        doc("KubeAPIServerConfig", apiServerFields(input)),
        doc("KubeControllerManagerConfig", { image: kubernetesImage(CONTROLLER_MANAGER_IMAGE, k8s) }),
        doc("KubeSchedulerConfig", { image: kubernetesImage(SCHEDULER_IMAGE, k8s), config: {} }),
        doc("KubeProxyConfig", { image: kubernetesImage(PROXY_IMAGE, k8s), config: {} }),
        // No custom CNI URL in the Docker flow: flannel, as the generator writes it by default.
        doc("KubeFlannelCNIConfig", { backendType: FLANNEL_BACKEND.type, backendPort: FLANNEL_BACKEND.port }),
        doc("KubeCoreDNSConfig", { enabled: true }),
    ];
}

function apiServerFields(input: GenerateInput): Doc {
    const fields: Doc = { image: kubernetesImage(API_SERVER_IMAGE, input.kubernetesVersion) };
    const sans = apiServerSANs(input);
    if (sans.length > 0) fields.certExtraSANs = sans; // omitempty
    return fields;
}

/**
 * The kube-apiserver encryption config: the secretbox key under the name the v1alpha1 path gave it
 * ("key2"), so a cluster made by an older contract decrypts its secrets with the same key.
 * Keys sorted, as Talos encodes the map.
 */
function etcdEncryption(secretboxSecret: string): Doc {
    const secretbox = { keys: [{ name: "key2", secret: secretboxSecret }] };
    return { resources: [{ providers: [{ secretbox }], resources: ["secrets"] }] };
}
