// doctor as a command, against the in-memory Docker (tests/support/fake-docker.ts): the checks run
// together under one deadline, what the engine being down or silent does to them, the ports a
// container explains, the printed report and its exit codes, --json, and an invalid stack config.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { parseClusterSpec } from "../../components/config";
import { runChecks, TOOLS, type Check, type DoctorDeps } from "../../cli/doctor/checks";
import { DockerError, type EngineInfo } from "../../cli/docker/api";
import { ExitCode } from "../../cli/exitcodes";
import { FakeDocker, fakeNode } from "../support/fake-docker";
import { runCli } from "./support/harness";

const reference = parseClusterSpec({});

describe("doctor: the checks together", () => {
    const deps = (docker: FakeDocker, over: Partial<DoctorDeps> = {}): DoctorDeps => ({ docker, portState: async () => "free", which: () => undefined, ...over });
    const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.name, c]));

    it("with the engine down: it fails with the client's own advice, the checks that need it are skipped, ports and tools still checked", async () => {
        const docker = new FakeDocker();
        docker.down = true;
        const checks = byName(await runChecks(reference, deps(docker), 1000));
        expect(checks["Docker Engine"]).toEqual({ name: "Docker Engine", status: "fail", detail: "the Docker Engine at unix:///fake/docker.sock is not running (ECONNREFUSED): start it" });
        for (const name of ["cgroup v2", "memory", "CPUs", "image", "subnet"]) expect(checks[name]).toEqual({ name, status: "skip", detail: "needs the Docker Engine" });
        expect(checks["port 6444"]).toMatchObject({ status: "ok", detail: "127.0.0.1:6444 (kubernetesApi) is free" });
        expect(checks.kubectl).toMatchObject({ status: "warn", fix: "install it: https://kubernetes.io/docs/tasks/tools/" });
    });

    it("an engine that does not answer: the check says so with a next step, by the deadline", async () => {
        const docker = new (class extends FakeDocker {
            info(timeoutMs?: number): Promise<EngineInfo> {
                return new Promise((_, reject) => setTimeout(() => reject(new DockerError("timeout", "docker info: no answer")), timeoutMs));
            }
        })();
        const started = Date.now();
        const checks = byName(await runChecks(reference, deps(docker), 300));
        expect(Date.now() - started).toBeLessThan(1000);
        expect(checks["Docker Engine"]).toEqual({
            name: "Docker Engine",
            status: "fail",
            detail: "the Docker Engine at unix:///fake/docker.sock did not answer within 0.3 s",
            fix: "check that it runs and is not stuck (sudo systemctl status docker; docker info), or give it longer (--timeout 30s)",
        });
    });

    it("the image: present, pullable, or neither (a silent registry within the same deadline)", async () => {
        const image = reference.image;
        const docker = new FakeDocker();
        expect(byName(await runChecks(reference, deps(docker), 1000)).image).toEqual({ name: "image", status: "ok", detail: `${image} is present` });
        docker.hasImage = async () => false;
        expect(byName(await runChecks(reference, deps(docker), 1000)).image).toEqual({ name: "image", status: "ok", detail: `${image} is not present; its registry has it (pulled by pulumi up)` });
        (docker as { checkPullable: (name: string, timeoutMs: number) => Promise<void> }).checkPullable = (_name, timeoutMs) =>
            new Promise((_, reject) => setTimeout(() => reject(new DockerError("timeout", "late")), timeoutMs));
        const started = Date.now();
        const check = byName(await runChecks(reference, deps(docker), 400)).image;
        expect(Date.now() - started).toBeLessThan(1000);
        expect(check).toEqual({
            name: "image",
            status: "fail",
            detail: `${image} is not present, and its registry did not answer within 0.4 s`,
            fix: `check the name and your registry access (docker pull ${image}), or load it from a file (docker load -i talos.tar), or set talos-docker:image`,
        });
        docker.checkPullable = async () => {
            throw new DockerError("other", `the registry of ${image}: manifest unknown`);
        };
        expect(byName(await runChecks(reference, deps(docker), 1000)).image).toMatchObject({ status: "fail", detail: `${image} is not present and cannot be pulled: the registry of ${image}: manifest unknown` });
    });

    it("ports: a container of another cluster publishing one, this cluster's holding one, a process holding one, one below 1024 not bindable", async () => {
        const docker = new FakeDocker();
        docker.containers = [
            fakeNode({ name: "kind-control-plane", cluster: "kind", role: "controlplane", ip: "172.18.0.2", network: "kind", ports: [{ containerPort: 6443, hostPort: 6444 }] }),
            fakeNode({ name: "talos-worker-01", cluster: "talos", role: "worker", ip: "172.30.0.3", network: "talos-net", ports: [{ containerPort: 80, hostPort: 80 }] }),
        ];
        const asked: string[] = [];
        const portState = async (host: string, port: number) => {
            asked.push(`${host}:${port}`);
            return port === 50000 ? "taken" : port === 443 ? "EPERM" : "free";
        };
        const checks = byName(await runChecks(reference, deps(docker, { portState }), 1000));
        expect(checks["port 6444"]).toEqual({
            name: "port 6444",
            status: "fail",
            detail: "127.0.0.1:6444 (kubernetesApi) is published by container kind-control-plane",
            fix: "stop it (docker rm -f kind-control-plane), or set talos-docker:ports.kubernetesApi to a free port",
        });
        expect(checks["port 80"]).toEqual({ name: "port 80", status: "ok", detail: "127.0.0.1:80 (http) is in use by this cluster's talos-worker-01" });
        expect(checks["port 50000"]).toMatchObject({ status: "fail", detail: "127.0.0.1:50000 (talosApi) is taken by another process", fix: expect.stringContaining("ss -ltnp 'sport = :50000'") });
        expect(checks["port 443"]).toMatchObject({ status: "warn", detail: "127.0.0.1:443 (https) could not be checked (EPERM)" });
        // Only the ports no container explains are tried, and only on the bind address.
        expect(asked.sort()).toEqual(["127.0.0.1:443", "127.0.0.1:50000"]);
    });

    it("without a spec (the config is invalid) only the engine, cgroup and tools are checked", async () => {
        const checks = await runChecks(undefined, deps(new FakeDocker(), { which: (c) => `/usr/bin/${c}` }), 1000);
        expect(checks.map((c) => `${c.name}:${c.status}`)).toEqual(["Docker Engine:ok", "cgroup v2:ok", "pulumi:ok", "kubectl:ok", "talosctl:ok"]);
    });
});

