// `status`: every probe of the seven sections, run in parallel with a deadline each, so a dead
// cluster reports in about one probe timeout. Two independent branches: Kubernetes (it needs
// only the kubeconfig) and Docker → {Talos per node, resource usage, ports, network}, which need
// the containers' names and addresses. `sequential` runs the same probes one at a time: the
// baseline the bench compares against.

import type { Clock } from "../context";
import { CliError } from "../exitcodes";
import { clusterFilter, LABELS, OWNED_FILTER } from "../../model/dockerlabels";
import { dialAddress } from "../../model/hostaddress";
import { CONTAINER_PORTS } from "../../model/plan";
import { findContainers, type ClusterTarget, type NodeTarget } from "../cluster/target";
import type { ContainerDetails, ContainerSummary, DockerApi } from "../docker/api";
import { KubeRequestError, type KubeApi } from "../kube/api";
import type { ExpectedCluster, NodeRole } from "../readiness/expected";
import { judgeKubernetes } from "../readiness/kube-checks";
import { observeKubernetes, type KubeObservation } from "../readiness/kuberead";
import { serviceUp, serviceView } from "../readiness/services";
import { notBooted } from "../readiness/talos-checks";
import type { MachineStatus, ServiceInfo, TalosApi } from "../../talos/api";
import { TalosApiError } from "../../talos/api";
import { settle, type Settled } from "../settle";
import { type ContainerRow, type Finding, type KubernetesSection, type PortRow, type StatusReport, type TalosRow, type UsageRow } from "./report";
import { expectedNodes, type ExpectedNodes } from "./expected";
import { checkTcp, type PortCheck } from "./tcp";
import { cacheSection, probeCacheSection } from "./caches";
import type { CacheState, RegistryProbe } from "../registrycache/probe";

export interface StatusDeps {
    docker: DockerApi;
    /** absent without a talosconfig */
    talos?: TalosApi;
    /** absent without a kubeconfig */
    kube?: KubeApi;
    checkPort?: (host: string, port: number, timeoutMs: number) => Promise<PortCheck>;
    /** the registry caches' API probe (registrycache/probe.ts checkRegistryApi when absent) */
    checkRegistry?: RegistryProbe;
    clock: Clock;
}

export interface StatusOptions {
    probeTimeoutMs: number;
    sequential?: boolean;
}

/** What the container ports of a node are for. */
const PURPOSE: Record<number, { name: string; api: boolean }> = {
    [CONTAINER_PORTS.kubernetesApi]: { name: "Kubernetes API", api: true },
    [CONTAINER_PORTS.talosApi]: { name: "Talos API", api: true },
    [CONTAINER_PORTS.http]: { name: "ingress http", api: false },
    [CONTAINER_PORTS.https]: { name: "ingress https", api: false },
};

type Run = <T>(tasks: (() => Promise<T>)[]) => Promise<T[]>;
const parallel: Run = (tasks) => Promise.all(tasks.map((t) => t()));
const sequential: Run = async (tasks) => {
    const out = [];
    for (const t of tasks) out.push(await t());
    return out;
};

