// `status` with an in-memory Docker (tests/support/fake-docker.ts) and the fake Talos and
// Kubernetes APIs: the findings and next steps for what a real engine cannot easily be made to
// do (an OOM kill, a port nothing answers on, a memory-starved node, several clusters), the
// cluster found through `pulumi stack output`, and that probes overlap.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { renderTalosconfig } from "../../talos/clientconfig";
import type { StatusReport } from "../../cli/status/report";
import { FakeDocker, fakeNode } from "../support/fake-docker";
import { FakeKube, type FakeNodeSpec } from "../support/fake-kube";
import { FakeTalos, HEALTHY_SERVICES } from "../support/fake-talos";
import { kubeconfigFor, makeTestPki, runCli, talosconfigFor, type TestPki } from "./support/harness";

let pki: TestPki;
let talos: FakeTalos;
let kube: FakeKube;
let dir: string;

const NET = "talos-net";
const NODES: (FakeNodeSpec & { role: "controlplane" | "worker" })[] = [
    { name: "talos-cp-01", ip: "172.30.0.2", role: "controlplane" },
    { name: "talos-worker-01", ip: "172.30.0.3", role: "worker" },
    { name: "talos-worker-02", ip: "172.30.0.4", role: "worker" },
];

beforeAll(async () => {
    pki = await makeTestPki();
    talos = await FakeTalos.start({ osCa: pki.bundle.certs.os, nodes: Object.fromEntries(NODES.map((n) => [n.ip, {}])) });
    kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s });
    kube.setHealthy(NODES);
    dir = mkdtempSync(join(tmpdir(), "talos-docker-status-"));
});

afterAll(async () => {
    await talos.close();
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
});

