// `doctor` against a real Docker Engine, for a stack file in a temporary project: the engine's
// facts as `docker info` tells them, the image, and the conflicts it must find — a port published
// by another cluster's container or held by a process, a port held by this cluster (fine), a
// subnet that overlaps an existing network, an image that is neither present nor pullable.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import type { Check } from "../../cli/doctor/checks";
import { runCli } from "../cli/support/harness";
import { TEST_IMAGE, useTestEngine, type TestEngine } from "../support/docker-engine";

const CLUSTER = "dr";

async function freePort(): Promise<number> {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
    await new Promise((r) => server.close(r));
    return port;
}

describe("doctor against a real Docker Engine", () => {
    const docker = useTestEngine();
    let engine: TestEngine;
    let dir: string;
    let ports: { kubernetesApi: number; talosApi: number; http: number; https: number };
    const cleanup: string[][] = [];
    const servers: Server[] = [];

    function stack(over: Record<string, unknown> = {}): void {
        const config = {
            "talos-docker:clusterName": CLUSTER,
            "talos-docker:image": TEST_IMAGE,
            "talos-docker:network": { name: "dr-net", subnet: "10.251.2.0/24" },
            "talos-docker:controlPlanes": { count: 1, cpus: 2, memoryMiB: 2048 },
            "talos-docker:workers": { count: 1, cpus: 1, memoryMiB: 1024 },
            "talos-docker:ports": { bindAddress: "127.0.0.1", ...ports },
            ...over,
        };
        writeFileSync(join(dir, "Pulumi.test.yaml"), JSON.stringify({ config }));
    }

    async function doctor(): Promise<{ code: number; checks: Record<string, Check>; out: string[] }> {
        const run = await runCli(["doctor", "--project-dir", dir, "--json"], { DOCKER_HOST: engine.host, PATH: "/nonexistent" });
        const report = JSON.parse(run.out.join("\n")) as { checks: Check[] };
        return { code: run.code, checks: Object.fromEntries(report.checks.map((c) => [c.name, c])), out: run.out };
    }

    beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), "talos-docker-doctor-"));
        if (docker.skipped) return;
        engine = docker.engine;
        ports = { kubernetesApi: await freePort(), talosApi: await freePort(), http: await freePort(), https: await freePort() };
    });

    afterEach(async () => {
        for (const args of cleanup.splice(0).reverse()) await engine.docker(...args).catch(() => "");
        await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    });

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("reports the engine's facts, the image and free ports for a stack that fits", async () => {
        stack();
        const cgroup = (await engine.docker("info", "--format", "{{.CgroupVersion}}")).trim();
        const r = await doctor();
        expect(r.checks["stack config"]).toMatchObject({ status: "ok", detail: `${join(dir, "Pulumi.test.yaml")}: 1 control plane(s) + 1 worker(s), Talos v1.8.3` });
        expect(r.checks["Docker Engine"]).toMatchObject({ status: "ok", detail: expect.stringContaining(`at ${engine.host}`) });
        // Kubernetes 1.31 (the reference) runs on cgroup v1 too, in maintenance mode: a warning there.
        expect(r.checks["cgroup v2"].status).toBe(cgroup === "2" ? "ok" : "warn");
        expect(r.checks.image).toEqual({ name: "image", status: "ok", detail: `${TEST_IMAGE} is present` });
        expect(r.checks.subnet).toEqual({ name: "subnet", status: "ok", detail: "10.251.2.0/24 overlaps no Docker network" });
        expect(r.checks[`port ${ports.kubernetesApi}`]).toMatchObject({ status: "ok", detail: `127.0.0.1:${ports.kubernetesApi} (kubernetesApi) is free` });
        expect(r.checks.pulumi).toMatchObject({ status: "warn", fix: "install it: https://www.pulumi.com/docs/install/" });
        expect(r.code).toBe(ExitCode.OK);
    });

    it("judges the engine's real cgroup version against the kubelet of Kubernetes 1.35, which refuses cgroup v1", async () => {
        stack({ "talos-docker:talosVersion": "v1.12.11", "talos-docker:kubernetesVersion": "1.35.4" });
        const cgroup = (await engine.docker("info", "--format", "{{.CgroupVersion}}")).trim();
        const r = await doctor();
        if (cgroup === "2") {
            expect(r.checks["cgroup v2"]).toEqual({ name: "cgroup v2", status: "ok", detail: "the engine runs cgroup v2" });
            expect(r.code).toBe(ExitCode.OK);
        } else {
            expect(r.checks["cgroup v2"]).toMatchObject({
                status: "fail",
                detail: `the engine runs cgroup v${cgroup}: the kubelet of Kubernetes 1.35.4 refuses to start on it (failCgroupV1 defaults to true from 1.35), so no node becomes Ready; Talos itself runs`,
            });
            expect(r.code).toBe(ExitCode.UNHEALTHY);
        }
    });

    it("finds a port published by another cluster's container, one held by a process, and accepts its own cluster's", async () => {
        stack();
        await engine.docker("network", "create", "other-net");
        cleanup.push(["network", "rm", "other-net"]);
        await engine.docker("run", "-d", "--name", "other-cp-01", "--network", "other-net", "--label", "talos.cluster.name=other", "-p", `127.0.0.1:${ports.kubernetesApi}:6443`, TEST_IMAGE, "sleep", "3600");
        cleanup.push(["rm", "-f", "other-cp-01"]);
        await engine.docker("network", "create", "--label", `talos.cluster.name=${CLUSTER}`, "--subnet", "10.251.2.0/24", "dr-net");
        cleanup.push(["network", "rm", "dr-net"]);
        await engine.docker("run", "-d", "--name", "dr-worker-01", "--network", "dr-net", "--label", `talos.cluster.name=${CLUSTER}`, "-p", `127.0.0.1:${ports.http}:80`, TEST_IMAGE, "sleep", "3600");
        cleanup.push(["rm", "-f", "dr-worker-01"]);
        const process = createServer();
        servers.push(process);
        await new Promise<void>((resolve) => process.listen(ports.talosApi, "127.0.0.1", () => resolve()));

        const r = await doctor();
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        expect(r.checks[`port ${ports.kubernetesApi}`]).toEqual({
            name: `port ${ports.kubernetesApi}`,
            status: "fail",
            detail: `127.0.0.1:${ports.kubernetesApi} (kubernetesApi) is published by other-cp-01, a node of the Talos cluster other`,
            fix: "if cluster other is no longer needed, destroy it: `pulumi destroy` in the stack that made it, or talosctl cluster destroy --name other if talosctl did; " +
                "else give this cluster another port: pulumi config set --path talos-docker:ports.kubernetesApi <free port> --stack test",
        });
        expect(r.checks[`port ${ports.talosApi}`]).toEqual({
            name: `port ${ports.talosApi}`,
            status: "fail",
            detail: `127.0.0.1:${ports.talosApi} (talosApi) is taken by another process`,
            fix: `\`ss -ltnp 'sport = :${ports.talosApi}'\` shows which; stop it, or give this cluster another port: pulumi config set --path talos-docker:ports.talosApi <free port> --stack test`,
        });
        expect(r.checks[`port ${ports.http}`]).toMatchObject({ status: "ok", detail: `127.0.0.1:${ports.http} (http) is in use by this cluster's dr-worker-01` });
        // Its own network, with its own subnet, is no overlap.
        expect(r.checks.subnet).toMatchObject({ status: "ok", detail: "10.251.2.0/24 is this cluster's network dr-net" });
    });

    it("finds a subnet that overlaps an existing network, and proposes a free one", async () => {
        stack();
        await engine.docker("network", "create", "--subnet", "10.251.2.128/25", "lab-net");
        cleanup.push(["network", "rm", "lab-net"]);
        const r = await doctor();
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        expect(r.checks.subnet).toEqual({
            name: "subnet",
            status: "fail",
            detail: "10.251.2.0/24 overlaps Docker network lab-net (10.251.2.128/25)",
            fix: expect.stringMatching(/^set talos-docker:network\.subnet to a free range, e\.g\. 172\.\d+\.\d+\.0\/24$/),
        });
    });

    it("fails an image that is neither present nor pullable, saying how to get it", async () => {
        // A registry on 127.0.0.1 that is not there: the engine's pull check fails without leaving the machine.
        stack({ "talos-docker:image": "127.0.0.1:1/siderolabs/talos:v1.8.3" });
        const r = await doctor();
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        expect(r.checks.image).toMatchObject({
            status: "fail",
            detail: expect.stringMatching(/^127\.0\.0\.1:1\/siderolabs\/talos:v1\.8\.3 is not present and cannot be pulled: /),
            fix: "check the name and your registry access (docker pull 127.0.0.1:1/siderolabs/talos:v1.8.3), or load it from a file (docker load -i talos.tar), or set talos-docker:image",
        });
    });
});
