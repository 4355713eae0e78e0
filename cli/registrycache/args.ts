// How the program's registry-cache resource runs this CLI (components/registrycache.ts): the
// command lines of its create and its delete. The program loads this module without the CLI's
// commands and clients.

export const REGISTRY_CACHE_COMMAND = "registry-cache";

/** The caches made or started, then attached to the cluster's network at their addresses in its subnet. */
export function attachArgs(network: string, subnet: string): string[] {
    return [REGISTRY_CACHE_COMMAND, "attach", "--network", network, "--subnet", subnet];
}

/** The caches detached from the cluster's network, before the network is removed; they and their data stay. */
export function detachArgs(network: string): string[] {
    return [REGISTRY_CACHE_COMMAND, "detach", "--network", network];
}

/** attachArgs as the npm script takes them (`npm run registry-cache -- attach …`), for advice. */
export function registryCacheArgsText(network: string, subnet: string): string {
    const [command, ...rest] = attachArgs(network, subnet);
    return [command, "--", ...rest].join(" ");
}