export async function collectStatus(target: ClusterTarget, deps: StatusDeps, opts: StatusOptions): Promise<StatusReport> {
    const started = deps.clock.now();
    const run = opts.sequential ? sequential : parallel;
    const t = opts.probeTimeoutMs;
    const report: StatusReport = {
        cluster: target.name,
        source: target.source,
        healthy: false,
        elapsedMs: 0,
        containers: { rows: [] },
        network: {},
        talos: { rows: [] },
        kubernetes: { problems: [] },
        resources: { rows: [] },
        ports: { rows: [] },
        registryCache: { rows: [], used: false },
        findings: [],
        notes: [...target.notes],
    };
    const find = (f: Finding) => report.findings.push(f);

    const dockerBranch = async (): Promise<NodeInfo[]> => {
        let summaries: ContainerSummary[];
        try {
            summaries = await guard(t, () => findContainers(target, deps.docker, t));
            report.cluster = target.name;
        } catch (err) {
            if (err instanceof CliError) throw err;
            report.containers.error = message(err);
            find({ section: "containers", severity: "problem", what: `Docker: ${message(err)}`, next: "`npm run doctor` checks what the machine lacks" });
            return target.nodes.map((n) => ({ ...n }));
        }
        const details = await run(summaries.map((s) => async () => {
            try {
                return await guard(t, () => deps.docker.inspectContainer(s.name, t));
            } catch (err) {
                return { name: s.name, error: message(err) };
            }
        }));
        const nodes = mergeNodes(target.nodes, summaries, details);
        containerSection(report, nodes, find);
        const running = details.filter((d): d is ContainerDetails => "running" in d && d.running);
        let caches: CacheState[] = [];
        await run<void>([
            () => networkSection(report, running, deps.docker, t, find),
            async () => {
                caches = await probeCacheSection(report, deps, t);
            },
            () => talosSection(report, nodes, deps.talos, t, run, find),
            () => resourceSection(report, running, deps.docker, t, run, find),
            () => portSection(report, running, deps.checkPort ?? checkTcp, t, run, find),
        ]);
        // After the network section: whether the cluster uses the caches is whether they are on it.
        cacheSection(report, caches, find);
        await restartSection(report, nodes, deps.docker, t, run, find);
        return nodes;
    };

    let kube: KubeProbe = { skipped: "no kubeconfig" };
    let nodes: NodeInfo[] = [];
    await run<void>([
        // Kubernetes needs only the kubeconfig: it does not wait for Docker.
        async () => {
            kube = await kubernetesProbe(deps.kube, t);
        },
        async () => {
            nodes = await dockerBranch();
        },
    ]);
    const containers = nodes.filter((n) => n.container !== undefined || n.error !== undefined).length;
    const expected = expectedNodes(target.nodes.length, containers, nodesListed(kube));
    kubernetesSection(report, kube, expected, nodes, find);
    if (deps.talos === undefined) report.talos.skipped = "no talosconfig";
    report.healthy = !report.findings.some((f) => f.severity === "problem");
    report.elapsedMs = Math.round(deps.clock.now() - started);
    return report;
}

interface NodeInfo {
    name: string;
    role?: string;
    ip?: string;
    container?: ContainerDetails;
    /** why it could not be inspected */
    error?: string;
}

/** The stack's nodes and Docker's containers, by name; the stack's order first. */
function mergeNodes(declared: NodeTarget[], summaries: ContainerSummary[], details: (ContainerDetails | { name: string; error: string })[]): NodeInfo[] {
    const byName = new Map<string, NodeInfo>();
    for (const n of declared) byName.set(n.name, { name: n.name, role: n.role, ip: n.ip });
    summaries.forEach((s, i) => {
        const d = details[i];
        const info = byName.get(s.name) ?? { name: s.name };
        info.role ??= s.labels[LABELS.role];
        if ("running" in d) {
            info.container = d;
            info.ip ??= Object.values(d.networks).find((ip) => ip !== "");
        } else {
            info.error = d.error;
        }
        byName.set(s.name, info);
    });
    const declaredNames = new Set(declared.map((n) => n.name));
    const extra = [...byName.values()].filter((n) => !declaredNames.has(n.name)).sort((a, b) => roleOrder(a) - roleOrder(b) || a.name.localeCompare(b.name));
    return [...declared.map((n) => byName.get(n.name)!), ...extra];
}

const roleOrder = (n: NodeInfo) => (n.role === "controlplane" ? 0 : 1);

