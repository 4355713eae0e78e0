// What `talosctl cluster create` adds to the generator's options for the Docker provisioner, per
// contract: talos@v1.8.3:cmd/talosctl/cmd/mgmt/cluster/create.go (v1.11.6: .../cluster/create/create.go;
// v1.12.11 on: .../create/clusterops/configmaker/internal/makers/{common,docker}.go) together with
// pkg/provision/providers/docker/docker.go `GenOptions` at the same tag. Nothing is per node: every
// controlplane gets the same config and so does every worker; the node's name reaches Talos as
// the container's hostname, not through the config.

import { installerImage, type VersionContract } from "../versions";
import type { GenerateOptions } from "./input";

/**
 * The Talos API endpoint talosctl writes into talosconfig is the first controlplane's mapped port
 * on 127.0.0.1 (docker.go `GetTalosAPIEndpoints`); its host becomes an additional SAN of both
 * machine.certSANs and apiServer.certSANs.
 */
export const DOCKER_TALOS_API_HOST = "127.0.0.1";

/** The interface Docker configures inside the container (docker.go `GetFirstInterface`). */
export const DOCKER_INTERFACE = "eth0";

export function dockerGenerateOptions(
    contract: VersionContract,
    talosVersion: string,
    additionalSANs: readonly string[],
    registryMirrors: Readonly<Record<string, readonly string[]>>,
): GenerateOptions {
    return {
        installImage: contract.docker.installImage ? installerImage(talosVersion) : undefined,
        additionalSubjectAltNames: unique([DOCKER_TALOS_API_HOST, ...additionalSANs]),
        ignoredInterfaces: contract.docker.ignoreEth0 ? [DOCKER_INTERFACE] : [],
        registryMirrors,
    };
}

function unique(list: readonly string[]): string[] {
    return [...new Set(list)];
}
