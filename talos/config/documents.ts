// The documents after the v1alpha1 one, in the generator's order (talos@v1.14.1:
// pkg/machinery/config/generate/init.go and worker.go; each present only where its contract gate
// is on): the discovery service and the cluster's identity, host DNS, the EPHEMERAL volume and
// filesystem trim (block.go), workload isolation (security_profile.go), registry mirrors
// (registry.go, sorted by host), the stable hostname (network.go), then the Kubernetes documents
// (kubernetes.go, see kubernetes.ts). Up to v1.13 only the mirrors and the hostname exist
// (talos@v1.12.11 and v1.13.9, same files).

import { DISCOVERY_SERVICE_ENDPOINT, EPHEMERAL_VOLUME, FILESYSTEM_TRIM_INTERVAL, hostDns } from "./defaults";
import type { GenerateInput } from "./input";
import { kubernetesDocuments } from "./kubernetes";
import { discoveryInV1alpha1, hostDnsInV1alpha1, kubernetesInV1alpha1 } from "./styles";

type Doc = Record<string, unknown>;

export function extraDocuments(input: GenerateInput): Doc[] {
    const { config } = input.contract;
    const resolver = { apiVersion: "v1alpha1", kind: "ResolverConfig", hostDNS: hostDns() };
    const securityProfile = { apiVersion: "v1alpha1", kind: "SecurityProfileConfig", workloadIsolation: true };
    return [
        ...discoveryDocuments(input),
        ...(hostDnsInV1alpha1(config.hostDNS) ? [] : [resolver]),
        ...(config.filesystemTrim ? blockDocuments() : []),
        ...(config.workloadIsolation ? [securityProfile] : []),
        ...registryMirrorDocuments(input),
        ...hostnameDocuments(input),
        ...(kubernetesInV1alpha1(config.kubernetes) ? [] : kubernetesDocuments(input)),
    ];
}

/**
 * Discovery is on (generate.NewInput's default, and talosctl asks for it): the service "default",
 * then the identity.
 */
function discoveryDocuments(input: GenerateInput): Doc[] {
    if (discoveryInV1alpha1(input.contract.config.discovery)) return []; // cluster.discovery, see cluster.ts
    const { id, secret } = input.secrets.cluster;
    return [
        {
            apiVersion: "v1alpha1", kind: "DiscoveryServiceConfig", name: "default", endpoint: DISCOVERY_SERVICE_ENDPOINT,
        },
        { apiVersion: "v1alpha1", kind: "DiscoveryIdentityConfig", clusterID: id, clusterSecret: secret },
    ];
}

/** The EPHEMERAL volume mounted `secure` (nosuid, nodev), and trim at the default interval. */
function blockDocuments(): Doc[] {
    return [
        { apiVersion: "v1alpha1", kind: "VolumeConfig", name: EPHEMERAL_VOLUME, mount: { secure: true } },
        { apiVersion: "v1alpha1", kind: "FilesystemTrimConfig", interval: FILESYSTEM_TRIM_INTERVAL },
    ];
}

function registryMirrorDocuments(input: GenerateInput): Doc[] {
    const { registryMirrors } = input.contract.config;
    switch (registryMirrors) {
        case "registryMirrorConfigDocuments": {
            const mirrors = input.options.registryMirrors;
            return Object.keys(mirrors).sort().map((host) => ({
                apiVersion: "v1alpha1",
                kind: "RegistryMirrorConfig",
                name: host,
                endpoints: mirrors[host].map((url) => ({ url })),
            }));
        }
        case "machineRegistries":
            return []; // in machine.registries, see machine.ts
        default: {
            const unreachable: never = registryMirrors;
            throw new Error(`unknown registry mirror style ${String(unreachable)}`);
        }
    }
}

function hostnameDocuments(input: GenerateInput): Doc[] {
    const { stableHostname } = input.contract.config;
    switch (stableHostname) {
        case "hostnameConfigDocument":
            return [{ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" }];
        case "feature":
            return []; // machine.features.stableHostname, see machine.ts
        default: {
            const unreachable: never = stableHostname;
            throw new Error(`unknown stable hostname style ${String(unreachable)}`);
        }
    }
}
