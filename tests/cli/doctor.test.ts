// doctor as a command, against the in-memory Docker (tests/support/fake-docker.ts): the checks run
// together under one deadline, what the engine being down or silent does to them, the ports a
// container explains, the printed report and its exit codes, --json, and an invalid stack config.

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { parseClusterSpec } from "../../model/config";
import { PREVIEW_NEEDS_ENGINE, runChecks, TOOLS, type Check, type DoctorDeps } from "../../cli/doctor/checks";
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
        expect(checks["Docker Engine"]).toEqual({
            name: "Docker Engine",
            status: "fail",
            detail: "the Docker Engine at unix:///fake/docker.sock is not running (ECONNREFUSED): start it\n" +
                "`pulumi preview` needs it too: the Docker provider connects to the engine when it is configured, so a preview without one fails " +
                "(\"failed to connect to any docker daemon\"); a preview in CI needs a Docker Engine, not the cluster",
        });
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
            detail: `the Docker Engine at unix:///fake/docker.sock did not answer within 0.3 s\n${PREVIEW_NEEDS_ENGINE}`,
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

    it("ports: a node of another cluster publishing one is named as such, never `docker rm`; this cluster's holding one is fine; a process; one not bindable", async () => {
        const docker = new FakeDocker();
        const kind = fakeNode({ name: "kind-control-plane", cluster: "-", role: "controlplane", ip: "172.18.0.2", network: "kind", ports: [{ containerPort: 6443, hostPort: 6444 }] });
        kind.labels = { "io.x-k8s.kind.cluster": "kind", "io.x-k8s.kind.role": "control-plane" };
        docker.containers = [
            kind,
            fakeNode({ name: "talos-worker-01", cluster: "talos", role: "worker", ip: "172.30.0.3", network: "talos-net", ports: [{ containerPort: 80, hostPort: 80 }] }),
        ];
        const asked: string[] = [];
        const portState = async (host: string, port: number) => {
            asked.push(`${host}:${port}`);
            return port === 50000 ? "taken" : port === 443 ? "EPERM" : "free";
        };
        const checks = byName(await runChecks(reference, deps(docker, { portState, stack: "dev" }), 1000));
        expect(checks["port 6444"]).toEqual({
            name: "port 6444",
            status: "fail",
            detail: "127.0.0.1:6444 (kubernetesApi) is published by kind-control-plane, a node of the kind cluster kind",
            fix: "if kind cluster kind is no longer needed, delete it (kind delete cluster --name kind); else give this cluster another port: pulumi config set --path talos-docker:ports.kubernetesApi <free port> --stack dev",
        });
        expect(checks["port 80"]).toEqual({ name: "port 80", status: "ok", detail: "127.0.0.1:80 (http) is in use by this cluster's talos-worker-01" });
        expect(checks["port 50000"]).toEqual({
            name: "port 50000",
            status: "fail",
            detail: "127.0.0.1:50000 (talosApi) is taken by another process",
            fix: "`ss -ltnp 'sport = :50000'` shows which; stop it, or give this cluster another port: pulumi config set --path talos-docker:ports.talosApi <free port> --stack dev",
        });
        expect(checks["port 443"]).toMatchObject({ status: "warn", detail: "127.0.0.1:443 (https) could not be checked (EPERM)" });
        // Only the ports no container explains are tried, and only on the bind address.
        expect(asked.sort()).toEqual(["127.0.0.1:443", "127.0.0.1:50000"]);
    });

    it("ports: another Talos cluster's node names that cluster and its stack's destroy; a plain container is to stop, not remove", async () => {
        const docker = new FakeDocker();
        docker.containers = [
            fakeNode({ name: "lab-cp-01", cluster: "lab", role: "controlplane", ip: "172.31.0.2", network: "lab-net", ports: [{ containerPort: 50000, hostPort: 50000 }] }),
            { ...fakeNode({ name: "web", cluster: "-", role: "worker", ip: "172.17.0.2", network: "bridge", ports: [{ containerPort: 80, hostPort: 80 }] }), labels: {} },
        ];
        const withStack = byName(await runChecks(reference, deps(docker, { stackOfCluster: (c) => (c === "lab" ? "lab" : undefined) }), 1000));
        expect(withStack["port 50000"]).toEqual({
            name: "port 50000",
            status: "fail",
            detail: "127.0.0.1:50000 (talosApi) is published by lab-cp-01, a node of the Talos cluster lab",
            fix: "if cluster lab is no longer needed, destroy it: pulumi destroy --stack lab (its stack in this project); else give this cluster another port: pulumi config set --path talos-docker:ports.talosApi <free port>",
        });
        expect(withStack["port 80"]).toEqual({
            name: "port 80",
            status: "fail",
            detail: "127.0.0.1:80 (http) is published by container web (not a cluster node)",
            fix: "stop it if it is yours to stop (docker stop web); else give this cluster another port: pulumi config set --path talos-docker:ports.http <free port>",
        });
        const unknown = byName(await runChecks(reference, deps(docker), 1000));
        expect(unknown["port 50000"].fix).toBe("if cluster lab is no longer needed, destroy it: `pulumi destroy` in the stack that made it, or talosctl cluster destroy --name lab if talosctl did; else give this cluster another port: pulumi config set --path talos-docker:ports.talosApi <free port>");
        for (const c of [...Object.values(withStack), ...Object.values(unknown)]) expect(c.fix ?? "").not.toContain("docker rm");
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
        // doctor binds the ports for real: free ones of 127.0.0.1. Kubernetes 1.35 on cgroup v1: the kubelet refuses it.
        writeFileSync(join(dir, "Pulumi.lab.yaml"), "config:\n  talos-docker:clusterName: lab\n  talos-docker:talosVersion: v1.12.11\n" +
            `  talos-docker:kubernetesVersion: 1.35.4\n  talos-docker:ports: ${JSON.stringify(await freePorts())}\n`);
        const docker = new FakeDocker();
        docker.info_ = { ...docker.info_, cgroupVersion: "1" };
        const r = await run([], docker);
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        expect(r.err).toEqual(["[doctor] error: 1 check failed"]);
        expect(r.out[0]).toBe(`Checking ${join(dir, "Pulumi.lab.yaml")} against this machine`);
        expect(r.out).toContain("  ✗ cgroup v2      the engine runs cgroup v1: the kubelet of Kubernetes 1.35.4 refuses to start on it (failCgroupV1 defaults to true from 1.35), so no node becomes Ready; Talos itself runs");
        expect(r.out).toContain(" ".repeat(19) + "fix: boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line; the default of current distributions and Docker Desktop), then restart Docker; " +
            "or set talos-docker:kubernetesVersion to a 1.34 release or older (if talosVersion supports it); or let the kubelet run on cgroup v1 anyway, deprecated: add `machine: {kubelet: {extraConfig: {failCgroupV1: false}}}` to talos-docker:configPatches.all");
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
        // Kubernetes 1.31 (the default) on cgroup v1: the kubelet runs, in maintenance mode; a warning, not a failure.
        const v1 = new FakeDocker();
        v1.info_ = { ...v1.info_, cgroupVersion: "1" };
        const onV1 = await run([], v1);
        expect(onV1.code).toBe(ExitCode.OK);
        expect(onV1.out).toContain("  ! cgroup v2      the engine runs cgroup v1: the kubelet of Kubernetes 1.31.1 runs on it, but cgroup v1 is in maintenance mode from 1.31 and refused by default from 1.35");
        expect(onV1.out.at(-1)).toBe("Ready for pulumi up (4 warnings)");
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
        const r = await run(["--json"], new FakeDocker());
        const checks = (JSON.parse(r.out.join("\n")) as { checks: Check[] }).checks;
        expect(checks.filter((c) => TOOLS.some((t) => t.command === c.name)).map((c) => `${c.name}:${c.status}`)).toEqual(["pulumi:warn", "kubectl:warn", "talosctl:ok"]);
    });

    /** A `pulumi` on PATH that logs its argv and answers `stack --show-name` with `selected` (or fails like Pulumi without one). */
    function fakePulumi(selected: string | undefined): string {
        const bin = join(dir, "bin");
        mkdirSync(bin, { recursive: true });
        const answer = selected === undefined ? `echo "error: no stack selected; please use \\\`pulumi stack select\\\`" >&2; exit 255` : `echo ${selected}`;
        writeFileSync(join(bin, "pulumi"), `#!/bin/sh\necho "$@" >> "${dir}/calls"\n${answer}\n`, { mode: 0o755 });
        return bin;
    }

    it("checks the stack Pulumi has selected for the project, not the defaults, when several have files", async () => {
        writeFileSync(join(dir, "Pulumi.dev.yaml"), `config:\n  talos-docker:clusterName: dev\n  talos-docker:ports: ${JSON.stringify(await freePorts())}\n`);
        writeFileSync(join(dir, "Pulumi.prod.yaml"), `config:\n  talos-docker:clusterName: prod\n  talos-docker:ports: ${JSON.stringify(await freePorts())}\n`);
        const bin = fakePulumi("prod");
        const r = await run([], new FakeDocker(), { PATH: `${bin}:/usr/bin:/bin` });
        expect(r.err).toEqual([]);
        expect(r.out.slice(0, 2)).toEqual([`Checking ${join(dir, "Pulumi.prod.yaml")} against this machine`, "  note: stack prod: the one Pulumi has selected"]);
        expect(r.out).toContain("  ✓ stack config   " + `${join(dir, "Pulumi.prod.yaml")}: 1 control plane(s) + 2 worker(s), Talos v1.8.3`);
        expect(readFileSync(join(dir, "calls"), "utf8")).toBe(`stack --show-name --cwd ${dir}\n`);
    });

    it("refuses a --stack without a file (a typo), and several stack files with nothing selected, exit 2", async () => {
        writeFileSync(join(dir, "Pulumi.dev.yaml"), "config: {}\n");
        const typo = await run(["--stack", "devv"], new FakeDocker());
        expect(typo.code).toBe(ExitCode.USAGE);
        expect(typo.out).toEqual([]);
        expect(typo.err).toEqual([`[doctor] error: doctor: stack "devv" has no Pulumi.devv.yaml in ${dir} (stacks with a file: dev): check the name given to --stack; did you mean dev?`]);
        writeFileSync(join(dir, "Pulumi.prod.yaml"), "config: {}\n");
        const none = await run([], new FakeDocker(), { PATH: `${fakePulumi(undefined)}:/usr/bin:/bin` });
        expect(none.code).toBe(ExitCode.USAGE);
        expect(none.err).toEqual([`[doctor] error: doctor: no Pulumi stack is selected (error: no stack selected; please use \`pulumi stack select\`) and several have a file in ${dir} (dev, prod): pass --stack NAME`]);
        const noCli = await run([], new FakeDocker());
        expect(noCli.err).toEqual([`[doctor] error: doctor: no Pulumi stack is selected (the Pulumi CLI (pulumi) is not on PATH) and several have a file in ${dir} (dev, prod): pass --stack NAME`]);
    });

    it("a port held by a node of another stack's cluster names that stack: destroy it, or move this stack's port", async () => {
        const ports = await freePorts();
        writeFileSync(join(dir, "Pulumi.dev.yaml"), `config:\n  talos-docker:ports: ${JSON.stringify(ports)}\n`);
        writeFileSync(join(dir, "Pulumi.lab.yaml"), "config:\n  talos-docker:clusterName: lab\n");
        const docker = new FakeDocker();
        docker.containers = [fakeNode({ name: "lab-cp-01", cluster: "lab", role: "controlplane", ip: "172.31.0.2", network: "lab-net", ports: [{ containerPort: 6443, hostPort: ports.kubernetesApi }] })];
        const r = await run(["--stack", "dev", "--json"], docker);
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        const checks = (JSON.parse(r.out.join("\n")) as { checks: Check[] }).checks;
        expect(checks.find((c) => c.name === `port ${ports.kubernetesApi}`)).toEqual({
            name: `port ${ports.kubernetesApi}`,
            status: "fail",
            detail: `127.0.0.1:${ports.kubernetesApi} (kubernetesApi) is published by lab-cp-01, a node of the Talos cluster lab`,
            fix: "if cluster lab is no longer needed, destroy it: pulumi destroy --stack lab (its stack in this project); else give this cluster another port: pulumi config set --path talos-docker:ports.kubernetesApi <free port> --stack dev",
        });
    });

    it("refuses the selected stack when it has no file, naming those that have", async () => {
        writeFileSync(join(dir, "Pulumi.dev.yaml"), "config: {}\n");
        const r = await run([], new FakeDocker(), { PATH: `${fakePulumi("staging")}:/usr/bin:/bin` });
        expect(r.code).toBe(ExitCode.USAGE);
        expect(r.err).toEqual([`[doctor] error: doctor: the selected stack "staging" has no Pulumi.staging.yaml in ${dir} (stacks with a file: dev): pass --stack NAME, or select another (pulumi stack select NAME)`]);
    });

    it("no engine at DOCKER_HOST: the failure says how to start one", async () => {
        const r = await runCli(["doctor", "--project-dir", dir, "--json"], { DOCKER_HOST: `unix://${join(dir, "no.sock")}`, PATH: dir });
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        const checks = (JSON.parse(r.out.join("\n")) as { checks: Check[] }).checks;
        expect(checks.find((c) => c.name === "Docker Engine")).toMatchObject({ status: "fail", detail: `the Docker Engine at unix://${join(dir, "no.sock")} is not running (ENOENT): start it (sudo systemctl start docker, or Docker Desktop), or set DOCKER_HOST to where it listens\n${PREVIEW_NEEDS_ENGINE}` });
    });

    it("an unreachable engine says, in the report, that pulumi preview needs one too", async () => {
        const r = await runCli(["doctor", "--project-dir", dir], { DOCKER_HOST: `unix://${join(dir, "no.sock")}`, PATH: dir });
        const i = r.out.findIndex((l) => l.startsWith("  ✗ Docker Engine"));
        expect(r.out[i + 1]).toBe(`${" ".repeat(19)}${PREVIEW_NEEDS_ENGINE}`);
    });

    it("an unusable DOCKER_HOST is the engine check's failure, not a crash", async () => {
        const r = await runCli(["doctor", "--project-dir", dir, "--json"], { DOCKER_HOST: "ssh://somewhere", PATH: dir });
        expect(r.code).toBe(ExitCode.UNHEALTHY);
        const checks = (JSON.parse(r.out.join("\n")) as { checks: Check[] }).checks;
        expect(checks.find((c) => c.name === "Docker Engine")).toMatchObject({ status: "fail", detail: `DOCKER_HOST "ssh://somewhere" is not unix:///path or tcp://host:port\n${PREVIEW_NEEDS_ENGINE}` });
    });
});