function containerSection(report: StatusReport, nodes: NodeInfo[], find: (f: Finding) => void): void {
    if (nodes.length === 0) {
        find({
            section: "containers",
            severity: "problem",
            what: `Docker has no containers of ${report.cluster ? `cluster ${report.cluster}` : "any Talos cluster"}`,
            next: "create the cluster: `pulumi up` (or name another one with --cluster)",
        });
    }
    const now = Date.now();
    for (const n of nodes) {
        const c = n.container;
        const row: ContainerRow = { name: n.name, role: n.role, ip: n.ip, state: c?.status ?? (n.error ? "unknown" : "missing") };
        report.containers.rows.push(row);
        if (c === undefined) {
            find(n.error
                ? { section: "containers", severity: "problem", what: `${n.name}: ${n.error}`, next: `docker inspect ${n.name}` }
                : { section: "containers", severity: "problem", what: `${n.name} is declared by the stack but Docker has no such container`, next: "`pulumi refresh` so Pulumi notices it is gone, then `pulumi up` recreates it" });
            continue;
        }
        row.health = c.health;
        row.restarts = c.restartCount;
        if (c.running) {
            row.startedAt = c.startedAt;
            row.uptimeMs = Math.max(0, now - Date.parse(c.startedAt));
        } else {
            row.exitCode = c.exitCode;
            row.oomKilled = c.oomKilled;
        }
        if (c.status === "restarting") {
            find(restartLoop(n.name, `is restarting: Docker has restarted it ${c.restartCount} times and starts it again`));
        } else if (!c.running) {
            const why = c.oomKilled ? `, killed for lack of memory` : c.status === "exited" ? `, exit code ${c.exitCode}` : "";
            find({
                section: "containers",
                severity: "problem",
                what: `${n.name} is ${c.status}${why}`,
                next: c.oomKilled
                    ? `raise ${n.role === "worker" ? "workers" : "controlPlanes"}.memoryMiB and \`pulumi up\`; \`docker logs ${n.name}\` shows the last boot`
                    : `\`docker logs ${n.name}\` says why; \`docker start ${n.name}\` (or \`pulumi up\`) starts it again`,
            });
        } else if (c.health === "unhealthy") {
            find({ section: "containers", severity: "problem", what: `${n.name} is unhealthy`, next: `docker inspect --format '{{json .State.Health}}' ${n.name}` });
        }
    }
}

/**
 * How long after a restart a node is still called recently restarted. Docker restarts an exiting
 * container after a delay that doubles up to a minute while it keeps failing within 10 s
 * (moby/moby@2454e42e:restartmanager/restartmanager.go), so a loop shows a restart every minute or so.
 */
const RECENT_RESTART_MS = 10 * 60_000;

function restartLoop(name: string, what: string): Finding {
    return {
        section: "containers",
        severity: "problem",
        what: `${name} ${what}: a restart loop`,
        next: `\`docker logs --tail 100 ${name}\` says why it stops; \`docker stop ${name}\` ends the loop while you look`,
    };
}

/**
 * Restarts, once the other probes are done: a running container inspected again whose restart
 * count rose meanwhile is in a restart loop (a problem); one that restarted within the last
 * minutes may be (a warning: one restart after a config apply that rebooted the node is expected).
 */
async function restartSection(
    report: StatusReport,
    nodes: NodeInfo[],
    docker: DockerApi,
    t: number,
    run: Run,
    find: (f: Finding) => void,
): Promise<void> {
    const watched = nodes.filter((n) => n.container?.running === true);
    const again = await run(watched.map((n) => async () => {
        try {
            return await guard(t, () => docker.inspectContainer(n.name, t));
        } catch {
            return undefined; // the first inspection stands
        }
    }));
    const now = Date.now();
    watched.forEach((n, i) => {
        const first = n.container as ContainerDetails;
        const latest = again[i] ?? first;
        const row = report.containers.rows.find((r) => r.name === n.name);
        if (row !== undefined) row.restarts = latest.restartCount;
        if (latest.restartCount > first.restartCount) {
            const rose = latest.restartCount - first.restartCount;
            find(restartLoop(n.name, `restarted ${rose === 1 ? "once" : `${rose} times`} while status ran ` +
                `(${first.restartCount} → ${latest.restartCount})`));
        } else if (first.restartCount > 0 && now - Date.parse(first.startedAt) < RECENT_RESTART_MS) {
            const ago = Math.max(0, Math.round((now - Date.parse(first.startedAt)) / 1000));
            find({
                section: "containers",
                severity: "warning",
                what: `${n.name} has restarted ${first.restartCount} time${first.restartCount === 1 ? "" : "s"}, the last ${ago} s ago`,
                next: `\`npm run status\` again: a count that keeps rising is a restart loop (\`docker logs ${n.name}\` says why)`,
            });
        }
    });
}

