// A real Docker Engine for the CLI tests: a dockerd of our own (own socket, data and exec roots
// in a temporary directory, no default bridge and no iptables rules, so test files can each run
// one side by side and leave the host's networking alone), and an image built here from Debian's
// static busybox, since nothing can be pulled. Ended by its PID; its directory removed.
//
// Where dockerd cannot run (not installed, not root), `startTestEngine` returns the reason, and
// the tests skip with it.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, beforeEach } from "vitest";

const run = promisify(execFile);

/** The busybox applets the test containers use. */
const APPLETS = ["sh", "httpd", "sleep", "echo", "cat", "nc", "true", "false", "mkdir", "du"];

export const TEST_IMAGE = "talos-docker-test/busybox:1";

export interface TestEngine {
    /** for DOCKER_HOST */
    host: string;
    /** the docker CLI against this engine; resolves with stdout */
    docker(...args: string[]): Promise<string>;
    stop(): Promise<void>;
}

function which(cmd: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(":")) {
        const p = join(dir, cmd);
        if (dir !== "" && existsSync(p)) return p;
    }
    return undefined;
}

/** Why a real engine cannot run here, or undefined when it can be tried. */
export function engineUnavailable(): string | undefined {
    if (process.platform !== "linux") return "dockerd runs on Linux only";
    if (which("dockerd") === undefined || which("docker") === undefined) return "dockerd/docker not installed (apt-get install docker.io)";
    if (process.getuid?.() !== 0) return "dockerd needs root";
    if (!existsSync("/bin/busybox")) return "no static busybox for the test image (apt-get install busybox-static)";
    return undefined;
}

export async function startTestEngine(): Promise<TestEngine | { skip: string }> {
    const why = engineUnavailable();
    if (why !== undefined) return { skip: why };
    const dir = mkdtempSync(join(tmpdir(), "talos-docker-engine-"));
    const socket = join(dir, "docker.sock");
    const host = `unix://${socket}`;
    const child: ChildProcess = spawn("dockerd", [
        "--host", host,
        "--data-root", join(dir, "data"),
        "--exec-root", join(dir, "exec"),
        "--pidfile", join(dir, "docker.pid"),
        "--bridge=none",
        "--iptables=false",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr?.on("data", (d: Buffer) => {
        log = (log + d.toString()).slice(-4000);
    });
    const docker = async (...args: string[]) => (await run("docker", ["-H", host, ...args], { maxBuffer: 16 << 20 })).stdout;
    // What a test left goes first: the bridge of a network dockerd still has when it stops stays on
    // the host. Bounded: an engine that does not answer is stopped all the same.
    const removeLeftovers = async () => {
        const ids = (await docker("ps", "-aq")).trim();
        if (ids !== "") await docker("rm", "-f", ...ids.split("\n"));
        await docker("network", "prune", "-f");
    };
    const stop = async () => {
        if (child.exitCode === null && existsSync(socket)) {
            await Promise.race([removeLeftovers().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 15_000))]);
        }
        if (child.exitCode === null && child.pid !== undefined) {
            const exited = new Promise((resolve) => child.once("exit", resolve));
            process.kill(child.pid, "SIGTERM");
            await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
            if (child.exitCode === null) process.kill(child.pid, "SIGKILL");
        }
        rmSync(dir, { recursive: true, force: true });
    };

    const deadline = Date.now() + 30_000;
    for (;;) {
        if (child.exitCode !== null) {
            rmSync(dir, { recursive: true, force: true });
            return { skip: `dockerd exited (${child.exitCode}): ${log.trim().split("\n").slice(-2).join(" | ")}` };
        }
        if (existsSync(socket)) {
            try {
                await docker("version", "--format", "{{.Server.Version}}");
                break;
            } catch {
                // not serving yet
            }
        }
        if (Date.now() > deadline) {
            await stop();
            return { skip: `dockerd did not answer within 30 s: ${log.trim().split("\n").slice(-2).join(" | ")}` };
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await importBusybox(dir, host);
    return { host, docker, stop };
}

/** `docker import` of a root file system holding only busybox and its applets. */
async function importBusybox(dir: string, host: string): Promise<void> {
    const root = join(dir, "rootfs");
    mkdirSync(join(root, "bin"), { recursive: true });
    mkdirSync(join(root, "tmp"));
    mkdirSync(join(root, "www"));
    copyFileSync("/bin/busybox", join(root, "bin", "busybox"));
    chmodSync(join(root, "bin", "busybox"), 0o755);
    for (const applet of APPLETS) symlinkSync("busybox", join(root, "bin", applet));
    await new Promise<void>((resolve, reject) => {
        const tar = spawn("tar", ["-C", root, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
        const imp = spawn("docker", ["-H", host, "import", "--change", 'CMD ["/bin/sh"]', "-", TEST_IMAGE], { stdio: ["pipe", "ignore", "pipe"] });
        let err = "";
        imp.stderr?.on("data", (d: Buffer) => (err += d.toString()));
        tar.stdout?.pipe(imp.stdin!);
        imp.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`docker import failed: ${err}`))));
    });
}

