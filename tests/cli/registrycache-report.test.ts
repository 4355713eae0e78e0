// What status and doctor say of the shared registry caches, against the in-memory engine with
// caches made by `registry-cache attach` itself (tests/support/fake-docker-writer.ts); the
// registry API probe is injected (tests/docker/registrycache.test.ts runs the real one).

import { beforeEach, describe, expect, it } from "vitest";

import { runChecks, type Check, type DoctorDeps } from "../../cli/doctor/checks";
import { attachArgs } from "../../cli/registrycache/args";
import { collectStatus } from "../../cli/status/collect";
import { renderStatus } from "../../cli/status/render";
import type { RegistryCheck } from "../../cli/registrycache/probe";
import { systemClock } from "../../cli/context";
import { parseClusterSpec } from "../../model/config";
import { fakeNode } from "../support/fake-docker";
import { clusterNetwork, FakeDockerWriter } from "../support/fake-docker-writer";
import { asRawConfig } from "../support/stack";
import { runCli } from "./support/harness";

let docker: FakeDockerWriter;
/** host port → what the registry API probe answers; a port not listed answers */
let api: Record<number, RegistryCheck>;
const checkRegistry = async (_host: string, port: number): Promise<RegistryCheck> => api[port] ?? { reachable: true, detail: "registry API answers (200)" };

beforeEach(async () => {
    docker = new FakeDockerWriter();
    api = {};
    docker.networks.push(clusterNetwork("talos-net", "172.30.0.0/24", "talos"), clusterNetwork("lab-net", "10.77.0.0/24", "lab"));
    docker.containers.push(fakeNode({ name: "talos-cp-01", cluster: "talos", role: "controlplane", ip: "172.30.0.2", network: "talos-net" }));
});

async function attach(network: string, subnet: string): Promise<void> {
    const r = await runCli(attachArgs(network, subnet), {}, { clients: { dockerWriter: () => docker } });
    expect(r.code).toBe(0);
}

async function status() {
    const target = { name: "talos", source: "test", nodes: [], notes: [] };
    return collectStatus(target, { docker, checkRegistry, clock: systemClock, checkPort: async () => ({ reachable: true, detail: "accepts connections" }) }, { probeTimeoutMs: 500 });
}

describe("status", () => {
    it("shows no section on a machine without caches", async () => {
        const report = await status();
        expect(report.registryCache).toEqual({ rows: [], used: false });
        expect(renderStatus(report).join("\n")).not.toContain("Registry caches");
    });

    it("lists the caches the cluster uses: state, API, size, networks; all well, no finding", async () => {
        await attach("talos-net", "172.30.0.0/24");
        docker.usageBytes["talos-registry-cache-docker.io"] = 3 * 2 ** 30;
        const report = await status();
        expect(report.registryCache.used).toBe(true);
        expect(report.registryCache.rows).toHaveLength(5);
        expect(report.registryCache.rows[0]).toMatchObject({
            registry: "docker.io", state: "running", hostPort: 5000, volumePresent: true, diskBytes: 3 * 2 ** 30,
            api: { reachable: true }, networks: { "talos-registry-cache": expect.any(String), "talos-net": "172.30.0.248" },
        });
        expect(report.findings.filter((f) => f.section === "registryCache")).toEqual([]);
        const text = renderStatus(report).join("\n");
        expect(text).toContain("Registry caches (used by this cluster)");
        expect(text).toMatch(/docker\.io +talos-registry-cache-docker\.io +running +127\.0\.0\.1:5000 +answers +3\.0GiB +talos-registry-cache=\S+, talos-net=172\.30\.0\.248/);
    });

    it("warns of a stopped cache, one that does not answer, one removed and one not attached; the cluster stays healthy", async () => {
        await attach("talos-net", "172.30.0.0/24");
        Object.assign(docker.containers.find((c) => c.name === "talos-registry-cache-quay.io") ?? {}, { running: false, status: "exited" });
        api[5001] = { reachable: false, detail: "connection refused" };
        await docker.removeContainer("talos-registry-cache-gcr.io");
        await docker.disconnectNetwork("talos-net", "talos-registry-cache-ghcr.io");
        const report = await status();
        expect(report.findings.filter((f) => f.section === "registryCache")).toEqual([
            { section: "registryCache", severity: "warning", what: "the registry cache talos-registry-cache-registry.k8s.io does not answer on 127.0.0.1:5001: connection refused",
                next: "docker logs talos-registry-cache-registry.k8s.io" },
            { section: "registryCache", severity: "warning", what: "the registry cache talos-registry-cache-quay.io is exited",
                next: "docker start talos-registry-cache-quay.io, or `npm run registry-cache -- up` (or `pulumi up` of a stack with registryCache.enabled)" },
            { section: "registryCache", severity: "warning", what: "the registry cache of gcr.io has no container (its volume talos-registry-cache-gcr.io is kept)",
                next: "`npm run registry-cache -- up` (or `pulumi up` of a stack with registryCache.enabled)" },
            { section: "registryCache", severity: "warning",
                what: "the registry cache talos-registry-cache-ghcr.io is not attached to talos-net (the nodes' mirror is 172.30.0.244): the nodes pull ghcr.io images from the registry itself",
                next: "npm run registry-cache -- attach --network talos-net --subnet 172.30.0.0/24, or `pulumi up`" },
        ]);
        expect(report.findings.some((f) => f.section === "registryCache" && f.severity === "problem")).toBe(false);
    });

    it("says another cluster's caches are not this cluster's", async () => {
        await attach("lab-net", "10.77.0.0/24");
        const report = await status();
        expect(report.registryCache.used).toBe(false);
        expect(report.registryCache.rows).toHaveLength(5);
        expect(report.findings.filter((f) => f.section === "registryCache")).toEqual([]);
        expect(renderStatus(report).join("\n")).toContain("Registry caches (not attached to this cluster's network)");
    });
});

