// `doctor`'s checks of the shared registry caches (model/registries.ts): with registryCache
// enabled, each cache is running and its registry API answers on 127.0.0.1, or `pulumi up` can
// make it (its host port is free, registry:2 is present or pullable); without, only what is there.

import { ourKey } from "../../model/configproblems";
import type { ClusterSpec } from "../../model/config";
import { REGISTRY_CACHE_BIND_ADDRESS, REGISTRY_CACHE_IMAGE } from "../../model/registries";
import { DockerError, type DockerApi } from "../docker/api";
import { CACHE_UP, probeCaches, type CacheState, type RegistryProbe } from "../registrycache/probe";
import { bytes } from "../status/render";
import type { Check } from "./checks";
import type { PortState } from "./ports";

export interface CacheCheckDeps {
    docker: DockerApi;
    portState(host: string, port: number, timeoutMs: number): Promise<PortState>;
    checkRegistry?: RegistryProbe;
}

export async function registryCacheChecks(spec: ClusterSpec, deps: CacheCheckDeps, left: () => number): Promise<Check[]> {
    let caches: CacheState[];
    try {
        caches = await probeCaches(deps, left());
    } catch (err) {
        const status = spec.registryCache.enabled ? "fail" : "skip";
        return [{ name: "registry caches", status, detail: `not checked: ${(err as Error).message}` }];
    }
    const present = caches.filter((c) => c.state !== "missing" && c.foreign !== true);
    if (!spec.registryCache.enabled) {
        if (present.length === 0) return [];
        return [{
            name: "registry caches",
            status: "ok",
            detail: `${present.length} of ${caches.length} on this machine (${present.map((c) => `${c.registry} ${c.state}`).join(", ")}); ` +
                `this stack does not use them (${ourKey("registryCache.enabled")} is false)`,
        }];
    }
    const checks = await Promise.all(caches.map((c) => cacheCheck(c, deps, left)));
    if (caches.some((c) => c.state === "missing")) checks.push(await imageCheck(deps.docker, left));
    return checks;
}

async function cacheCheck(c: CacheState, deps: CacheCheckDeps, left: () => number): Promise<Check> {
    const name = `cache ${c.registry}`;
    const at = `${REGISTRY_CACHE_BIND_ADDRESS}:${c.hostPort}`;
    if (c.foreign === true) {
        return {
            name, status: "fail",
            detail: `a container named ${c.container} (${c.state}) is not the registry cache: \`pulumi up\` would refuse it`,
            fix: `rename or remove it if it is yours to remove (docker rm -f ${c.container})`,
        };
    }
    if (c.state === "missing") {
        const kept = c.volumePresent ? `, with what volume ${c.volume} kept` : "";
        const state = await deps.portState(REGISTRY_CACHE_BIND_ADDRESS, c.hostPort, left());
        switch (state) {
            case "free":
                return { name, status: "ok", detail: `not made yet: \`pulumi up\` makes ${c.container} on ${at}${kept}` };
            case "taken":
                return {
                    name, status: "fail",
                    detail: `${at} is taken by another process: the cache of ${c.registry} cannot publish its port there`,
                    fix: `\`ss -ltnp 'sport = :${c.hostPort}'\` shows which; stop it, or set ${ourKey("registryCache.enabled")} false`,
                };
            default:
                return { name, status: "warn", detail: `not made yet, and ${at} could not be checked (${state})` };
        }
    }
    if (c.state !== "running") {
        return {
            name, status: "warn",
            detail: `${c.container} is ${c.state}: the nodes pull from ${c.registry} itself`,
            fix: `docker start ${c.container}, or ${CACHE_UP}`,
        };
    }
    if (c.api !== undefined && !c.api.reachable) {
        return {
            name, status: "warn",
            detail: `${c.container} runs, but its registry API on ${at} does not answer: ${c.api.detail}`,
            fix: `docker logs ${c.container}`,
        };
    }
    const size = c.diskBytes !== undefined ? `${bytes(c.diskBytes)} cached` : `size unknown (${c.error ?? "not measured"})`;
    return { name, status: "ok", detail: `${c.container} runs, its registry API answers on ${at}; ${size} in volume ${c.volume}` };
}

/** The image a missing cache is made from: present, or its registry has it. */
async function imageCheck(docker: DockerApi, left: () => number): Promise<Check> {
    const name = "cache image";
    try {
        if (await docker.hasImage(REGISTRY_CACHE_IMAGE, left())) return { name, status: "ok", detail: `${REGISTRY_CACHE_IMAGE} is present` };
        await docker.checkPullable(REGISTRY_CACHE_IMAGE, left());
        return { name, status: "ok", detail: `${REGISTRY_CACHE_IMAGE} is not present; its registry has it (pulled by pulumi up)` };
    } catch (err) {
        const why = err instanceof DockerError && err.kind === "timeout" ? "its registry did not answer in time" : (err as Error).message;
        return {
            name, status: "fail",
            detail: `${REGISTRY_CACHE_IMAGE} is not present and cannot be pulled: ${why}`,
            fix: `docker pull ${REGISTRY_CACHE_IMAGE} where it can be reached (or docker load it), ` +
                `or set ${ourKey("registryCache.enabled")} false`,
        };
    }
}
