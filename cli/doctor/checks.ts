// `doctor`: can this machine run the stack? Each check says what it found and, when it is not
// fine, how to fix it. The checks run side by side; those that need the Docker Engine's answer
// wait for that one call only.

import { LIMITS, PORT_KEYS, type ClusterSpec } from "../../model/config";
import { ourKey } from "../../model/configproblems";
import { cidrsOverlap, freeBlock, parseCidr, type Cidr } from "../../model/ipv4";
import { LABELS } from "../../model/dockerlabels";
import { DockerError, type ContainerSummary, type DockerApi, type EngineInfo, type NetworkDetails } from "../docker/api";
import { settle } from "../settle";
import { cgroupCheck } from "./cgroup";
import { movePort, portHolder, type PortAdviceContext, type PortState } from "./ports";
import { registryCacheChecks } from "./registrycache";
import type { RegistryProbe } from "../registrycache/probe";

export interface Check {
    name: string;
    status: "ok" | "warn" | "fail" | "skip";
    detail: string;
    fix?: string;
}

export interface DoctorDeps extends PortAdviceContext {
    docker: DockerApi;
    /** is host:port free to bind? */
    portState(host: string, port: number, timeoutMs: number): Promise<PortState>;
    /** the path of an executable on PATH, or undefined */
    which(command: string): string | undefined;
    /** the networks of the host's own interfaces, kept out of a proposed subnet */
    hostSubnets?(): Cidr[];
    /** the registry caches' API probe (registrycache/probe.ts checkRegistryApi when absent) */
    checkRegistry?: RegistryProbe;
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** The tools the Makefile and the README use, with where to get them. */
export const TOOLS = [
    { command: "pulumi", why: "creates and destroys the cluster", install: "https://www.pulumi.com/docs/install/" },
    { command: "kubectl", why: "talks to Kubernetes", install: "https://kubernetes.io/docs/tasks/tools/" },
    { command: "talosctl", why: "talks to Talos (make shell-cp, talosctl dashboard)", install: "curl -sL https://talos.dev/install | sh" },
] as const;

/**
 * Every check, side by side. Each ends by `timeoutMs` after the start: the Docker calls it waits
 * for and makes share that deadline. Without a spec (the stack config is invalid) only the checks
 * that do not depend on it run.
 */
export async function runChecks(spec: ClusterSpec | undefined, deps: DoctorDeps, timeoutMs: number): Promise<Check[]> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    const info = settle(deps.docker.info(left()));
    const needsDocker = (name: string): Check => ({ name, status: "skip", detail: "needs the Docker Engine" });

    const checks: Promise<Check | Check[]>[] = [
        info.then((r) => (r.ok ? engineCheck(r.value, deps.docker.host) : engineDown(r.error, deps.docker.host, timeoutMs))),
        info.then((r) => (r.ok ? cgroupCheck(r.value, spec) : needsDocker("cgroup v2"))),
    ];
    if (spec !== undefined) {
        const containers = settle(deps.docker.listContainers([], left()));
        const networks = settle(deps.docker.listNetworks(left()));
        checks.push(
            info.then((r) => (r.ok ? resourceChecks(spec, r.value) : [needsDocker("memory"), needsDocker("CPUs")])),
            info.then((r) => (r.ok ? imageCheck(spec.image, deps.docker, left, timeoutMs) : needsDocker("image"))),
            networks.then((n) => (n.ok ? subnetCheck(spec, n.value, deps.hostSubnets?.() ?? []) : needsDocker("subnet"))),
            containers.then((c) => portChecks(spec, c.ok ? c.value : undefined, deps, left)),
            info.then((r) => {
                if (r.ok) return registryCacheChecks(spec, deps, left);
                return spec.registryCache.enabled ? [needsDocker("registry caches")] : [];
            }),
        );
    }
    checks.push(Promise.resolve(TOOLS.map((t) => toolCheck(t, deps.which(t.command)))));
    return (await Promise.all(checks)).flat();
}

/**
 * Said under an engine doctor cannot reach: not only `pulumi up` needs it. The Docker provider
 * connects to the engine (DOCKER_HOST, or docker:host) when it is configured, so even `pulumi
 * preview` fails without one: "docker native provider returned an unexpected error from
 * Configure: failed to connect to any docker daemon" (Pulumi CLI 3.274.1, @pulumi/docker 5.2).
 */