const listeners: Server[] = [];
afterEach(async () => {
    await Promise.all(listeners.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A port on 127.0.0.1 that accepts connections (as Docker's proxy does for a published port). */
async function openPort(): Promise<number> {
    const server = createServer((s) => s.on("error", () => {}));
    listeners.push(server);
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
    await new Promise((r) => server.close(r));
    return port;
}

async function healthyDocker(): Promise<FakeDocker> {
    const docker = new FakeDocker();
    docker.networks = [{ id: "n1", name: NET, driver: "bridge", subnets: ["172.30.0.0/24"], gateways: ["172.30.0.1"], mtu: 1500, labels: { "talos.owned": "true", "talos.cluster.name": "talos" } }];
    const [api, apid, http, https] = await Promise.all([openPort(), openPort(), openPort(), openPort()]);
    docker.containers = NODES.map((n, i) => fakeNode({
        ...n, cluster: "talos", network: NET,
        ports: i === 0 ? [{ containerPort: 6443, hostPort: api }, { containerPort: 50000, hostPort: apid }] : i === 1 ? [{ containerPort: 80, hostPort: http }, { containerPort: 443, hostPort: https }] : [],
    }));
    return docker;
}

const files = () => ({ "/talosconfig": talosconfigFor(pki, talos.endpoint), "/kubeconfig": kubeconfigFor(pki, kube.url) });
const ARGS = ["status", "--cluster", "talos", "--talosconfig", "/talosconfig", "--kubeconfig", "/kubeconfig", "--timeout", "1s", "--json"];

async function status(docker: FakeDocker, extra: string[] = [], env: Record<string, string> = {}, f = files()) {
    const run = await runCli([...ARGS, ...extra], { PATH: "/nonexistent", ...env }, { files: f, clients: { docker: () => docker } });
    const report = run.out.length > 0 && run.out[0].startsWith("{") ? (JSON.parse(run.out.join("\n")) as StatusReport) : undefined;
    return { ...run, report };
}

describe("status", () => {
    it("is healthy when every probe answers, and exits 0", async () => {
        const run = await status(await healthyDocker());
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.report?.healthy).toBe(true);
        expect(run.report?.network.row).toEqual({ name: NET, driver: "bridge", subnets: ["172.30.0.0/24"], gateways: ["172.30.0.1"], mtu: 1500, containers: NODES.map((n) => n.name) });
        expect(run.report?.ports.rows.every((p) => p.reachable)).toBe(true);
    });

    it("names an OOM-killed node and the key to raise", async () => {
        const docker = await healthyDocker();
        Object.assign(docker.containers[2], { status: "exited", running: false, exitCode: 137, oomKilled: true });
        const run = await status(docker);
        expect(run.code).toBe(ExitCode.UNHEALTHY);
        expect(run.report?.findings[0]).toEqual({
            section: "containers",
            severity: "problem",
            what: "talos-worker-02 is exited, killed for lack of memory",
            next: "raise workers.memoryMiB and `pulumi up`; `docker logs talos-worker-02` shows the last boot",
        });
    });

    it("reports an API port nothing answers on as a problem, an ingress port as information only", async () => {
        const docker = await healthyDocker();
        docker.containers[0].ports[0].hostPort = await closedPort();
        docker.containers[1].ports[0].hostPort = await closedPort();
        const run = await status(docker);
        const port = docker.containers[0].ports[0].hostPort;
        expect(run.report?.findings).toEqual([{
            section: "ports",
            severity: "problem",
            what: `127.0.0.1:${port} (Kubernetes API of talos-cp-01) is not reachable: connection refused`,
            next: "docker port talos-cp-01; `docker logs talos-cp-01` if the container is up but its Kubernetes API is not",
        }]);
        expect(run.report?.ports.rows.find((p) => p.containerPort === 80)).toMatchObject({ reachable: false, detail: "connection refused" });
    });

    it("names a node that has not finished its boot sequence, as wait judges it", async () => {
        talos.nodes["172.30.0.3"] = { machineStatus: { stage: "booting", ready: false, unmetConditions: [{ name: "time", reason: "time is not in sync yet" }] } };
        try {
            const run = await status(await healthyDocker());
            expect(run.code).toBe(ExitCode.UNHEALTHY);
            expect(run.report?.talos.rows.map((r) => r.stage)).toEqual(["running", "booting", "running"]);
            expect(run.report?.findings).toEqual([{
                section: "talos",
                severity: "problem",
                what: "talos-worker-01 (172.30.0.3) has not finished its boot sequence: it is booting (time: time is not in sync yet)",
                next: "`docker logs talos-worker-01`; talosctl -n 172.30.0.3 get machinestatus",
            }]);
        } finally {
            talos.nodes["172.30.0.3"] = {};
        }
    });

    it("names the Talos services of a node that are not up, with the talosctl commands to read", async () => {
        talos.nodes["172.30.0.2"] = {
            services: [
                ...HEALTHY_SERVICES.filter((x) => x.id !== "etcd" && x.id !== "kubelet"),
                { id: "etcd", state: "Preparing", health: { unknown: true, healthy: false, last_message: "" } },
                { id: "kubelet", state: "Running", health: { unknown: false, healthy: false, last_message: "Get \"http://127.0.0.1:10248/healthz\": connection refused" } },
            ],
        };
        try {
            const docker2 = await healthyDocker();
            const run = await status(docker2);
            expect(run.code).toBe(ExitCode.UNHEALTHY);
            expect(run.report?.findings).toEqual([{
                section: "talos",
                severity: "problem",
                what: 'Talos services of talos-cp-01 (172.30.0.2) not healthy: etcd Preparing; kubelet Running, unhealthy (Get "http://127.0.0.1:10248/healthz": connection refused)',
                next: "talosctl -n 172.30.0.2 service etcd; talosctl -n 172.30.0.2 logs etcd",
            }]);
            expect(run.report?.talos.rows[1].services).toHaveLength(9);
            const text = await runCli(ARGS.filter((a) => a !== "--json"), { PATH: "/nonexistent" }, { files: files(), clients: { docker: () => docker2 } });
            expect(text.out.join("\n")).toMatch(/talos-cp-01\s+172\.30\.0\.2\s+v1\.8\.3\s+etcd Preparing, kubelet Running \(unhealthy\)\n\s+talos-worker-01\s+172\.30\.0\.3\s+v1\.8\.3\s+9 up/);
        } finally {
            talos.nodes["172.30.0.2"] = {};
        }
    });

    it("warns, without failing, when a node is near its memory limit", async () => {
        const docker = await healthyDocker();
        docker.containers[1].usage = { cpuPercent: 40, memoryBytes: 3900 * 2 ** 20, memoryLimitBytes: 4096 * 2 ** 20, netRxBytes: 0, netTxBytes: 0, blockReadBytes: 0, blockWriteBytes: 0 };
        const run = await status(docker);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.report?.findings).toEqual([{ section: "resources", severity: "warning", what: "talos-worker-01 uses 95% of its memory limit", next: "raise workers.memoryMiB and `pulumi up` before the kernel kills it" }]);
    });

    it("says the talosconfig is not this cluster's when the Talos API's certificate is not from its CA", async () => {
        const other = await makeTestPki();
        const run = await status(await healthyDocker(), [], {}, { ...files(), "/talosconfig": talosconfigFor(pki, talos.endpoint, { ca: other.bundle.certs.os.crt }) });
        expect(run.code).toBe(ExitCode.UNHEALTHY);
        expect(run.report?.findings.map((f) => [f.section, f.next])).toEqual([
            ["talos", "this talosconfig is not this cluster's: `npm run talosconfig` writes the stack's"],
        ]);
    });

    it("says to start Docker when the engine is down, and still checks the APIs", async () => {
        const docker = await healthyDocker();
        docker.down = true;
        const run = await status(docker);
        expect(run.code).toBe(ExitCode.UNHEALTHY);
        expect(run.report?.findings[0]).toMatchObject({ section: "containers", what: expect.stringMatching(/^Docker: the Docker Engine at unix:\/\/\/fake\/docker.sock is not running/), next: "`npm run doctor` checks what the machine lacks" });
        expect(run.report?.kubernetes.api).toBe("ok");
    });

    it("asks for --cluster when Docker has several Talos clusters and nothing names one", async () => {
        const docker = await healthyDocker();
        docker.containers.push(fakeNode({ name: "lab-cp-01", cluster: "lab", role: "controlplane", ip: "172.31.0.2", network: "lab-net" }));
        const run = await runCli(["status"], { PATH: "/nonexistent" }, { clients: { docker: () => docker } });
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(["[status] error: Docker has several Talos clusters (lab, talos): name one with --cluster NAME"]);
    });

    it("reads the stack's outputs through `pulumi stack output --json`, and names a declared node Docker lacks", async () => {
        const bin = join(dir, "bin");
        mkdirSync(bin, { recursive: true });
        const outputs = { talosconfig: renderTalosconfig({ contextName: "talos", endpoints: [talos.endpoint], ca: pki.bundle.certs.os.crt, crt: pki.talosAdmin.crt, key: pki.talosAdmin.key }), kubeconfig: kubeconfigFor(pki, kube.url), nodes: NODES.map((n) => ({ name: n.name, role: n.role, ip: n.ip, container: n.name })) };
        writeFileSync(join(dir, "outputs.json"), JSON.stringify(outputs));
        writeFileSync(join(bin, "pulumi"), `#!/bin/sh\necho "$@" >> "${dir}/calls"\ncat "${dir}/outputs.json"\n`, { mode: 0o755 });
        const docker = await healthyDocker();
        docker.containers.splice(2, 1);
        const run = await runCli(["status", "--stack", "dev", "--timeout", "1s", "--json"], { PATH: `${bin}:/usr/bin:/bin` }, { clients: { docker: () => docker } });
        expect(run.err).toEqual(["[status] error: 1 problem found (the summary says what to do)"]);
        expect(readFileSync(join(dir, "calls"), "utf8")).toBe("stack output --json --show-secrets --stack dev\n");
        const report = JSON.parse(run.out.join("\n")) as StatusReport;
        expect(report.source).toBe("stack dev");
        expect(report.cluster).toBe("talos");
        expect(report.containers.rows.map((r) => [r.name, r.state])).toEqual([["talos-cp-01", "running"], ["talos-worker-01", "running"], ["talos-worker-02", "missing"]]);
        // Two containers, but the stack declares three nodes: those are what Kubernetes is judged against.
        expect(report.kubernetes).toMatchObject({ nodesReady: 3, nodesExpected: 3, nodesExpectedFrom: "stack" });
        // The stack knows its IP: the Talos API is still asked about it.
        expect(report.talos.rows.map((r) => r.version)).toEqual(["v1.8.3", "v1.8.3", "v1.8.3"]);
        expect(report.findings[0]).toEqual({
            section: "containers",
            severity: "problem",
            what: "talos-worker-02 is declared by the stack but Docker has no such container",
            next: "`pulumi refresh` so Pulumi notices it is gone, then `pulumi up` recreates it",
        });
        expect(run.code).toBe(ExitCode.UNHEALTHY);
    });

    it("with only --kubeconfig, judges against the Node objects the API lists, says so, and still misses no per-node pod", async () => {
        const kubeProxy = kube.pods.findIndex((p) => p.metadata.labels?.["k8s-app"] === "kube-proxy" && p.spec?.nodeName === "talos-worker-02");
        kube.pods.splice(kubeProxy, 1);
        try {
            const args = ["status", "--kubeconfig", "/kubeconfig", "--timeout", "1s"];
            const run = await runCli([...args, "--json"], { PATH: "/nonexistent" }, { files: files(), clients: { docker: () => new FakeDocker() } });
            expect(run.code).toBe(ExitCode.UNHEALTHY);
            const report = JSON.parse(run.out.join("\n")) as StatusReport;
            expect(report.kubernetes).toMatchObject({ api: "ok", nodesReady: 3, nodesExpected: 3, nodesExpectedFrom: "api", problems: ["kube-proxy: 2 of 3 pods ready"] });
            expect(report.notes).toContain("nodes and per-node pods are judged against the 3 Node objects the API lists: with no stack outputs and no node containers, a node that never registered goes unnoticed");
            expect(report.findings.map((f) => f.what)).toEqual(["Docker has no containers of cluster test", "no Docker network is labelled talos.cluster.name=test", "kube-proxy: 2 of 3 pods ready"]);
            const text = await runCli(args, { PATH: "/nonexistent" }, { files: files(), clients: { docker: () => new FakeDocker() } });
            expect(text.out).toContain("  nodes: 3/3 Ready (expected: the Node objects the API lists (no stack outputs, no node containers))");
        } finally {
            kube.setHealthy(NODES);
        }
    });

    it("judges against the node containers Docker has when the stack declares none", async () => {
        const run = await status(await healthyDocker());
        expect(run.report?.kubernetes).toMatchObject({ nodesReady: 3, nodesExpected: 3, nodesExpectedFrom: "containers" });
        const docker = await healthyDocker();
        docker.containers.push(fakeNode({ name: "talos-worker-03", cluster: "talos", role: "worker", ip: "172.30.0.5", network: NET }));
        const four = await status(docker);
        expect(four.report?.kubernetes).toMatchObject({ nodesReady: 3, nodesExpected: 4, nodesExpectedFrom: "containers" });
        expect(four.report?.kubernetes.problems).toContain("only 3 of 4 nodes have registered (missing: talos-worker-03)");
    });

    it("runs the probes side by side: 20 slow stats take about one, --sequential takes twenty", async () => {
        const docker = await healthyDocker();
        for (let i = 4; i <= 20; i++) docker.containers.push(fakeNode({ name: `talos-worker-${String(i).padStart(2, "0")}`, cluster: "talos", role: "worker", ip: `172.30.0.${i + 1}`, network: NET }));
        docker.statsLatencyMs = 100;
        const parallel = await status(docker);
        expect(docker.maxInFlight).toBeGreaterThanOrEqual(20);
        docker.maxInFlight = 0;
        const sequential = await status(docker, ["--sequential"]);
        expect(docker.maxInFlight).toBe(1);
        expect(parallel.report?.resources.rows).toHaveLength(20);
        expect(sequential.report?.resources.rows).toHaveLength(20);
        expect(sequential.ms).toBeGreaterThan(20 * 100);
        expect(parallel.ms).toBeLessThan(sequential.ms / 3);
    });
});