async function networkSection(report: StatusReport, running: ContainerDetails[], docker: DockerApi, t: number, find: (f: Finding) => void): Promise<void> {
    try {
        const networks = await guard(t, () => docker.listNetworks(t));
        const ours = networks.find((n) => report.cluster !== undefined && n.labels[LABELS.cluster] === report.cluster)
            ?? networks.find((n) => running.some((c) => n.name in c.networks && n.name !== "bridge"));
        if (ours === undefined) {
            if (report.cluster !== undefined) {
                find({
                    section: "network",
                    severity: "problem",
                    what: `no Docker network is labelled ${clusterFilter(report.cluster)}`,
                    next: "`pulumi up` creates it (after `pulumi refresh` if Pulumi thinks it exists)",
                });
            }
            return;
        }
        const full = await guard(t, () => docker.inspectNetwork(ours.id, t));
        report.network.row = { name: full.name, driver: full.driver, subnets: full.subnets, gateways: full.gateways, mtu: full.mtu, containers: (full.containers ?? []).sort() };
        const detached = running.filter((c) => !(full.name in c.networks)).map((c) => c.name);
        if (detached.length > 0) {
            find({ section: "network", severity: "problem", what: `${detached.join(", ")} not attached to ${full.name}`, next: `docker network connect ${full.name} <container>, or \`pulumi up\`` });
        }
    } catch (err) {
        report.network.error = message(err);
        find({ section: "network", severity: "problem", what: `network: ${message(err)}`, next: "docker network ls" });
    }
}

async function talosSection(report: StatusReport, nodes: NodeInfo[], talos: TalosApi | undefined, t: number, run: Run, find: (f: Finding) => void): Promise<void> {
    if (talos === undefined) return;
    report.talos.endpoint = talos.endpoint;
    const rows = await run(nodes.map((n) => async (): Promise<TalosRow & { fatal?: boolean }> => {
        if (n.ip === undefined) return { node: n.name, error: "no IP known (the container is not running)" };
        const ip = n.ip;
        const [version, services, machine] = await run<Settled<unknown>>([
            () => settle(guard(t, () => talos.version(t, ip))),
            () => settle(guard(t, () => talos.serviceList(t, ip))),
            () => settle(guard(t, () => talos.machineStatus(t, ip))),
        ]);
        if (!version.ok) {
            const err = version.error;
            return { node: n.name, ip, error: err instanceof TalosApiError ? err.reason : message(err), fatal: err instanceof TalosApiError && err.kind === "fatal" };
        }
        const row: TalosRow = { node: n.name, ip, version: (version.value as Awaited<ReturnType<TalosApi["version"]>>).version?.tag ?? "unknown" };
        if (services.ok) {
            row.services = (services.value as ServiceInfo[]).map(serviceView);
        } else {
            row.servicesError = services.error instanceof TalosApiError ? services.error.reason : message(services.error);
        }
        if (machine.ok) {
            const status = machine.value as MachineStatus;
            row.stage = status.stage;
            row.notBooted = notBooted(status);
        } else {
            row.stageError = machine.error instanceof TalosApiError ? machine.error.reason : message(machine.error);
        }
        return row;
    }));
    report.talos.rows = rows.map(({ fatal: _, ...row }) => row);
    const failed = rows.filter((r) => r.error !== undefined);
    const bootstrapNode = nodes[0];
    if (failed.length > 1 && failed.length === rows.length && new Set(failed.map((r) => r.error)).size === 1) {
        find({
            section: "talos",
            severity: "problem",
            what: `the Talos API at ${talos.endpoint} fails for every node: ${failed[0].error}`,
            next: failed[0].fatal
                ? "this talosconfig is not this cluster's: `npm run talosconfig` writes the stack's"
                : `is ${bootstrapNode?.name ?? "the first control plane"} running and its Talos API port published? \`docker logs ${bootstrapNode?.name ?? "<container>"}\``,
        });
        return;
    }
    for (const r of report.talos.rows) {
        const bad = (r.services ?? []).filter((s) => !serviceUp(s));
        if (bad.length > 0) {
            find({
                section: "talos",
                severity: "problem",
                what: `Talos services of ${r.node} (${r.ip}) not healthy: ${bad.map((s) => `${s.id} ${s.state}${s.healthy === false ? ", unhealthy" : ""}${s.message ? ` (${s.message})` : ""}`).join("; ")}`,
                next: `talosctl -n ${r.ip} service ${bad[0].id}; talosctl -n ${r.ip} logs ${bad[0].id}`,
            });
        }
        if (r.notBooted !== undefined) {
            find({
                section: "talos",
                severity: "problem",
                what: `${r.node} (${r.ip}) has not finished its boot sequence: it ${r.notBooted}`,
                next: `\`docker logs ${r.node}\`; talosctl -n ${r.ip} get machinestatus`,
            });
        }
        if (r.stageError !== undefined) {
            find({ section: "talos", severity: "warning", what: `the machine status of ${r.node} could not be read: ${r.stageError}`, next: `talosctl -n ${r.ip} get machinestatus` });
        }
        if (r.servicesError !== undefined) {
            find({ section: "talos", severity: "warning", what: `Talos services of ${r.node} could not be listed: ${r.servicesError}`, next: `talosctl -n ${r.ip} services` });
        }
    }
    for (const r of failed) {
        find({
            section: "talos",
            severity: "problem",
            what: `Talos API of ${r.node}${r.ip ? ` (${r.ip})` : ""}: ${r.error}`,
            next: r.fatal ? "this talosconfig is not this cluster's: `npm run talosconfig` writes the stack's" : `\`docker logs ${r.node}\`${r.ip ? `; talosctl -n ${r.ip} dmesg` : ""}`,
        });
    }
}

