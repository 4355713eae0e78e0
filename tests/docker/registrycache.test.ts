// The registry caches against a real Docker Engine, with a stand-in for registry:2 (busybox
// answering the registry API: tests/support/docker-engine.ts standInRegistryImage): made by
// `registry-cache attach` as a stack's pulumi up runs it, shared by two cluster networks, seen by
// status and doctor (running, the API on 127.0.0.1, disk used), detached as pulumi destroy does,
// and what rm keeps. The caches' host ports are fixed (5000–5004 on 127.0.0.1): the file skips
// when another process holds one.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Check } from "../../cli/doctor/checks";
import { ExitCode } from "../../cli/exitcodes";
import { attachArgs, detachArgs } from "../../cli/registrycache/args";
import type { StatusReport } from "../../cli/status/report";
import { cacheAddresses, cachePlans, REGISTRY_CACHE_LABEL, REGISTRY_CACHE_NETWORK } from "../../model/registries";
import { runCli } from "../cli/support/harness";
import { runNodeContainer, standInRegistryImage, useTestEngine, type TestEngine } from "../support/docker-engine";

/**
 * /24s of 10.252.0.0/16 that no interface of the host has: a bridge left by an engine that stopped
 * with its networks (a test run that was killed) keeps its route, and a network of the same subnet
 * would then not be reached from the host.
 */
function freeSubnets(count: number): string[] {
    // The host's routes (/proc/net/route: destinations in little-endian hex), which list a bridge
    // that is down too; os.networkInterfaces() leaves those out.
    const routes = existsSync("/proc/net/route") ? readFileSync("/proc/net/route", "utf8").split("\n").slice(1) : [];
    const used = new Set(routes.map((line) => line.split(/\s+/)[1]).filter((hex) => hex !== undefined && hex.length === 8)
        .map((hex) => [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(".")));
    const free: string[] = [];
    for (let n = 1; n < 255 && free.length < count; n++) {
        if (!used.has(`10.252.${n}.0`)) free.push(`10.252.${n}.0/24`);
    }
    return free;
}

const [SUBNET_A, SUBNET_B, SUBNET_CACHES] = freeSubnets(3);
const A = { cluster: "rca", network: "rca-net", subnet: SUBNET_A };
const B = { cluster: "rcb", network: "rcb-net", subnet: SUBNET_B };

function portFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = createServer();
        server.once("error", () => resolve(false));
        server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve(true)));
    });
}