export const PREVIEW_NEEDS_ENGINE =
    "`pulumi preview` needs it too: the Docker provider connects to the engine when it is configured, so a preview without one fails " +
    "(\"failed to connect to any docker daemon\"); a preview in CI needs a Docker Engine, not the cluster";

/** The client's message says how to fix an engine that is not there; a silent one gets a next step here. */
function engineDown(error: Error, host: string, timeoutMs: number): Check {
    const check: Check = { name: "Docker Engine", status: "fail", detail: `${error.message}\n${PREVIEW_NEEDS_ENGINE}` };
    if (error instanceof DockerError && error.kind === "timeout") {
        check.detail = `the Docker Engine at ${host} did not answer within ${seconds(timeoutMs)}\n${PREVIEW_NEEDS_ENGINE}`;
        check.fix = "check that it runs and is not stuck (sudo systemctl status docker; docker info), or give it longer (--timeout 30s)";
    }
    return check;
}

export function engineCheck(info: EngineInfo, host: string): Check {
    return { name: "Docker Engine", status: "ok", detail: `${info.serverVersion} at ${host} (${info.operatingSystem})` };
}

export function resourceChecks(spec: ClusterSpec, info: EngineInfo): Check[] {
    const pools = [
        { key: "controlPlanes", ...spec.controlPlanes },
        { key: "workers", ...spec.workers },
    ].filter((p) => p.count > 0);
    const wantBytes = pools.reduce((sum, p) => sum + p.count * p.memoryMiB * MiB, 0);
    const memory: Check = !(info.memoryBytes > 0)
        ? { name: "memory", status: "warn", detail: `the nodes ask for ${gib(wantBytes)}; the engine did not say how much it has`, fix: "compare with docker info (Total Memory)" }
        : wantBytes > info.memoryBytes
        ? {
              name: "memory",
              status: "fail",
              detail: `the nodes ask for ${gib(wantBytes)} in all; the engine has ${gib(info.memoryBytes)}`,
              fix: `lower ${ourKey("controlPlanes.memoryMiB")} / workers.memoryMiB or workers.count `
                  + `(Talos needs at least ${LIMITS.controlPlanes.memoryMiB} MiB per control plane, `
                  + `${LIMITS.workers.memoryMiB} per worker), or give Docker more memory`,
          }
        : wantBytes > 0.8 * info.memoryBytes
          ? {
                name: "memory",
                status: "warn",
                detail: `the nodes ask for ${gib(wantBytes)} of the engine's ${gib(info.memoryBytes)}: little is left for the host`,
                fix: `lower ${ourKey("workers.memoryMiB")} or workers.count if the host starts swapping`,
            }
          : { name: "memory", status: "ok", detail: `the nodes ask for ${gib(wantBytes)} of the engine's ${gib(info.memoryBytes)}` };
    const tooMany = pools.filter((p) => p.cpus > info.cpus);
    const cpus: Check = tooMany.length > 0
        ? {
              name: "CPUs",
              status: "fail",
              detail: `${tooMany.map((p) => `${p.key}.cpus = ${p.cpus}`).join(", ")}, but the engine has ${info.cpus} CPUs (Docker refuses more per container)`,
              fix: `set ${tooMany.map((p) => ourKey(`${p.key}.cpus`)).join(" and ")} to ${info.cpus} or less`,
          }
        : { name: "CPUs", status: "ok", detail: `${pools.map((p) => `${p.key} ${p.cpus}`).join(", ")} per node; the engine has ${info.cpus}` };
    return [memory, cpus];
}

async function imageCheck(image: string, docker: DockerApi, left: () => number, timeoutMs: number): Promise<Check> {
    const name = "image";
    try {
        if (await docker.hasImage(image, left())) return { name, status: "ok", detail: `${image} is present` };
    } catch (err) {
        return { name, status: "fail", detail: `${image}: ${(err as Error).message}` };
    }
    const fix = `check the name and your registry access (docker pull ${image}), `
        + `or load it from a file (docker load -i talos.tar), or set ${ourKey("image")}`;
    try {
        await docker.checkPullable(image, left());
        return { name, status: "ok", detail: `${image} is not present; its registry has it (pulled by pulumi up)` };
    } catch (err) {
        if (err instanceof DockerError && err.kind === "timeout") {
            return { name, status: "fail", detail: `${image} is not present, and its registry did not answer within ${seconds(timeoutMs)}`, fix };
        }
        return { name, status: "fail", detail: `${image} is not present and cannot be pulled: ${(err as Error).message}`, fix };
    }
}

