// The documents after the v1alpha1 one, from the v1.12 contract on: registry mirrors
// (talos@v1.12.11:pkg/machinery/config/generate/registry.go, sorted by kind then name), then the
// stable hostname (talos@v1.13.9:pkg/machinery/config/generate/network.go).

import type { GenerateInput } from "./input";

export function extraDocuments(input: GenerateInput): Record<string, unknown>[] {
    const { config } = input.contract;
    const docs: Record<string, unknown>[] = [];
    switch (config.registryMirrors) {
        case "registryMirrorConfigDocuments": {
            const mirrors = input.options.registryMirrors;
            for (const host of Object.keys(mirrors).sort()) {
                docs.push({
                    apiVersion: "v1alpha1",
                    kind: "RegistryMirrorConfig",
                    name: host,
                    endpoints: mirrors[host].map((url) => ({ url })),
                });
            }
            break;
        }
        case "machineRegistries":
            break; // in machine.registries, see machine.ts
        default: {
            const unreachable: never = config.registryMirrors;
            throw new Error(`unknown registry mirror style ${String(unreachable)}`);
        }
    }
    switch (config.stableHostname) {
        case "hostnameConfigDocument":
            docs.push({ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" });
            break;
        case "feature":
            break; // machine.features.stableHostname, see machine.ts
        default: {
            const unreachable: never = config.stableHostname;
            throw new Error(`unknown stable hostname style ${String(unreachable)}`);
        }
    }
    return docs;
}