describe("registry caches against a real Docker Engine", () => {
    const docker = useTestEngine();
    let engine: TestEngine;
    let image: string;
    let dir: string;
    let busy: number[] = [];

    beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), "talos-docker-caches-"));
        if (docker.skipped) return;
        engine = docker.engine;
        busy = (await Promise.all(cachePlans().map(async (p) => ((await portFree(p.hostPort)) ? undefined : p.hostPort))))
            .filter((p): p is number => p !== undefined);
        if (busy.length > 0) process.stderr.write(`[registry cache docker tests skipped] 127.0.0.1 ports ${busy.join(", ")} are in use\n`);
        image = await standInRegistryImage(engine);
        // The caches' own network, as registry-cache makes it (and adopts it, by its label), but on a
        // subnet of its own: Docker's default pool would give each test file's engine the same
        // 172.x block, and the engines' bridges would then route each other's published ports.
        await engine.docker("network", "create", "--subnet", SUBNET_CACHES, "--label", `${REGISTRY_CACHE_LABEL}=network`, REGISTRY_CACHE_NETWORK);
        for (const c of [A, B]) {
            await engine.docker("network", "create", "--subnet", c.subnet, "--label", "talos.owned=true", "--label", `talos.cluster.name=${c.cluster}`, c.network);
        }
        await runNodeContainer(engine, { name: "rca-cp-01", cluster: A.cluster, role: "controlplane", network: A.network, ip: SUBNET_A.replace(/0\/24$/, "2") });
    }, 120_000);

    afterAll(async () => {
        rmSync(dir, { recursive: true, force: true });
        if (docker.skipped) return;
        // Before the engine stops: a network left behind keeps its Linux bridge and route on the host
        // after dockerd is gone, and the next run's network of the same subnet would not be reached.
        const left = (await engine.docker("ps", "-aq", "--filter", `label=${REGISTRY_CACHE_LABEL}`)).split("\n").filter((l) => l !== "");
        if (left.length > 0) await engine.docker("rm", "-f", ...left);
        await engine.docker("rm", "-f", "rca-cp-01").catch(() => "");
        for (const network of [A.network, B.network, REGISTRY_CACHE_NETWORK]) await engine.docker("network", "rm", network).catch(() => "");
    });

    const env = () => ({ DOCKER_HOST: engine.host, PATH: "/nonexistent" });
    const cli = (args: string[]) => runCli([...args, ...(args[1] === "attach" || args[1] === "up" ? ["--image", image] : [])], env());
    const inspect = async (name: string) => JSON.parse(await engine.docker("inspect", name))[0] as {
        Id: string; State: { Running: boolean }; Config: { Labels: Record<string, string>; Env: string[] };
        NetworkSettings: { Networks: Record<string, { IPAMConfig?: { IPv4Address?: string } }> };
        HostConfig: { PortBindings: Record<string, { HostIp: string; HostPort: string }[]>; RestartPolicy: { Name: string } };
        Mounts: { Type: string; Name: string; Destination: string }[];
    };
    const status = async () => {
        const run = await runCli(["status", "--cluster", A.cluster, "--timeout", "3s", "--json"], env());
        return JSON.parse(run.out.join("\n")) as StatusReport;
    };
    const doctor = async () => {
        writeFileSync(join(dir, "Pulumi.test.yaml"), JSON.stringify({ config: {
            "talos-docker:clusterName": A.cluster, "talos-docker:network": { name: A.network, subnet: A.subnet },
            "talos-docker:registryCache": { enabled: true },
        } }));
        const run = await runCli(["doctor", "--project-dir", dir, "--json", "--timeout", "5s"], env());
        const checks = (JSON.parse(run.out.join("\n")) as { checks: Check[] }).checks;
        return Object.fromEntries(checks.map((c) => [c.name, c]));
    };

    it("attach makes the five caches, each with its volume, labels, port and remote, on the cluster network", async ({ skip }) => {
        if (busy.length > 0) skip(`127.0.0.1 ports ${busy.join(", ")} are in use`);
        const run = await cli(attachArgs(A.network, A.subnet));
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        const addresses = cacheAddresses(A.subnet);
        for (const plan of cachePlans()) {
            const c = await inspect(plan.container);
            expect(c.State.Running).toBe(true);
            expect(c.Config.Labels[REGISTRY_CACHE_LABEL]).toBe(plan.registry);
            expect(c.Config.Env).toContain(`REGISTRY_PROXY_REMOTEURL=${plan.remoteUrl}`);
            expect(c.HostConfig.PortBindings["5000/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(plan.hostPort) }]);
            expect(c.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
            expect(c.Mounts).toEqual([expect.objectContaining({ Type: "volume", Name: plan.volume, Destination: "/var/lib/registry" })]);
            expect(c.NetworkSettings.Networks[A.network].IPAMConfig?.IPv4Address).toBe(addresses[plan.registry]);
            expect(Object.keys(c.NetworkSettings.Networks).sort()).toEqual([A.network, REGISTRY_CACHE_NETWORK].sort());
        }
        const volumes = (await engine.docker("volume", "ls", "--filter", `label=${REGISTRY_CACHE_LABEL}`, "--format", "{{.Name}}")).trim().split("\n");
        expect(volumes.sort()).toEqual(cachePlans().map((p) => p.volume).sort());
    }, 120_000);

    it("a second cluster shares them: the same containers, attached to its network too", async ({ skip }) => {
        if (busy.length > 0) skip(`127.0.0.1 ports ${busy.join(", ")} are in use`);
        const before = await Promise.all(cachePlans().map(async (p) => (await inspect(p.container)).Id));
        const run = await cli(attachArgs(B.network, B.subnet));
        expect(run.code).toBe(ExitCode.OK);
        const after = await Promise.all(cachePlans().map(async (p) => inspect(p.container)));
        expect(after.map((c) => c.Id)).toEqual(before);
        for (const [i, plan] of cachePlans().entries()) {
            expect(after[i].NetworkSettings.Networks[B.network].IPAMConfig?.IPv4Address).toBe(cacheAddresses(B.subnet)[plan.registry]);
            expect(after[i].NetworkSettings.Networks[A.network]).toBeDefined();
        }
    }, 60_000);

    it("status: running, the registry API answers on 127.0.0.1, and what each holds", async ({ skip }) => {
        if (busy.length > 0) skip(`127.0.0.1 ports ${busy.join(", ")} are in use`);
        const report = await status();
        expect(report.registryCache.used).toBe(true);
        expect(report.registryCache.rows.map((r) => [r.registry, r.state, r.api?.reachable])).toEqual(
            cachePlans().map((p) => [p.registry, "running", true]));
        for (const row of report.registryCache.rows) expect(row.diskBytes).toBeGreaterThan(0);
        expect(report.findings.filter((f) => f.section === "registryCache")).toEqual([]);
    }, 60_000);

    it("doctor: each cache runs and answers, with its size", async ({ skip }) => {
        if (busy.length > 0) skip(`127.0.0.1 ports ${busy.join(", ")} are in use`);
        const checks = await doctor();
        for (const plan of cachePlans()) {
            expect(checks[`cache ${plan.registry}`]).toMatchObject({ status: "ok" });
            expect(checks[`cache ${plan.registry}`].detail).toMatch(
                new RegExp(`^${plan.container} runs, its registry API answers on 127\\.0\\.0\\.1:${plan.hostPort}; [\\d.]+K?i?B cached in volume ${plan.volume}$`));
        }
        expect(checks["cache image"]).toBeUndefined();
    }, 60_000);

    it("a stopped cache is a warning in both", async ({ skip }) => {
        if (busy.length > 0) skip(`127.0.0.1 ports ${busy.join(", ")} are in use`);
        await engine.docker("stop", "-t", "1", "talos-registry-cache-quay.io");
        const report = await status();
        expect(report.findings.filter((f) => f.section === "registryCache").map((f) => [f.severity, f.what])).toEqual([
            ["warning", "the registry cache talos-registry-cache-quay.io is exited"],
        ]);
        expect((await doctor())["cache quay.io"]).toMatchObject({ status: "warn", detail: "talos-registry-cache-quay.io is exited: the nodes pull from quay.io itself" });
        expect((await cli(["registry-cache", "up"])).code).toBe(ExitCode.OK);
        expect((await inspect("talos-registry-cache-quay.io")).State.Running).toBe(true);
    }, 60_000);

    it("detach (pulumi destroy) lets the cluster network go and keeps the caches for the other", async ({ skip }) => {
        if (busy.length > 0) skip(`127.0.0.1 ports ${busy.join(", ")} are in use`);
        expect((await cli(detachArgs(A.network))).code).toBe(ExitCode.OK);
        await engine.docker("rm", "-f", "rca-cp-01");
        await engine.docker("network", "rm", A.network);
        for (const plan of cachePlans()) {
            const c = await inspect(plan.container);
            expect(c.State.Running).toBe(true);
            expect(Object.keys(c.NetworkSettings.Networks).sort()).toEqual([B.network, REGISTRY_CACHE_NETWORK].sort());
        }
    }, 60_000);

    it("rm keeps what they cached, rm --volumes removes it; nothing of theirs is left", async ({ skip }) => {
        if (busy.length > 0) skip(`127.0.0.1 ports ${busy.join(", ")} are in use`);
        expect((await cli(["registry-cache", "rm"])).code).toBe(ExitCode.OK);
        const lines = (s: string) => s.split("\n").filter((l) => l.trim() !== "");
        const filter = `label=${REGISTRY_CACHE_LABEL}`;
        expect(lines(await engine.docker("ps", "-a", "--filter", filter, "--format", "{{.Names}}"))).toEqual([]);
        expect(lines(await engine.docker("volume", "ls", "--filter", filter, "--format", "{{.Name}}"))).toHaveLength(5);
        // A cache made again finds its data.
        expect((await cli(["registry-cache", "up"])).code).toBe(ExitCode.OK);
        expect(await engine.docker("exec", "talos-registry-cache-docker.io", "cat", "/var/lib/registry/docker/blob")).toContain("registry-1.docker.io");
        expect((await cli(["registry-cache", "rm", "--volumes"])).code).toBe(ExitCode.OK);
        expect(lines(await engine.docker("volume", "ls", "--filter", filter, "--format", "{{.Name}}"))).toEqual([]);
        expect(lines(await engine.docker("network", "ls", "--filter", filter, "--format", "{{.Name}}"))).toEqual([]);
    }, 60_000);
});
