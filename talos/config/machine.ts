// The `machine` section, in the field order of v1alpha1.MachineConfig
// (talos@v1.8.3:pkg/machinery/config/generate/init.go for controlplanes, worker.go for workers;
// talos@v1.13.9 and v1.14.1 for the later contract gates). Gates that are on for every contract we support
// (> v1.7) are written unconditionally, with the contract.go method that turns them on.

import type { RegistryMirrorStyle, StableHostnameStyle } from "../versions";
import { EXCLUDE_FROM_EXTERNAL_LB_LABEL, KUBELET_IMAGE, KUBE_PRISM_PORT, hostDns, kubernetesImage } from "./defaults";
import { encodeCertAndKey, encodeCertOnly, type GenerateInput, type MachineRole } from "./input";
import { hostDnsInV1alpha1, kubernetesInV1alpha1 } from "./styles";

export function machineSection(input: GenerateInput): Record<string, unknown> {
    const { role, contract, secrets, options } = input;
    // From v1.14 the kubelet, the node's labels and KubePrism are in Kube…Config documents (kubernetes.ts).
    const inV1alpha1 = kubernetesInV1alpha1(contract.config.kubernetes);
    const machine: Record<string, unknown> = {
        type: role,
        token: secrets.trustdInfo.token,
        ca: caFor(role, input),
        certSANs: [...options.additionalSubjectAltNames],
    };
    if (inV1alpha1) {
        machine.kubelet = {
            image: kubernetesImage(KUBELET_IMAGE, input.kubernetesVersion),
            // KubeletDefaultRuntimeSeccompProfileEnabled (> 1.1)
            defaultRuntimeSeccompProfileEnabled: true,
            // KubeletManifestsDirectoryDisabled (> 1.2)
            disableManifestsDirectory: true,
        };
    }
    const network = networkSection(input);
    if (network !== undefined) {
        machine.network = network;
    }
    if (contract.config.machineInstall) {
        machine.install = installSection(input);
    }
    const registries = registriesSection(contract.config.registryMirrors, options.registryMirrors);
    if (registries !== undefined) {
        machine.registries = registries;
    }
    machine.features = featuresSection(input);
    if (role === "controlplane" && inV1alpha1) {
        machine.nodeLabels = { [EXCLUDE_FROM_EXTERNAL_LB_LABEL]: "" };
    }
    return machine;
}

function caFor(role: MachineRole, input: GenerateInput): { crt: string; key: string } {
    switch (role) {
        case "controlplane":
            return encodeCertAndKey(input.secrets.certs.os);
        case "worker":
            return encodeCertOnly(input.secrets.certs.os);
        default: {
            const unreachable: never = role;
            throw new Error(`unknown role ${String(unreachable)}`);
        }
    }
}

/**
 * `machine.network`: the ignored interfaces if any (v1alpha1.WithNetworkInterfaceIgnore), else an
 * empty mapping while the contract still writes one (generate/network.go at v1.13.9).
 */
function networkSection(input: GenerateInput): Record<string, unknown> | undefined {
    const ignored = input.options.ignoredInterfaces;
    if (ignored.length > 0) {
        return { interfaces: ignored.map((name) => ({ interface: name, ignore: true })) };
    }
    return input.contract.config.emptyMachineNetwork ? {} : undefined;
}

function installSection(input: GenerateInput): Record<string, unknown> {
    const install: Record<string, unknown> = {};
    if (input.options.installImage !== undefined) {
        install.image = input.options.installImage;
    }
    install.wipe = false;
    if (input.contract.config.grubUseUKICmdline) {
        install.grubUseUKICmdline = true;
    }
    return install;
}

/** Old-style registry mirrors (generate/registry.go before v1.12); hosts sorted as Go encodes a map. */
function registriesSection(
    style: RegistryMirrorStyle,
    mirrors: Readonly<Record<string, readonly string[]>>,
): Record<string, unknown> | undefined {
    switch (style) {
        case "machineRegistries": {
            const hosts = Object.keys(mirrors).sort();
            if (hosts.length === 0) {
                return undefined;
            }
            return { mirrors: Object.fromEntries(hosts.map((h) => [h, { endpoints: [...mirrors[h]] }])) };
        }
        case "registryMirrorConfigDocuments":
            return undefined; // separate documents, see documents.ts
        default: {
            const unreachable: never = style;
            throw new Error(`unknown registry mirror style ${String(unreachable)}`);
        }
    }
}

function featuresSection(input: GenerateInput): Record<string, unknown> {
    const { config } = input.contract;
    const features: Record<string, unknown> = {};
    if (config.writeRbacAndApidKeyUsageFlags) {
        features.rbac = true;
    }
    if (stableHostnameAsFeature(config.stableHostname)) {
        features.stableHostname = true;
    }
    if (config.writeRbacAndApidKeyUsageFlags) {
        // ApidExtKeyUsageCheckEnabled (> 1.2)
        features.apidCheckExtKeyUsage = true;
    }
    // DiskQuotaSupportEnabled (> 1.4)
    features.diskQuotaSupport = true;
    if (kubernetesInV1alpha1(config.kubernetes)) {
        // KubePrismEnabled (> 1.5); from v1.14 a KubePrismConfig document
        features.kubePrism = { enabled: true, port: KUBE_PRISM_PORT };
    }
    if (hostDnsInV1alpha1(config.hostDNS)) {
        // HostDNSEnabled (> 1.6); from v1.14 a ResolverConfig document (documents.ts)
        features.hostDNS = hostDns();
    }
    return features;
}

function stableHostnameAsFeature(style: StableHostnameStyle): boolean {
    switch (style) {
        case "feature":
            return true;
        case "hostnameConfigDocument":
            return false;
        default: {
            const unreachable: never = style;
            throw new Error(`unknown stable hostname style ${String(unreachable)}`);
        }
    }
}