type KubeProbe = { skipped: string } | { server: string; obs: KubeObservation } | { server: string; fatal: string };

/** What the API answered for nodes, if it was asked. */
function nodesListed(probe: KubeProbe): KubeObservation["nodes"] {
    return "obs" in probe ? probe.obs.nodes : undefined;
}

async function kubernetesProbe(kube: KubeApi | undefined, t: number): Promise<KubeProbe> {
    if (kube === undefined) return { skipped: "no kubeconfig" };
    try {
        return { server: kube.server, obs: await guard(t + 250, () => observeKubernetes(kube, t)) };
    } catch (err) {
        if (err instanceof KubeRequestError) return { server: kube.server, fatal: err.message };
        return { server: kube.server, obs: { api: { ok: false, reason: message(err) } } };
    }
}

function kubernetesSection(
    report: StatusReport,
    probe: KubeProbe,
    expected: ExpectedNodes,
    nodes: NodeInfo[],
    find: (f: Finding) => void,
): void {
    const k: KubernetesSection = { problems: [] };
    report.kubernetes = k;
    if ("skipped" in probe) {
        k.skipped = probe.skipped;
        return;
    }
    k.server = probe.server;
    const cp = nodes.find((n) => n.role === "controlplane") ?? nodes[0];
    if ("fatal" in probe) {
        k.api = probe.fatal;
        find({ section: "kubernetes", severity: "problem", what: probe.fatal, next: "`npm run kubeconfig` merges this stack's kubeconfig" });
        return;
    }
    const cluster: ExpectedCluster = {
        count: expected.count,
        nodes: nodes.map((n) => ({ name: n.name, ip: n.ip, role: nodeRole(n.role) })),
    };
    // What the cluster shows decides what is checked: status does not read the stack's config.
    const checks = judgeKubernetes(probe.obs, cluster, {}, probe.server);
    const open = checks.filter((c) => c.state === "waiting" || c.state === "pending");
    k.api = probe.obs.api.ok ? "ok" : probe.obs.api.reason;
    if (Array.isArray(probe.obs.nodes)) {
        k.nodesExpected = expected.count;
        k.nodesExpectedFrom = expected.from;
        if (expected.from === "api") {
            report.notes.push(`nodes and per-node pods are judged against the ${expected.count} Node objects the API lists: `
                + "with no stack outputs and no node containers, a node that never registered goes unnoticed");
        }
        k.nodesReady = probe.obs.nodes.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length;
    }
    k.summary = open.length === 0
        ? checks.filter((c) => c.state === "ok").map((c) => c.detail).join(", ")
        : `waiting for ${open[0].title} (${open[0].detail})`;
    k.problems = open.flatMap((c) => (c.state === "waiting" ? c.problems.map((p) => p.text) : [`${c.title}: not judged (${c.detail})`]));
    if (!probe.obs.api.ok) {
        find({
            section: "kubernetes",
            severity: "problem",
            what: `the Kubernetes API at ${probe.server} is not ready: ${probe.obs.api.reason}`,
            next: cp
                ? `\`docker logs ${cp.name}\`; talosctl -n ${cp.ip ?? "<ip>"} service etcd; `
                    + `talosctl -n ${cp.ip ?? "<ip>"} logs kubelet`
                : `docker ps --filter label=${OWNED_FILTER}`,
        });
        return;
    }
    for (const c of open) {
        if (c.state === "pending") {
            find({ section: "kubernetes", severity: "problem", what: `${c.title}: not judged (${c.detail})`, next: "kubectl -n kube-system get pods -o wide" });
            continue;
        }
        for (const p of c.problems) find({ section: "kubernetes", severity: "problem", what: p.text, next: p.read.join("; ") });
    }
}

