// The registry caches' section of `status`: the shared pull-through caches (model/registries.ts)
// as the cluster sees them. Only warnings: a node whose mirror does not answer pulls from the
// registry itself (Talos falls back unless a mirror sets skipFallback), so the cluster still
// works, only slower.

import { cacheAddresses, REGISTRY_CACHE_BIND_ADDRESS } from "../../model/registries";
import { registryCacheArgsText } from "../registrycache/args";
import { CACHE_UP, probeCaches, type CacheState, type RegistryProbe } from "../registrycache/probe";
import type { DockerApi } from "../docker/api";
import type { Finding, StatusReport } from "./report";

export interface CacheSectionDeps {
    docker: DockerApi;
    checkRegistry?: RegistryProbe;
}

/** The caches' state, probed beside the other sections (the network's is not needed yet). */
export async function probeCacheSection(report: StatusReport, deps: CacheSectionDeps, t: number): Promise<CacheState[]> {
    try {
        return await probeCaches(deps, t);
    } catch (err) {
        report.registryCache.error = err instanceof Error ? err.message : String(err);
        return [];
    }
}

/**
 * Fills report.registryCache from the probe, once the network section found the cluster's
 * network: whether the cluster uses the caches is whether they are on it.
 */
export function cacheSection(report: StatusReport, rows: CacheState[], find: (f: Finding) => void): void {
    const network = report.network.row;
    const used = network !== undefined && rows.some((r) => network.name in r.networks);
    report.registryCache.used = used;
    report.registryCache.rows = rows.filter((r) => r.state !== "missing" || r.volumePresent || used);
    const warn = (what: string, next: string) => find({ section: "registryCache", severity: "warning", what, next });
    for (const r of report.registryCache.rows) {
        if (r.foreign === true) {
            warn(`a container named ${r.container} is not the registry cache of ${r.registry} (it lacks the cache's label)`,
                `rename or remove it if it is yours (docker rm -f ${r.container}), then ${CACHE_UP}`);
            continue;
        }
        if (r.state === "missing") {
            const kept = r.volumePresent ? ` (its volume ${r.volume} is kept)` : "";
            warn(`the registry cache of ${r.registry} has no container${kept}`, CACHE_UP);
            continue;
        }
        if (r.state !== "running") {
            warn(`the registry cache ${r.container} is ${r.state}`, `docker start ${r.container}, or ${CACHE_UP}`);
            continue;
        }
        if (r.api !== undefined && !r.api.reachable) {
            const at = `${REGISTRY_CACHE_BIND_ADDRESS}:${r.hostPort}`;
            warn(`the registry cache ${r.container} does not answer on ${at}: ${r.api.detail}`, `docker logs ${r.container}`);
        }
        if (used && network !== undefined && !(network.name in r.networks)) {
            const subnet = network.subnets[0];
            const address = subnet === undefined ? undefined : cacheAddresses(subnet)[r.registry];
            const mirror = address === undefined ? "" : ` (the nodes' mirror is ${address})`;
            const next = subnet === undefined
                ? "`pulumi up`"
                : `npm run ${registryCacheArgsText(network.name, subnet)}, or \`pulumi up\``;
            warn(`the registry cache ${r.container} is not attached to ${network.name}${mirror}: ` +
                `the nodes pull ${r.registry} images from the registry itself`, next);
        }
    }
}
