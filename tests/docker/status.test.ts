// `status` against a real Docker Engine (containers labelled like our nodes, from the busybox
// image built by the test) and the fake Talos and Kubernetes APIs: healthy, a stopped container,
// dead APIs; then the clean-up check.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import type { StatusReport } from "../../cli/status/report";
import { kubeconfigFor, makeTestPki, runCli, talosconfigFor, type TestPki } from "../cli/support/harness";
import { labelled, runNodeContainer, useTestEngine, type TestEngine } from "../support/docker-engine";
import { FakeKube, type FakeNodeSpec } from "../support/fake-kube";
import { FakeTalos } from "../support/fake-talos";

const CLUSTER = "st";
const NETWORK = "st-net";
const NODES: (FakeNodeSpec & { role: "controlplane" | "worker" })[] = [
    { name: "st-cp-01", ip: "10.251.1.2", role: "controlplane" },
    { name: "st-worker-01", ip: "10.251.1.3", role: "worker" },
    { name: "st-worker-02", ip: "10.251.1.4", role: "worker" },
];

let pki: TestPki;
let talos: FakeTalos;
let kube: FakeKube;
let files: Record<string, string>;

describe("status against a real Docker Engine", () => {
    const docker = useTestEngine();
    let engine: TestEngine;

    beforeAll(async () => {
        if (docker.skipped) return;
        engine = docker.engine;
        pki = await makeTestPki();
        talos = await FakeTalos.start({ osCa: pki.bundle.certs.os, nodes: Object.fromEntries(NODES.map((n) => [n.ip, {}])) });
        kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s });
        kube.setHealthy(NODES);
        files = { "/t/talosconfig": talosconfigFor(pki, talos.endpoint), "/t/kubeconfig": kubeconfigFor(pki, kube.url) };
        await engine.docker("network", "create", "--subnet", "10.251.1.0/24", "--gateway", "10.251.1.1", "--opt", "com.docker.network.driver.mtu=1500",
            "--label", "talos.owned=true", "--label", `talos.cluster.name=${CLUSTER}`, NETWORK);
        // The first control plane publishes the API ports, the first worker ingress, as planCluster does.
        await Promise.all(NODES.map((n, i) => runNodeContainer(engine, {
            name: n.name, cluster: CLUSTER, role: n.role, network: NETWORK, ip: n.ip,
            publish: i === 0 ? [6443, 50000] : i === 1 ? [80, 443] : [],
            serve: i === 0 ? [6443, 50000] : i === 1 ? [80] : [],
        })));
    });

    afterAll(async () => {
        await talos?.close();
        await kube?.close();
    });

    const status = (...extra: string[]) => runCli(
        ["status", "--cluster", CLUSTER, "--talosconfig", "/t/talosconfig", "--kubeconfig", "/t/kubeconfig", "--timeout", "3s", ...extra],
        { DOCKER_HOST: engine.host, PATH: "/nonexistent" },
        { files },
    );

    it("reports a healthy cluster in seven sections and exits 0", async () => {
        const run = await status();
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        const text = run.out.join("\n");
        expect(text).toMatch(/^Cluster st · client configs from files/);
        expect(text).toContain("Containers (3/3 running)");
        expect(text).toMatch(/st-cp-01\s+controlplane\s+running\s+10\.251\.1\.2\s+-\s+\d+s\s+0/);
        expect(text).toContain("st-net (bridge): subnet 10.251.1.0/24, gateway 10.251.1.1, MTU 1500, 3 containers attached");
        expect(text).toContain(`Talos API (through ${talos.endpoint})`);
        expect(text).toMatch(/st-worker-02\s+10\.251\.1\.4\s+v1\.8\.3\s+9 up/);
        expect(text).toContain("nodes: 3/3 Ready");
        expect(text).toMatch(/st-worker-01\s+\d+\.\d\d%\s+[\d.]+(B|KiB|MiB) \/ 64\.0MiB/);
        expect(text).toMatch(/127\.0\.0\.1:\d+\s+st-cp-01:6443\s+Kubernetes API\s+yes/);
        expect(text).toMatch(/127\.0\.0\.1:\d+\s+st-cp-01:50000\s+Talos API\s+yes/);
        expect(text).toMatch(/127\.0\.0\.1:\d+\s+st-worker-01:443\s+ingress https\s+yes/);
        expect(text).toContain("Summary: healthy");
        // Every node's version was asked of the one endpoint, proxied by node.
        expect(talos.calls.version).toBeGreaterThanOrEqual(3);
    });

    it("--json gives the same report to machines", async () => {
        const run = await status("--json");
        expect(run.code).toBe(ExitCode.OK);
        const report = JSON.parse(run.out.join("\n")) as StatusReport;
        expect(report.healthy).toBe(true);
        expect(report.cluster).toBe(CLUSTER);
        expect(report.containers.rows.map((r) => [r.name, r.role, r.state, r.ip])).toEqual(NODES.map((n) => [n.name, n.role, "running", n.ip]));
        expect(report.talos.rows.map((r) => r.version)).toEqual(["v1.8.3", "v1.8.3", "v1.8.3"]);
        expect(report.kubernetes).toMatchObject({ api: "ok", nodesReady: 3, nodesExpected: 3 });
        expect(report.resources.rows).toHaveLength(3);
        for (const r of report.resources.rows) expect(r.memoryLimitBytes).toBe(64 * 1024 * 1024);
        expect(report.ports.rows.map((p) => [p.container, p.containerPort, p.reachable]).sort()).toEqual([
            ["st-cp-01", 50000, true], ["st-cp-01", 6443, true], ["st-worker-01", 443, true], ["st-worker-01", 80, true],
        ]);
        expect(report.findings).toEqual([]);
    });

    it("names a stopped container, the node Talos cannot reach, with the next step, and exits 5", async () => {
        await engine.docker("stop", "-t", "0", "st-worker-02");
        talos.nodes["10.251.1.4"] = { down: true };
        kube.setNodeNotReady("st-worker-02");
        try {
            const run = await status("--json");
            expect(run.code).toBe(ExitCode.UNHEALTHY);
            const report = JSON.parse(run.out.join("\n")) as StatusReport;
            expect(report.containers.rows[2]).toMatchObject({ name: "st-worker-02", state: "exited", exitCode: 137 });
            expect(report.findings.map((f) => [f.section, f.what, f.next])).toEqual([
                ["containers", "st-worker-02 is exited, exit code 137", "`docker logs st-worker-02` says why; `docker start st-worker-02` (or `pulumi up`) starts it again"],
                ["talos", "Talos API of st-worker-02: no IP known (the container is not running)", "`docker logs st-worker-02`"],
                ["kubernetes", expect.stringMatching(/^node st-worker-02 is NotReady \(KubeletNotReady/), "kubectl describe node st-worker-02; talosctl -n 10.251.1.4 logs kubelet"],
                ["kubernetes", expect.stringMatching(/^pod kube-system\/kube-proxy-\w+ on st-worker-02 is not ready \(Pending: ContainerCreating\)$/), expect.stringMatching(/^kubectl -n kube-system describe pod kube-proxy-\w+; kubectl -n kube-system logs kube-proxy-\w+$/)],
                ["kubernetes", expect.stringMatching(/^pod kube-system\/kube-flannel-\w+ on st-worker-02 is not ready/), expect.stringMatching(/^kubectl -n kube-system describe pod kube-flannel-/)],
            ]);
            expect(run.err).toEqual(["[status] error: 5 problems found (the summary says what to do)"]);
        } finally {
            await engine.docker("start", "st-worker-02");
            talos.nodes["10.251.1.4"] = {};
            kube.setHealthy(NODES);
        }
    });

    it("with every API dead, reports within the probe timeout + 1 s and says where to look", async () => {
        await talos.close();
        await kube.close();
        const run = await status("--timeout", "1s");
        expect(run.code).toBe(ExitCode.UNHEALTHY);
        expect(run.ms).toBeLessThan(2000);
        const text = run.out.join("\n");
        expect(text).toContain(`✗ [talos] the Talos API at ${talos.endpoint} fails for every node: connection refused`);
        expect(text).toContain("next: is st-cp-01 running and its Talos API port published? `docker logs st-cp-01`");
        expect(text).toContain(`✗ [kubernetes] the Kubernetes API at ${kube.url} is not ready: connection refused`);
        expect(text).toContain("next: `docker logs st-cp-01`; talosctl -n 10.251.1.2 service etcd; talosctl -n 10.251.1.2 logs kubelet");
        // Docker's side still answers.
        expect(text).toContain("Containers (3/3 running)");
    });

    it("finds the cluster by its labels when no name is given, and leaves nothing behind once removed", async () => {
        const run = await runCli(["status", "--timeout", "1s", "--json"], { DOCKER_HOST: engine.host, PATH: "/nonexistent" });
        const report = JSON.parse(run.out.join("\n")) as StatusReport;
        expect(report.cluster).toBe(CLUSTER);
        expect(report.notes[0]).toMatch(/^no stack outputs \(the Pulumi CLI \(pulumi\) is not on PATH\)/);
        expect(report.talos.skipped).toBe("no talosconfig");

        await engine.docker("rm", "-f", "-v", ...NODES.map((n) => n.name));
        await engine.docker("network", "rm", NETWORK);
        expect(await labelled(engine, CLUSTER)).toEqual({ containers: [], volumes: [], networks: [] });
        const after = await runCli(["status", "--cluster", CLUSTER, "--timeout", "1s"], { DOCKER_HOST: engine.host, PATH: "/nonexistent" });
        expect(after.code).toBe(ExitCode.UNHEALTHY);
        expect(after.out.join("\n")).toContain("✗ [containers] Docker has no containers of cluster st");
    });
});
