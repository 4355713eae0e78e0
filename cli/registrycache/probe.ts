// What the pull-through caches (model/registries.ts) are doing, for `status` and `doctor`: each
// cache's container and volume, whether its registry API answers on its published port on
// 127.0.0.1, the networks it is attached to, and how much it holds. Read-only; every probe runs
// side by side with its own deadline.

import { get } from "node:http";

import {
    cachePlans, REGISTRY_CACHE_BIND_ADDRESS, REGISTRY_CACHE_FILTER, REGISTRY_CACHE_LABEL, REGISTRY_DATA_PATH, type CachePlan,
} from "../../model/registries";
import type { ContainerDetails, DockerApi } from "../docker/api";
import { settle } from "../settle";

export interface RegistryCheck {
    reachable: boolean;
    detail: string;
}

/** Does a registry answer `GET /v2/` (the distribution API's base, 200 or 401) on the host port? */
export type RegistryProbe = (host: string, port: number, timeoutMs: number) => Promise<RegistryCheck>;

export interface CacheState {
    registry: string;
    container: string;
    volume: string;
    hostPort: number;
    /** Docker's state of the container (running, exited, …), or "missing" */
    state: string;
    /** the container's name is taken by one that is not this cache (no label) */
    foreign?: boolean;
    volumePresent: boolean;
    /** network name → the cache's address on it */
    networks: Record<string, string>;
    /** from the host, on REGISTRY_CACHE_BIND_ADDRESS:hostPort; absent when not running */
    api?: RegistryCheck;
    /** bytes under its data directory; absent when not running */
    diskBytes?: number;
    /** why a probe failed */
    error?: string;
}

export interface CacheProbeDeps {
    docker: DockerApi;
    checkRegistry?: RegistryProbe;
}

/**
 * Every cache's state, in cachePlans' order; rejects only when Docker cannot list at all. The
 * whole probe ends by `timeoutMs`: its steps (list, inspect, then the API and the size) share it.
 */
export async function probeCaches(deps: CacheProbeDeps, timeoutMs: number): Promise<CacheState[]> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    const [containers, volumes] = await Promise.all([
        deps.docker.listContainers([REGISTRY_CACHE_FILTER], left()),
        deps.docker.listVolumes([REGISTRY_CACHE_FILTER], left()),
    ]);
    const checkRegistry = deps.checkRegistry ?? checkRegistryApi;
    return Promise.all(cachePlans().map(async (plan): Promise<CacheState> => {
        const state: CacheState = {
            registry: plan.registry, container: plan.container, volume: plan.volume, hostPort: plan.hostPort,
            state: "missing",
            volumePresent: volumes.some((v) => v.name === plan.volume && v.labels[REGISTRY_CACHE_LABEL] === plan.registry),
            networks: {},
        };
        const listed = containers.find((c) => c.name === plan.container);
        if (listed === undefined) return withForeign(state, plan, deps.docker, left());
        const details = await settle(deps.docker.inspectContainer(plan.container, left()));
        if (!details.ok) return { ...state, state: listed.state, error: details.error.message };
        return running(state, details.value, deps.docker, checkRegistry, left());
    }));
}

/** No cache container: is its name taken by another one (which would keep `pulumi up` from making it)? */
async function withForeign(state: CacheState, plan: CachePlan, docker: DockerApi, timeoutMs: number): Promise<CacheState> {
    const other = await settle(docker.inspectContainer(plan.container, timeoutMs));
    if (!other.ok) return state; // not found: the name is free
    return { ...state, state: other.value.status, foreign: true };
}

async function running(
    state: CacheState, details: ContainerDetails, docker: DockerApi, checkRegistry: RegistryProbe, timeoutMs: number,
): Promise<CacheState> {
    const base = { ...state, state: details.status, networks: details.networks };
    if (!details.running) return base;
    const [api, disk] = await Promise.all([
        checkRegistry(REGISTRY_CACHE_BIND_ADDRESS, state.hostPort, timeoutMs),
        settle(docker.diskUsage(state.container, REGISTRY_DATA_PATH, timeoutMs)),
    ]);
    return disk.ok ? { ...base, api, diskBytes: disk.value } : { ...base, api, error: disk.error.message };
}

/** `GET /v2/` with a deadline: 200 (open) or 401 (auth asked) is a registry answering. */
export function checkRegistryApi(host: string, port: number, timeoutMs: number): Promise<RegistryCheck> {
    return new Promise((resolve) => {
        let settled = false;
        const done = (result: RegistryCheck) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            request.destroy();
            resolve(result);
        };
        const request = get({ host, port, path: "/v2/", agent: false }, (response) => {
            response.resume();
            const code = response.statusCode ?? 0;
            done(code === 200 || code === 401
                ? { reachable: true, detail: `registry API answers (${code})` }
                : { reachable: false, detail: `GET /v2/ answered ${code}: not a registry` });
        });
        const timer = setTimeout(() => done({ reachable: false, detail: `no answer in ${timeoutMs} ms` }), timeoutMs);
        request.once("error", (err: NodeJS.ErrnoException) => {
            done({ reachable: false, detail: err.code === "ECONNREFUSED" ? "connection refused" : (err.code ?? err.message) });
        });
    });
}

/** The next step for a cache that is not running and answering. */
export const CACHE_UP = "`npm run registry-cache -- up` (or `pulumi up` of a stack with registryCache.enabled)";