function nodeRole(role: string | undefined): NodeRole | undefined {
    return role === "controlplane" || role === "worker" ? role : undefined;
}

async function resourceSection(report: StatusReport, running: ContainerDetails[], docker: DockerApi, t: number, run: Run, find: (f: Finding) => void): Promise<void> {
    report.resources.rows = await run(running.map((c) => async (): Promise<UsageRow> => {
        try {
            const u = await guard(t, () => docker.containerUsage(c.name, t));
            if (u.memoryLimitBytes > 0 && u.memoryBytes / u.memoryLimitBytes > 0.9) {
                const role = c.labels[LABELS.role] === "worker" ? "workers" : "controlPlanes";
                find({ section: "resources", severity: "warning", what: `${c.name} uses ${Math.round((100 * u.memoryBytes) / u.memoryLimitBytes)}% of its memory limit`, next: `raise ${role}.memoryMiB and \`pulumi up\` before the kernel kills it` });
            }
            return { name: c.name, ...u };
        } catch (err) {
            return { name: c.name, error: message(err) };
        }
    }));
}

async function portSection(report: StatusReport, running: ContainerDetails[], check: NonNullable<StatusDeps["checkPort"]>, t: number, run: Run, find: (f: Finding) => void): Promise<void> {
    const published = running.flatMap((c) => c.ports.filter((p) => p.protocol === "tcp" && p.hostPort > 0).map((p) => ({ c, p })));
    // Docker publishes on IPv4 and IPv6 alike: one check per host port.
    const unique = published.filter(({ p }, i) => published.findIndex((q) => q.p.hostPort === p.hostPort && dialAddress(q.p.hostIp) === dialAddress(p.hostIp)) === i
        && !(p.hostIp === "::" && published.some((q) => q.p.hostPort === p.hostPort && q.p.hostIp !== "::")));
    report.ports.rows = await run(unique.map(({ c, p }) => async (): Promise<PortRow> => {
        const purpose = PURPOSE[p.containerPort] ?? { name: `port ${p.containerPort}`, api: false };
        const host = dialAddress(p.hostIp);
        const result = await check(host, p.hostPort, t);
        if (!result.reachable && purpose.api) {
            find({
                section: "ports",
                severity: "problem",
                what: `${host}:${p.hostPort} (${purpose.name} of ${c.name}) is not reachable: ${result.detail}`,
                next: `docker port ${c.name}; \`docker logs ${c.name}\` if the container is up but its ${purpose.name} is not`,
            });
        }
        return { container: c.name, purpose: purpose.name, hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.containerPort, reachable: result.reachable, detail: result.detail };
    }));
}

/** A probe's own deadline, whatever the client does: a report never waits longer. */
function guard<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs + 100);
        }),
    ]).finally(() => clearTimeout(timer));
}

function message(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}