/** Four distinct ports free on 127.0.0.1 now (held together while picked). */
async function freePorts(): Promise<{ kubernetesApi: number; talosApi: number; http: number; https: number }> {
    const servers = [0, 1, 2, 3].map(() => createServer());
    const ports = await Promise.all(servers.map((s) => new Promise<number>((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)))));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    return { kubernetesApi: ports[0], talosApi: ports[1], http: ports[2], https: ports[3] };
}

describe("doctor: the command", () => {
    let dir: string;
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "talos-docker-doctor-cmd-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const run = (args: string[], docker: FakeDocker, env: Record<string, string> = {}) =>
        runCli(["doctor", "--project-dir", dir, ...args], { PATH: dir, ...env }, { clients: { docker: () => docker } });

    it("prints a line a check, the fix under each problem, and a summary; exit 5 on a failure", async () => {
        // doctor binds the ports for real: free ones of 127.0.0.1.
        writeFileSync(join(dir, "Pulumi.lab.yaml"), `config:\n  talos-docker:clusterName: lab\n  talos-docker:ports: ${JSON.stringify(await freePorts())}\n`);
        const docker = new FakeDocker();
        docker.info_ = { ...docker.info_, cgroupVersion: "1" };
        const r = await run([], docker);
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        expect(r.err).toEqual(["[doctor] error: 1 check failed"]);
        expect(r.out[0]).toBe(`Checking ${join(dir, "Pulumi.lab.yaml")} against this machine`);
        expect(r.out).toContain("  ✗ cgroup v2      the engine runs cgroup v1; Talos in a container needs cgroup v2");
        expect(r.out).toContain(" ".repeat(19) + "fix: boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line; the default of current distributions and Docker Desktop), then restart Docker");
        expect(r.out).toContain("  ! talosctl       not on PATH (talks to Talos (make shell-cp, talosctl dashboard))");
        expect(r.out).toContain("  ✓ subnet         172.30.0.0/24 overlaps no Docker network");
        expect(r.out.at(-1)).toBe("1 problem to fix before pulumi up");
    });

    it("warnings alone exit 0; --json prints the list", async () => {
        const ports = await freePorts();
        writeFileSync(join(dir, "Pulumi.lab.yaml"), `config:\n  talos-docker:ports: ${JSON.stringify(ports)}\n`);
        const docker = new FakeDocker();
        const text = await run([], docker);
        expect(text.code).toBe(ExitCode.OK);
        expect(text.out.at(-1)).toBe("Ready for pulumi up (3 warnings)");
        const json = await run(["--json"], docker);
        expect(json.code).toBe(ExitCode.OK);
        const report = JSON.parse(json.out.join("\n")) as { ok: boolean; stackFile: string; checks: Check[] };
        expect(report.ok).toBe(true);
        expect(report.stackFile).toBe(join(dir, "Pulumi.lab.yaml"));
        expect(report.checks.map((c) => c.name)).toEqual(["stack config", "Docker Engine", "cgroup v2", "memory", "CPUs", "image", "subnet", ...Object.values(ports).map((p) => `port ${p}`), "pulumi", "kubectl", "talosctl"]);
    });

    it("a config warning is the stack-config check's warning, with its fix; exit 0", async () => {
        writeFileSync(join(dir, "Pulumi.lab.yaml"), `config:\n  talos-docker:controlPlanes:\n    count: 2\n  talos-docker:ports: ${JSON.stringify(await freePorts())}\n`);
        const r = await run([], new FakeDocker());
        expect(r.code).toBe(ExitCode.OK);
        const i = r.out.findIndex((l) => l.startsWith("  ! stack config"));
        expect(r.out.slice(i, i + 4)).toEqual([
            `  ! stack config   ${join(dir, "Pulumi.lab.yaml")}: 2 control plane(s) + 2 worker(s), Talos v1.8.3`,
            `${" ".repeat(19)}1 warning:`,
            `${" ".repeat(21)}- talos-docker:controlPlanes.count = 2: an even count adds no fault tolerance: etcd needs a majority (2 of 2) ` +
                "to keep working, so 2 control planes survive no failure, the same as 1; use 1 or 3",
            `${" ".repeat(21)}  fix: pulumi config set --path 'talos-docker:controlPlanes.count' 3`,
        ]);
    });

    it("an invalid stack config is a failure listing its problems; Docker and the tools are still checked", async () => {
        writeFileSync(join(dir, "Pulumi.lab.yaml"), "config:\n  talos-docker:workers:\n    count: 500\n  talos-docker:secretsFile: missing.yaml\n");
        const r = await run([], new FakeDocker());
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        const i = r.out.findIndex((l) => l.startsWith("  ✗ stack config"));
        expect(r.out[i]).toBe("  ✗ stack config   invalid stack configuration (2 problems); nothing was created:");
        // Each problem with its own fix, as pulumi up prints them, and no generic fix line.
        expect(r.out.slice(i + 1, i + 5)).toEqual([
            `${" ".repeat(21)}- talos-docker:workers.count = 500: must be an integer from 0 to 250`,
            `${" ".repeat(21)}  fix: pulumi config set --path 'talos-docker:workers.count' 250`,
            `${" ".repeat(21)}- talos-docker:secretsFile = "missing.yaml": cannot be read (no such file: ${join(dir, "missing.yaml")}); ` +
                "give the path of a talosctl secrets.yaml, relative to the project directory",
            `${" ".repeat(21)}  fix: write it (talosctl gen secrets -o missing.yaml), or pulumi config rm talos-docker:secretsFile to generate new secrets`,
        ]);
        expect(r.out[i + 5]).not.toMatch(/^\s+fix:/);
        expect(r.out).toContain("  ✓ Docker Engine  28.2.2 at unix:///fake/docker.sock (fake)");
        expect(r.out.some((l) => l.includes("subnet") || l.includes("port "))).toBe(false);
    });

    it("an executable on PATH counts; a directory or a plain file of that name does not", async () => {
        mkdirSync(join(dir, "pulumi"));
        writeFileSync(join(dir, "kubectl"), "");
        writeFileSync(join(dir, "talosctl"), "#!/bin/sh\n");
        chmodSync(join(dir, "talosctl"), 0o755);
        const r = await run(["--json", "--stack", "none"], new FakeDocker());
        const checks = (JSON.parse(r.out.join("\n")) as { checks: Check[] }).checks;
        expect(checks.filter((c) => TOOLS.some((t) => t.command === c.name)).map((c) => `${c.name}:${c.status}`)).toEqual(["pulumi:warn", "kubectl:warn", "talosctl:ok"]);
    });

    it("no engine at DOCKER_HOST: the failure says how to start one", async () => {
        const r = await runCli(["doctor", "--project-dir", dir, "--json"], { DOCKER_HOST: `unix://${join(dir, "no.sock")}`, PATH: dir });
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        const checks = (JSON.parse(r.out.join("\n")) as { checks: Check[] }).checks;
        expect(checks.find((c) => c.name === "Docker Engine")).toMatchObject({ status: "fail", detail: `the Docker Engine at unix://${join(dir, "no.sock")} is not running (ENOENT): start it (sudo systemctl start docker, or Docker Desktop), or set DOCKER_HOST to where it listens` });
    });

    it("an unusable DOCKER_HOST is the engine check's failure, not a crash", async () => {
        const r = await runCli(["doctor", "--project-dir", dir, "--json"], { DOCKER_HOST: "ssh://somewhere", PATH: dir });
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        const checks = (JSON.parse(r.out.join("\n")) as { checks: Check[] }).checks;
        expect(checks.find((c) => c.name === "Docker Engine")).toMatchObject({ status: "fail", detail: 'DOCKER_HOST "ssh://somewhere" is not unix:///path or tcp://host:port' });
    });
});
