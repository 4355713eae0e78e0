// The `cluster` section, in the field order of v1alpha1.ClusterConfig. Controlplanes get the whole
// of it (talos@v1.8.3:pkg/machinery/config/generate/init.go); workers a reduced one: no
// secretbox secret, no aggregator CA, service-account key, component images or etcd, and the
// Kubernetes CA without its key (generate/worker.go).

import {
    API_SERVER_IMAGE,
    CONTROLLER_MANAGER_IMAGE,
    DNS_DOMAIN,
    POD_SUBNETS,
    PROXY_IMAGE,
    SCHEDULER_IMAGE,
    SERVICE_SUBNETS,
    defaultAuditPolicy,
    kubernetesImage,
    podSecurityAdmission,
} from "./defaults";
import { encodeCertAndKey, encodeCertOnly, encodeKey, endpointHost, type GenerateInput } from "./input";
import { discoveryInV1alpha1, kubernetesInV1alpha1 } from "./styles";

export function clusterSection(input: GenerateInput): Record<string, unknown> {
    const { config } = input.contract;
    if (!kubernetesInV1alpha1(config.kubernetes)) return kubernetesDocumentsCluster(input);
    switch (input.role) {
        case "controlplane":
            return controlPlaneCluster(input);
        case "worker":
            return workerCluster(input);
        default: {
            const unreachable: never = input.role;
            throw new Error(`unknown role ${String(unreachable)}`);
        }
    }
}

function network(): Record<string, unknown> {
    return { dnsDomain: DNS_DOMAIN, podSubnets: [...POD_SUBNETS], serviceSubnets: [...SERVICE_SUBNETS] };
}

/** Discovery on (generate.NewInput default), Kubernetes registry off (KubernetesDiscoveryBackendDisabled, > 1.1). */
function discovery(): Record<string, unknown> {
    return { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } };
}

/**
 * What stays in `cluster` once Kubernetes is configured by documents (generate/init.go, worker.go
 * at v1.14.1): the bootstrap token, and the etcd CA on a control plane.
 */
function kubernetesDocumentsCluster(input: GenerateInput): Record<string, unknown> {
    const { secrets } = input;
    const cluster: Record<string, unknown> = { ...identity(input), token: secrets.secrets.bootstrapToken };
    if (input.role === "controlplane") cluster.etcd = { ca: encodeCertAndKey(secrets.certs.etcd) };
    return cluster;
}

/** `cluster.id` and `.secret`, while the contract keeps the identity in v1alpha1 (else a DiscoveryIdentityConfig). */
function identity(input: GenerateInput): Record<string, unknown> {
    const { cluster } = input.secrets;
    return discoveryInV1alpha1(input.contract.config.discovery) ? { id: cluster.id, secret: cluster.secret } : {};
}

/** `cluster.discovery`, while the contract keeps it in v1alpha1 (else a DiscoveryServiceConfig document). */
function discoveryField(input: GenerateInput): Record<string, unknown> {
    return discoveryInV1alpha1(input.contract.config.discovery) ? { discovery: discovery() } : {};
}

function controlPlaneCluster(input: GenerateInput): Record<string, unknown> {
    const { secrets, kubernetesVersion: k8s } = input;
    return {
        ...identity(input),
        controlPlane: { endpoint: input.controlPlaneEndpoint },
        clusterName: input.clusterName,
        network: network(),
        token: secrets.secrets.bootstrapToken,
        // SecretboxEncryptionSupported (> 1.2)
        secretboxEncryptionSecret: secrets.secrets.secretboxEncryptionSecret,
        ca: encodeCertAndKey(secrets.certs.k8s),
        aggregatorCA: encodeCertAndKey(secrets.certs.k8sAggregator),
        serviceAccount: { key: encodeKey(secrets.certs.k8sServiceAccount.key) },
        apiServer: apiServer(input),
        controllerManager: { image: kubernetesImage(CONTROLLER_MANAGER_IMAGE, k8s) },
        proxy: { image: kubernetesImage(PROXY_IMAGE, k8s) },
        scheduler: { image: kubernetesImage(SCHEDULER_IMAGE, k8s) },
        ...discoveryField(input),
        etcd: { ca: encodeCertAndKey(secrets.certs.etcd) },
    };
}

/** generate.go `GetAPIServerSANs`: the endpoint's host (while the contract says so), then the additional SANs. */
export function apiServerSANs(input: GenerateInput): string[] {
    const fromEndpoint = input.contract.config.apiServerSANsFromEndpoint ? [endpointHost(input.controlPlaneEndpoint)] : [];
    return [...fromEndpoint, ...input.options.additionalSubjectAltNames];
}

function apiServer(input: GenerateInput): Record<string, unknown> {
    const apiServer: Record<string, unknown> = { image: kubernetesImage(API_SERVER_IMAGE, input.kubernetesVersion) };
    const sans = apiServerSANs(input);
    if (sans.length > 0) {
        apiServer.certSANs = sans; // omitempty
    }
    if (input.contract.config.writeDisablePodSecurityPolicy) {
        apiServer.disablePodSecurityPolicy = true;
    }
    apiServer.admissionControl = [podSecurityAdmission()];
    // APIServerAuditPolicySupported (> 1.2)
    apiServer.auditPolicy = defaultAuditPolicy();
    return apiServer;
}

function workerCluster(input: GenerateInput): Record<string, unknown> {
    const { secrets } = input;
    return {
        ...identity(input),
        controlPlane: { endpoint: input.controlPlaneEndpoint },
        // ClusterNameForWorkers (> 1.7)
        clusterName: input.clusterName,
        network: network(),
        token: secrets.secrets.bootstrapToken,
        ca: encodeCertOnly(secrets.certs.k8s),
        ...discoveryField(input),
    };
}