/**
 * The stack's subnet against the engine's networks: only this cluster's own network (its name and
 * label) may overlap it. A fix proposes a block free of every network and of `hostSubnets` (the
 * host's own interfaces, so the proposal is not the LAN the host sits on).
 */
export function subnetCheck(spec: ClusterSpec, networks: NetworkDetails[], hostSubnets: readonly Cidr[] = []): Check {
    const ours = parseCidr(spec.network.subnet) as Cidr;
    const isOurs = (n: NetworkDetails) => n.name === spec.network.name && n.labels[LABELS.cluster] === spec.clusterName;
    const taken: Cidr[] = [...hostSubnets];
    const clashes: string[] = [];
    for (const n of networks) {
        for (const s of n.subnets) {
            const c = parseCidr(s);
            if ("error" in c) continue; // IPv6
            taken.push(c);
            if (!isOurs(n) && cidrsOverlap(ours, c)) clashes.push(`${n.name} (${s})`);
        }
    }
    const sameName = networks.find((n) => n.name === spec.network.name && !isOurs(n));
    if (clashes.length === 0 && sameName === undefined) {
        const existing = networks.find(isOurs);
        return { name: "subnet", status: "ok", detail: `${spec.network.subnet} ${existing ? `is this cluster's network ${existing.name}` : "overlaps no Docker network"}` };
    }
    const free = freeBlock(ours.prefix, taken);
    const problems = [
        ...(clashes.length > 0 ? [`${spec.network.subnet} overlaps Docker network${clashes.length > 1 ? "s" : ""} ${clashes.join(", ")}`] : []),
        ...(sameName ? [`a network named ${sameName.name} exists and is not this cluster's`] : []),
    ];
    return {
        name: "subnet",
        status: "fail",
        detail: problems.join("; "),
        fix: [
            clashes.length > 0 ? `set ${ourKey("network.subnet")} to a free range${free ? `, e.g. ${free}` : ""}` : "",
            sameName
                ? `set ${ourKey("network.name")} to another name, or remove it (docker network rm ${sameName.name})`
                : "",
        ].filter((s) => s !== "").join("; "),
    };
}

async function portChecks(spec: ClusterSpec, containers: ContainerSummary[] | undefined, deps: DoctorDeps, left: () => number): Promise<Check[]> {
    const host = spec.ports.bindAddress;
    return Promise.all(PORT_KEYS.map(async (key): Promise<Check> => {
        const port = spec.ports[key];
        const name = `port ${port}`;
        const holder = containers?.find((c) => c.ports.some((p) => p.hostPort === port && (p.hostIp === host || p.hostIp === "0.0.0.0" || p.hostIp === "" || host === "0.0.0.0")));
        if (holder !== undefined) {
            if (holder.labels[LABELS.cluster] === spec.clusterName) {
                return { name, status: "ok", detail: `${host}:${port} (${key}) is in use by this cluster's ${holder.name}` };
            }
            const { who, fix } = portHolder(holder, key, deps);
            return { name, status: "fail", detail: `${host}:${port} (${key}) is published by ${who}`, fix };
        }
        const state = await deps.portState(host, port, left());
        switch (state) {
            case "free":
                return { name, status: "ok", detail: `${host}:${port} (${key}) is free` };
            case "taken":
                return {
                    name,
                    status: "fail",
                    detail: `${host}:${port} (${key}) is taken by another process`,
                    fix: `\`ss -ltnp 'sport = :${port}'\` shows which; stop it, or give this cluster another port: ${movePort(key, deps)}`,
                };
            case "no-address":
                return {
                    name,
                    status: "fail",
                    detail: `${host} is not an address of this host`,
                    fix: `set ${ourKey("ports.bindAddress")} to 127.0.0.1 or an address of this host`,
                };
            default:
                return { name, status: "warn", detail: `${host}:${port} (${key}) could not be checked (${state})` };
        }
    }));
}

export function toolCheck(tool: (typeof TOOLS)[number], path: string | undefined): Check {
    const name = tool.command;
    if (path !== undefined) return { name, status: "ok", detail: path };
    return { name, status: "warn", detail: `not on PATH (${tool.why})`, fix: `install it: ${tool.install}` };
}

function seconds(ms: number): string {
    return `${Number((ms / 1000).toFixed(1))} s`;
}

function gib(bytes: number): string {
    return `${(bytes / GiB).toFixed(1)} GiB`;
}
