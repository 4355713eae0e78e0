// The CLI as a real process, against endpoints that never answer: a TCP listener that accepts and
// stays silent, and a Docker Engine stub that answers only what it is told to. Every server and
// child is tracked so `stopAll` ends them (children by PID).

import { spawn, type ChildProcess } from "node:child_process";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";

const closers = new Set<() => Promise<void>>();
const children = new Set<ChildProcess>();

/**
 * Processes of `runProcess` running at once, the others wait their turn: each start-up is CPU
 * bound (node, tsx, the clients' modules), and on 2 cores more at once only makes each slower.
 */
const MAX_RUNNING = 4;
let running = 0;
const queue: (() => void)[] = [];

async function slot(): Promise<() => void> {
    if (running >= MAX_RUNNING) await new Promise<void>((resolve) => queue.push(resolve));
    running++;
    return () => {
        running--;
        queue.shift()?.();
    };
}

export interface Listener {
    port: number;
    /** connections accepted so far */
    accepted(): number;
    close(): Promise<void>;
}

/** Accepts every connection on 127.0.0.1 and never writes a byte: an endpoint that hangs. */
export function silentListener(): Promise<Listener> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
        sockets.add(socket);
        socket.on("error", () => undefined);
        socket.on("close", () => sockets.delete(socket));
    });
    return serve(server, () => {
        for (const s of sockets) s.destroy();
    });
}

/** What the stub's containers look like (the fields the CLI reads). */
export interface StubContainer {
    name: string;
    ip: string;
    labels: Record<string, string>;
    /** TCP ports published on 127.0.0.1 */
    ports?: { containerPort: number; hostPort: number }[];
}

/**
 * A Docker Engine API stub on 127.0.0.1 that answers `docker ps` and `docker inspect` for the
 * given running containers and leaves every other request without an answer, as a stuck engine
 * would (stats, networks).
 */
export function engineStub(containers: StubContainer[]): Promise<Listener> {
    const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
        const path = new URL(req.url ?? "/", "http://stub").pathname.replace(/^\/v[\d.]+/, "");
        if (req.method === "GET" && path === "/containers/json") return json(res, containers.map(summary));
        const inspect = /^\/containers\/([^/]+)\/json$/.exec(path);
        const found = inspect === null ? undefined : containers.find((c) => c.name === decodeURIComponent(inspect[1]));
        if (req.method === "GET" && found !== undefined) return json(res, details(found));
        // anything else: no answer
    });
    return serve(server, () => server.closeAllConnections());
}

function summary(c: StubContainer) {
    return { Id: c.name, Names: [`/${c.name}`], State: "running", Labels: c.labels, Ports: [] };
}

function details(c: StubContainer) {
    return {
        Id: c.name,
        Name: `/${c.name}`,
        RestartCount: 0,
        Config: { Image: "ghcr.io/siderolabs/talos:v1.8.3", Labels: c.labels, Tty: false },
        State: { Status: "running", Running: true, StartedAt: new Date().toISOString(), ExitCode: 0, OOMKilled: false },
        NetworkSettings: {
            Ports: Object.fromEntries((c.ports ?? []).map((p) => [`${p.containerPort}/tcp`, [{ HostIp: "127.0.0.1", HostPort: String(p.hostPort) }]])),
            Networks: { test: { IPAddress: c.ip } },
        },
    };
}

function json(res: ServerResponse, body: unknown): void {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/** Listens on an ephemeral port of 127.0.0.1; `drop` ends the open connections, which close() waits for. */
function serve(server: Server, drop: () => void): Promise<Listener> {
    let accepted = 0;
    server.on("connection", () => accepted++);
    const close = () =>
        new Promise<void>((resolve) => {
            closers.delete(close);
            server.close(() => resolve());
            drop();
        });
    closers.add(close);
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as AddressInfo).port, accepted: () => accepted, close }));
    });
}

export interface ProcessRun {
    /** null when it had to be killed */
    code: number | null;
    stdout: string;
    stderr: string;
    /** from spawn to exit */
    ms: number;
    /** from the last output (on either stream) to exit */
    afterOutputMs: number;
    /** it was still running at `killAfterMs` and was killed */
    killed: boolean;
}

export interface RunOptions {
    cwd: string;
    env: Record<string, string>;
    /** kill it (by PID) if it is still running this long after the start */
    killAfterMs: number;
    /**
     * Read stdout only this long after the first stderr output: a slow reader, whose pipe fills,
     * so what the process writes last is still in its own buffers when it has finished.
     */
    slowStdoutMs?: number;
}

/** Runs `command args…` (once fewer than MAX_RUNNING are) and resolves when it exits or was killed. */
export async function runProcess(command: string, args: string[], opts: RunOptions): Promise<ProcessRun> {
    const release = await slot();
    try {
        return await spawnAndWait(command, args, opts);
    } finally {
        release();
    }
}

function spawnAndWait(command: string, args: string[], opts: RunOptions): Promise<ProcessRun> {
    const start = performance.now();
    let lastOutput = start;
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => {
        stdout.push(c);
        lastOutput = performance.now();
    });
    if (opts.slowStdoutMs !== undefined) {
        child.stdout.pause();
        child.stderr.once("data", () => setTimeout(() => child.stdout.resume(), opts.slowStdoutMs));
    }
    child.stderr.on("data", (c: Buffer) => {
        stderr.push(c);
        lastOutput = performance.now();
    });
    let killed = false;
    const timer = setTimeout(() => {
        killed = true;
        child.kill("SIGKILL");
    }, opts.killAfterMs);
    return new Promise((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code) => {
            const end = performance.now();
            clearTimeout(timer);
            children.delete(child);
            resolve({
                code,
                stdout: Buffer.concat(stdout).toString("utf8"),
                stderr: Buffer.concat(stderr).toString("utf8"),
                ms: end - start,
                afterOutputMs: end - lastOutput,
                killed,
            });
        });
    });
}

/** Kills every child still running (by PID) and closes every server. */
export async function stopAll(): Promise<void> {
    for (const child of children) {
        if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
    }
    children.clear();
    await Promise.all([...closers].map((close) => close()));
}