describe("doctor", () => {
    const deps = (over: Partial<DoctorDeps> = {}): DoctorDeps => ({ docker, portState: async () => "free", which: () => undefined, checkRegistry, ...over });
    const cacheChecks = (checks: Check[]) => checks.filter((c) => c.name.startsWith("cache") || c.name === "registry caches");
    const enabled = parseClusterSpec(asRawConfig({ registryCache: { enabled: true } }));

    it("with the cache enabled and none made: each can be made, and registry:2 must be at hand", async () => {
        const checks = cacheChecks(await runChecks(enabled, deps(), 1000));
        expect(checks.map((c) => [c.name, c.status])).toEqual([
            ["cache docker.io", "ok"], ["cache registry.k8s.io", "ok"], ["cache quay.io", "ok"], ["cache gcr.io", "ok"], ["cache ghcr.io", "ok"],
            ["cache image", "ok"],
        ]);
        expect(checks[0].detail).toBe("not made yet: `pulumi up` makes talos-registry-cache-docker.io on 127.0.0.1:5000");
        expect(checks[5].detail).toBe("registry:2 is not present; its registry has it (pulled by pulumi up)");
    });

    it("fails a cache whose port another process holds, and an image that cannot be pulled", async () => {
        docker.checkPullable = () => Promise.reject(new Error("pull access denied"));
        const checks = cacheChecks(await runChecks(enabled, deps({ portState: async (_h, port) => (port === 5003 ? "taken" : "free") }), 1000));
        expect(checks.find((c) => c.name === "cache gcr.io")).toEqual({
            name: "cache gcr.io", status: "fail",
            detail: "127.0.0.1:5003 is taken by another process: the cache of gcr.io cannot publish its port there",
            fix: "`ss -ltnp 'sport = :5003'` shows which; stop it, or set talos-docker:registryCache.enabled false",
        });
        expect(checks.find((c) => c.name === "cache image")).toMatchObject({ status: "fail", detail: "registry:2 is not present and cannot be pulled: pull access denied" });
    });

    it("reports running caches with their size, and one that does not answer", async () => {
        await attach("lab-net", "10.77.0.0/24");
        docker.usageBytes["talos-registry-cache-docker.io"] = 512 * 2 ** 20;
        api[5004] = { reachable: false, detail: "no answer in 1000 ms" };
        const checks = cacheChecks(await runChecks(enabled, deps(), 1000));
        expect(checks).toHaveLength(5);
        expect(checks[0]).toEqual({ name: "cache docker.io", status: "ok",
            detail: "talos-registry-cache-docker.io runs, its registry API answers on 127.0.0.1:5000; 512.0MiB cached in volume talos-registry-cache-docker.io" });
        expect(checks[4]).toEqual({ name: "cache ghcr.io", status: "warn",
            detail: "talos-registry-cache-ghcr.io runs, but its registry API on 127.0.0.1:5004 does not answer: no answer in 1000 ms",
            fix: "docker logs talos-registry-cache-ghcr.io" });
    });

    it("with the cache off: one line when caches exist, nothing when none do", async () => {
        expect(cacheChecks(await runChecks(parseClusterSpec({}), deps(), 1000))).toEqual([]);
        await attach("lab-net", "10.77.0.0/24");
        expect(cacheChecks(await runChecks(parseClusterSpec({}), deps(), 1000))).toEqual([{
            name: "registry caches", status: "ok",
            detail: "5 of 5 on this machine (docker.io running, registry.k8s.io running, quay.io running, gcr.io running, ghcr.io running); " +
                "this stack does not use them (talos-docker:registryCache.enabled is false)",
        }]);
    });
});