/** The stand-in for registry:2 that standInRegistryImage makes. */
export const STAND_IN_REGISTRY_IMAGE = "talos-docker-test/registry:2";

/**
 * An image that stands in for registry:2 (which cannot be pulled here), from the busybox image:
 * it answers `GET /v2/` with 200 on port 5000, as the distribution API does, and writes a blob
 * into /var/lib/registry, where registry:2 keeps its data, so the cache's volume holds something.
 */
export async function standInRegistryImage(engine: TestEngine): Promise<string> {
    const script = "mkdir -p /www/v2 /var/lib/registry/docker && echo '{}' > /www/v2/index.html && " +
        "echo \"stand-in of $REGISTRY_PROXY_REMOTEURL\" > /var/lib/registry/docker/blob && exec httpd -f -p 5000 -h /www";
    const builder = (await engine.docker("create", TEST_IMAGE)).trim();
    try {
        await engine.docker("commit", "--change", `CMD ["sh", "-c", ${JSON.stringify(script)}]`, builder, STAND_IN_REGISTRY_IMAGE);
    } finally {
        await engine.docker("rm", builder);
    }
    return STAND_IN_REGISTRY_IMAGE;
}

/** A container labelled like a node of ours (model/plan.ts clusterLabels, talos.type). */
export interface NodeContainer {
    name: string;
    cluster: string;
    role: "controlplane" | "worker";
    network: string;
    /** a fixed address on `network` (the tests never send traffic to it) */
    ip?: string;
    /** container ports to publish on 127.0.0.1 (random host ports) */
    publish?: number[];
    /** container ports with a server behind them (busybox httpd) */
    serve?: number[];
    /** printed on stdout and stderr at start, for the logs tests */
    bootLines?: string[];
    memory?: string;
}

export async function runNodeContainer(engine: TestEngine, n: NodeContainer): Promise<string> {
    const script = [
        ...(n.bootLines ?? []).map((l, i) => `echo '${l.replace(/'/g, "")}'${i % 2 === 1 ? " >&2" : ""}`),
        ...(n.serve ?? []).map((p) => `httpd -p ${p} -h /www`),
        "exec sleep 3600",
    ].join("; ");
    const args = [
        "run", "-d", "--name", n.name, "--hostname", n.name, "--network", n.network,
        ...(n.ip ? ["--ip", n.ip] : []),
        "--label", "talos.owned=true", "--label", `talos.cluster.name=${n.cluster}`, "--label", `talos.type=${n.role}`,
        "--memory", n.memory ?? "64m",
        ...(n.publish ?? []).flatMap((p) => ["-p", `127.0.0.1:0:${p}`]),
        TEST_IMAGE, "sh", "-c", script,
    ];
    return (await engine.docker(...args)).trim();
}

/** Everything carrying the cluster's label, for the clean-up check. */
export async function labelled(engine: TestEngine, cluster: string): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
    const filter = `label=talos.cluster.name=${cluster}`;
    const lines = (s: string) => s.split("\n").filter((l) => l.trim() !== "");
    const [containers, volumes, networks] = await Promise.all([
        engine.docker("ps", "-a", "--filter", filter, "--format", "{{.Names}}"),
        engine.docker("volume", "ls", "--filter", filter, "--format", "{{.Name}}"),
        engine.docker("network", "ls", "--filter", filter, "--format", "{{.Name}}"),
    ]);
    return { containers: lines(containers), volumes: lines(volumes), networks: lines(networks) };
}

/**
 * One engine for the calling test file: started before its tests, stopped after. Where it cannot
 * start, every test of the file is skipped with the reason (shown beside each test and once on
 * stderr), never passed.
 */
export function useTestEngine(): { readonly engine: TestEngine; readonly skipped: boolean } {
    let engine: TestEngine | undefined;
    let skip: string | undefined;
    beforeAll(async () => {
        const started = await startTestEngine();
        if ("skip" in started) {
            skip = `needs a Docker Engine: ${started.skip}`;
            process.stderr.write(`[docker tests skipped] ${skip}\n`);
        } else engine = started;
    });
    beforeEach((ctx) => {
        if (skip !== undefined) ctx.skip(skip);
    });
    afterAll(async () => {
        await engine?.stop();
    });
    return {
        get skipped(): boolean {
            return skip !== undefined;
        },
        get engine(): TestEngine {
            if (engine === undefined) throw new Error("the test engine is not running");
            return engine;
        },
    };
}
