// The status report as a person reads it: the seven sections as aligned tables, then the summary
// with one next step per problem. (--json prints the StatusReport itself.)

import { REGISTRY_CACHE_BIND_ADDRESS } from "../../model/registries";
import { EXPECTED_FROM } from "./expected";
import { serviceUp } from "../readiness/services";
import type { StatusReport } from "./report";

export function renderStatus(r: StatusReport): string[] {
    const out: string[] = [];
    const section = (title: string) => out.push("", title);
    out.push(`Cluster ${r.cluster ?? "(unknown)"} · client configs from ${r.source} · checked in ${(r.elapsedMs / 1000).toFixed(1)} s`);
    for (const note of r.notes) out.push(`  note: ${note}`);

    const running = r.containers.rows.filter((c) => c.state === "running").length;
    section(`Containers (${running}/${r.containers.rows.length} running)`);
    if (r.containers.error) out.push(`  ${r.containers.error}`);
    else if (r.containers.rows.length > 0) {
        out.push(...table(
            ["NAME", "ROLE", "STATE", "IP", "HEALTH", "UPTIME", "RESTARTS"],
            r.containers.rows.map((c) => [
                c.name,
                c.role ?? "-",
                c.state + (c.exitCode !== undefined && c.state !== "running" ? ` (${c.oomKilled ? "OOM killed" : `exit ${c.exitCode}`})` : ""),
                c.ip ?? "-",
                c.health ?? "-",
                c.uptimeMs !== undefined ? uptime(c.uptimeMs) : "-",
                c.restarts !== undefined ? String(c.restarts) : "-",
            ]),
        ));
    }

    section("Network");
    const n = r.network.row;
    if (n) {
        out.push(`  ${n.name} (${n.driver}): subnet ${n.subnets.join(", ") || "-"}, gateway ${n.gateways.join(", ") || "-"}, MTU ${n.mtu ?? "default"}, ${n.containers.length} containers attached`);
    } else out.push(`  ${r.network.error ?? (r.containers.error ? "not checked: Docker did not answer" : "no network of this cluster")}`);

    section(`Talos API${r.talos.endpoint ? ` (through ${r.talos.endpoint})` : ""}`);
    if (r.talos.skipped) out.push(`  not checked: ${r.talos.skipped}`);
    else {
        out.push(...table(["NODE", "IP", "VERSION", "SERVICES"], r.talos.rows.map((t) => [
            t.node,
            t.ip ?? "-",
            t.version ?? `error: ${t.error}`,
            t.error !== undefined ? "-" : t.servicesError !== undefined ? `error: ${t.servicesError}` : services(t.services ?? []),
        ])));
    }

    const k = r.kubernetes;
    section(`Kubernetes${k.server ? ` (${k.server})` : ""}`);
    if (k.skipped) out.push(`  not checked: ${k.skipped}`);
    else {
        out.push(`  API: ${k.api === "ok" ? "ready" : k.api}`);
        if (k.nodesExpected !== undefined) {
            const from = k.nodesExpectedFrom === undefined ? "" : ` (expected: ${EXPECTED_FROM[k.nodesExpectedFrom]})`;
            out.push(`  nodes: ${k.nodesReady}/${k.nodesExpected} Ready${from}`);
        }
        if (k.summary) out.push(`  ${k.summary}`);
    }

    section("Resources");
    if (r.resources.rows.length === 0) out.push("  no running containers");
    else {
        out.push(...table(
            ["NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O"],
            r.resources.rows.map((u) => u.error !== undefined ? [u.name, "-", "-", "-", "-", `error: ${u.error}`] : [
                u.name,
                `${(u.cpuPercent ?? 0).toFixed(2)}%`,
                `${bytes(u.memoryBytes)} / ${bytes(u.memoryLimitBytes)}`,
                u.memoryLimitBytes ? `${((100 * (u.memoryBytes ?? 0)) / u.memoryLimitBytes).toFixed(1)}%` : "-",
                `${bytes(u.netRxBytes)} / ${bytes(u.netTxBytes)}`,
                `${bytes(u.blockReadBytes)} / ${bytes(u.blockWriteBytes)}`,
            ]),
        ));
    }

    section("Ports");
    if (r.ports.rows.length === 0) out.push("  none published (no running container publishes a port)");
    else {
        out.push(...table(
            ["HOST", "CONTAINER", "FOR", "REACHABLE"],
            r.ports.rows.map((p) => [`${p.hostIp || "0.0.0.0"}:${p.hostPort}`, `${p.container}:${p.containerPort}`, p.purpose, p.reachable ? "yes" : `no: ${p.detail}`]),
        ));
    }

    out.push(...cacheLines(r.registryCache));

    const problems = r.findings.filter((f) => f.severity === "problem");
    const warnings = r.findings.filter((f) => f.severity === "warning");
    const unchecked = [r.talos.skipped ? "Talos API" : "", r.kubernetes.skipped ? "Kubernetes" : ""].filter((s) => s !== "");
    section(
        `Summary: ${r.healthy ? "healthy" : `unhealthy, ${problems.length} problem${problems.length === 1 ? "" : "s"}`}` +
            `${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}` : ""}` +
            `${unchecked.length ? ` (not checked: ${unchecked.join(", ")})` : ""}`,
    );
    for (const f of [...problems, ...warnings]) {
        out.push(`  ${f.severity === "problem" ? "✗" : "!"} [${f.section}] ${f.what}`);
        out.push(`      next: ${f.next}`);
    }
    if (r.healthy && warnings.length === 0) out.push(unchecked.length ? "  everything checked answers" : "  everything answers");
    return out;
}

/** The registry caches, when this machine has any (a section of its own only then). */
function cacheLines(caches: StatusReport["registryCache"]): string[] {
    if (caches.error !== undefined) return ["", "Registry caches", `  not checked: ${caches.error}`];
    if (caches.rows.length === 0) return [];
    const title = `Registry caches (${caches.used ? "used by this cluster" : "not attached to this cluster's network"})`;
    return ["", title, ...table(
        ["REGISTRY", "CONTAINER", "STATE", "HOST", "API", "CACHED", "NETWORKS"],
        caches.rows.map((c) => [
            c.registry,
            c.container,
            c.foreign === true ? `${c.state} (not the cache)` : c.state,
            `${REGISTRY_CACHE_BIND_ADDRESS}:${c.hostPort}`,
            c.api === undefined ? "-" : c.api.reachable ? "answers" : `no: ${c.api.detail}`,
            c.diskBytes !== undefined ? bytes(c.diskBytes) : c.volumePresent ? "(volume kept)" : "-",
            Object.entries(c.networks).map(([n, ip]) => `${n}=${ip}`).join(", ") || "-",
        ]),
    )];
}

/** "9 running, healthy" or the ones that are not. */
function services(list: NonNullable<StatusReport["talos"]["rows"][number]["services"]>): string {
    const bad = list.filter((s) => !serviceUp(s));
    if (bad.length === 0) return `${list.length} up`;
    return bad.map((s) => `${s.id} ${s.state}${s.healthy === false ? " (unhealthy)" : ""}`).join(", ");
}

function table(head: string[], rows: string[][]): string[] {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ")}`.trimEnd();
    return [line(head), ...rows.map(line)];
}

export function bytes(n: number | undefined): string {
    if (n === undefined) return "-";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = n;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
        v /= 1024;
        u++;
    }
    return `${u === 0 ? v : v.toFixed(1)}${units[u]}`;
}

/** 45s, 12m, 3h04m, 2d05h */
export function uptime(ms: number): string {
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m`;
    const h = Math.floor(m / 60);
    if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
    return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}
