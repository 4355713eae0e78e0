// DockerApi over dockerode, the maintained Engine API client for Node. It reaches the engine the
// way the docker CLI does: $DOCKER_HOST (unix:// or tcp://, with $DOCKER_TLS_VERIFY and
// $DOCKER_CERT_PATH), else /var/run/docker.sock. Every call has its own deadline, so one stuck
// request cannot hold a whole status report; `close()` ends every connection still open.

import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { inspect } from "node:util";

import Docker from "dockerode";

import {
    DEFAULT_DOCKER_HOST,
    DockerError,
    type ContainerDetails,
    type ContainerSummary,
    type ContainerUsage,
    type DockerApi,
    type EngineInfo,
    type LogOptions,
    type NetworkDetails,
    type VolumeSummary,
} from "./api";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Never throws: with an unusable DOCKER_HOST (or TLS files), every call rejects with why, so each
 * command reports it where it reports any other engine failure.
 */
export function dockerFromEnv(env: Env): DockerApi {
    const host = env.DOCKER_HOST && env.DOCKER_HOST !== "" ? env.DOCKER_HOST : DEFAULT_DOCKER_HOST;
    try {
        return new DockerodeApi(host, connectionOptions(host, env));
    } catch (err) {
        const why = err instanceof DockerError ? err : new DockerError("config", `the Docker TLS files (DOCKER_CERT_PATH) cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        return new DockerodeApi(host, { socketPath: "/nonexistent" }, why);
    }
}

/** Where $DOCKER_HOST and its TLS variables say the engine is, as dockerode takes it. */
export function connectionOptions(host: string, env: Env): Docker.DockerOptions {
    if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) };
    const url = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(host);
    if (url === null) {
        throw new DockerError("config", `DOCKER_HOST "${host}" is not unix:///path or tcp://host:port`);
    }
    const tls = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== "" && env.DOCKER_TLS_VERIFY !== "0";
    if (!tls) return { protocol: "http", host: url[1], port: Number(url[2]) };
    const dir = env.DOCKER_CERT_PATH ?? join(env.HOME ?? "", ".docker");
    const read = (f: string) => readFileSync(join(dir, f));
    return { protocol: "https", host: url[1], port: Number(url[2]), ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
}

/** Exported for the registry cache's writer (../docker/writer.ts), which adds the calls that change things. */
export class DockerodeApi implements DockerApi {
    protected readonly docker: Docker;
    /** Every request's connection, so `close()` can end the ones a deadline left behind. */
    private readonly agent: http.Agent;

    constructor(
        readonly host: string,
        opts: Docker.DockerOptions,
        /** set when the environment names no usable engine: every call rejects with it */
        private readonly unusable?: DockerError,
    ) {
        this.agent = opts.protocol === "https" ? new https.Agent() : new http.Agent();
        // docker-modem formats every request's options, agent included, for its debug log even
        // when that log is off (docker-modem@5.0.7 lib/modem.js `buildRequest`: util.inspect with
        // depth null): all the agent's sockets and queued requests, each time, so a hundred calls
        // at once took seconds. The agent prints as its name instead.
        Object.defineProperty(this.agent, inspect.custom, { value: () => "[docker agent]" });
        // docker-modem takes the agent for every request (lib/modem.js `dial`); @types/dockerode
        // does not list the option.
        const withAgent: Docker.DockerOptions & { agent: http.Agent } = { ...opts, agent: this.agent };
        this.docker = new Docker(withAgent);
    }

    info(timeoutMs: number): Promise<EngineInfo> {
        return this.call("docker info", timeoutMs, async () => {
            const i = (await this.docker.info()) as Record<string, unknown>;
            return {
                serverVersion: String(i.ServerVersion ?? ""),
                cgroupVersion: String(i.CgroupVersion ?? "1"),
                cpus: Number(i.NCPU ?? 0),
                memoryBytes: Number(i.MemTotal ?? 0),
                operatingSystem: String(i.OperatingSystem ?? ""),
            };
        });
    }

    listContainers(labels: string[], timeoutMs: number): Promise<ContainerSummary[]> {
        return this.call("docker ps", timeoutMs, async () => {
            const list = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: labels }) });
            return list.map((c) => ({
                id: c.Id,
                name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
                state: c.State,
                labels: c.Labels ?? {},
                ports: (c.Ports ?? []).filter((p) => p.PublicPort !== undefined).map((p) => ({ hostIp: p.IP ?? "", hostPort: p.PublicPort, containerPort: p.PrivatePort })),
            }));
        });
    }

    inspectContainer(nameOrId: string, timeoutMs: number): Promise<ContainerDetails> {
        return this.call(`docker inspect ${nameOrId}`, timeoutMs, async () => {
            const c = await this.docker.getContainer(nameOrId).inspect();
            const ports = Object.entries(c.NetworkSettings.Ports ?? {}).flatMap(([key, bindings]) => {
                const [port, protocol] = key.split("/");
                return (bindings ?? []).map((b) => ({ containerPort: Number(port), protocol, hostIp: b.HostIp, hostPort: Number(b.HostPort) }));
            });
            const networks = Object.fromEntries(
                Object.entries(c.NetworkSettings.Networks ?? {}).map(([name, n]) => [name, n.IPAddress]),
            );
            return {
                id: c.Id,
                name: c.Name.replace(/^\//, ""),
                image: c.Config.Image,
                status: c.State.Status,
                running: c.State.Running,
                startedAt: c.State.StartedAt,
                exitCode: c.State.ExitCode,
                oomKilled: c.State.OOMKilled,
                restartCount: c.RestartCount,
                health: c.State.Health?.Status,
                networks,
                ports,
                labels: c.Config.Labels ?? {},
            };
        });
    }

    containerUsage(nameOrId: string, timeoutMs: number): Promise<ContainerUsage> {
        // CPU % needs two samples; the engine's collector takes one a second, so this answers in
        // one to two seconds, as `docker stats --no-stream` does (one-shot would not be faster:
        // it too waits for the collector's next tick, and has no previous sample).
        return this.call(`docker stats ${nameOrId}`, timeoutMs, async () => usageOf(await this.docker.getContainer(nameOrId).stats({ stream: false })));
    }

    listNetworks(timeoutMs: number): Promise<NetworkDetails[]> {
        return this.call("docker network ls", timeoutMs, async () => (await this.docker.listNetworks()).map(networkOf));
    }

    inspectNetwork(nameOrId: string, timeoutMs: number): Promise<NetworkDetails> {
        return this.call(`docker network inspect ${nameOrId}`, timeoutMs, async () =>
            networkOf((await this.docker.getNetwork(nameOrId).inspect()) as Docker.NetworkInspectInfo));
    }

    async hasImage(name: string, timeoutMs: number): Promise<boolean> {
        try {
            await this.call(`docker image inspect ${name}`, timeoutMs, () => this.docker.getImage(name).inspect());
            return true;
        } catch (err) {
            if (err instanceof DockerError && err.kind === "notfound") return false;
            throw err;
        }
    }

    async checkPullable(name: string, timeoutMs: number): Promise<void> {
        await this.call(`the registry of ${name}`, timeoutMs, () => this.docker.getImage(name).distribution());
    }

    async logs(nameOrId: string, opts: LogOptions, write: (stream: "stdout" | "stderr", chunk: Buffer) => void, signal?: AbortSignal): Promise<void> {
        const container = this.docker.getContainer(nameOrId);
        const tty = await this.call(`docker inspect ${nameOrId}`, 10_000, async () => (await container.inspect()).Config.Tty);
        const params = {
            stdout: true,
            stderr: true,
            timestamps: opts.timestamps,
            ...(opts.since === undefined ? {} : { since: opts.since }),
            ...(opts.tail === undefined ? {} : { tail: opts.tail }),
        };
        if (!opts.follow) {
            const buf = await this.call(`docker logs ${nameOrId}`, 60_000, () => container.logs({ ...params, follow: false }));
            if (tty) write("stdout", buf);
            else demuxBuffer(buf, write);
            return;
        }
        const stream = await this.call(`docker logs ${nameOrId}`, 10_000, () => container.logs({ ...params, follow: true, abortSignal: signal }));
        await new Promise<void>((resolve, reject) => {
            const out = new PassThrough().on("data", (c: Buffer) => write("stdout", c));
            const err = new PassThrough().on("data", (c: Buffer) => write("stderr", c));
            if (tty) stream.pipe(out);
            else this.docker.modem.demuxStream(stream, out, err);
            stream.on("end", resolve);
            stream.on("close", resolve);
            stream.on("error", (e: Error) => (signal?.aborted ? resolve() : reject(mapError(e, `docker logs ${nameOrId}`, this.host))));
        });
    }

    listVolumes(labels: string[], timeoutMs: number): Promise<VolumeSummary[]> {
        return this.call("docker volume ls", timeoutMs, async () => {
            const list = await this.docker.listVolumes({ filters: JSON.stringify({ label: labels }) });
            return (list.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
        });
    }

    async diskUsage(container: string, path: string, timeoutMs: number): Promise<number> {
        return this.call(`du ${path} in ${container}`, timeoutMs, async () => {
            // `du -sk` in the container itself: the one volume is measured, where `docker system df`
            // would measure every volume of the engine (each node's /var too) before answering.
            const exec = await this.docker.getContainer(container).exec({ Cmd: ["du", "-sk", path], AttachStdout: true, AttachStderr: true });
            const stream = await exec.start({ hijack: true, stdin: false });
            const out: Buffer[] = [];
            const err: Buffer[] = [];
            await new Promise<void>((resolve, reject) => {
                const stdout = new PassThrough().on("data", (c: Buffer) => out.push(c));
                const stderr = new PassThrough().on("data", (c: Buffer) => err.push(c));
                this.docker.modem.demuxStream(stream, stdout, stderr);
                stream.on("end", resolve);
                stream.on("close", resolve);
                stream.on("error", reject);
            });
            const text = Buffer.concat(out).toString();
            const kib = /^([0-9]+)\s/.exec(text);
            if (kib === null) throw new Error(`du printed no size${err.length > 0 ? `: ${Buffer.concat(err).toString().trim()}` : ""}`);
            return Number(kib[1]) * 1024;
        });
    }

    close(): void {
        // A call whose deadline passed has given up on its request, not ended it: against an
        // engine that accepts and never answers, its socket would stay open, and the process
        // with it. The agent holds them all (no keep-alive: none is left idle).
        this.agent.destroy();
    }

    protected async call<T>(what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
        if (this.unusable !== undefined) throw this.unusable;
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new DockerError("timeout", `${what}: the Docker Engine at ${this.host} did not answer in ${timeoutMs} ms`)), timeoutMs);
        });
        try {
            return await Promise.race([fn().catch((err: unknown) => { throw mapError(err, what, this.host); }), deadline]);
        } finally {
            clearTimeout(timer);
        }
    }
}

function mapError(err: unknown, what: string, host: string): DockerError {
    if (err instanceof DockerError) return err;
    const e = err as { code?: string; statusCode?: number; json?: { message?: string }; message?: string };
    if (e.code === "ENOENT" || e.code === "ECONNREFUSED") {
        return new DockerError("engine", `the Docker Engine at ${host} is not running (${e.code}): start it (sudo systemctl start docker, or Docker Desktop), or set DOCKER_HOST to where it listens`);
    }
    if (e.code === "EACCES") {
        return new DockerError("engine", `no permission to use the Docker Engine at ${host} (EACCES): add yourself to the docker group (sudo usermod -aG docker $USER, then log in again) or use rootless Docker`);
    }
    if (e.statusCode === 404) return new DockerError("notfound", `${what}: not found`);
    const detail = e.json?.message ?? e.message ?? String(err);
    if (e.statusCode === 409) return new DockerError("conflict", `${what}: ${detail.trim()}`);
    return new DockerError("other", `${what}: ${detail.trim()}`);
}

function networkOf(n: Docker.NetworkInspectInfo): NetworkDetails {
    const configs = n.IPAM?.Config ?? [];
    const mtu = n.Options?.["com.docker.network.driver.mtu"];
    return {
        id: n.Id,
        name: n.Name,
        driver: n.Driver,
        subnets: configs.map((c) => c.Subnet ?? "").filter((s) => s !== ""),
        gateways: configs.map((c) => c.Gateway ?? "").filter((s) => s !== ""),
        mtu: mtu === undefined ? undefined : Number(mtu),
        labels: n.Labels ?? {},
        containers: n.Containers === undefined ? undefined : Object.values(n.Containers).map((c) => c.Name),
    };
}

/** The docker CLI's arithmetic (docker/cli cli/command/container/stats_helpers.go). */
export function usageOf(s: Docker.ContainerStats): ContainerUsage {
    const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
    const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
    const cpus = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 1;
    const cpuPercent = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
    const stats = (s.memory_stats.stats ?? {}) as Record<string, number | undefined>;
    // cgroup v2 reports inactive_file, v1 total_inactive_file: page cache the kernel can drop.
    const cache = stats.inactive_file ?? stats.total_inactive_file ?? 0;
    const usage = s.memory_stats.usage ?? 0;
    let rx = 0;
    let tx = 0;
    for (const n of Object.values(s.networks ?? {})) {
        rx += n.rx_bytes;
        tx += n.tx_bytes;
    }
    let read = 0;
    let written = 0;
    for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
        if (/^read$/i.test(e.op)) read += e.value;
        if (/^write$/i.test(e.op)) written += e.value;
    }
    return {
        cpuPercent,
        memoryBytes: Math.max(0, usage - cache),
        memoryLimitBytes: s.memory_stats.limit ?? 0,
        netRxBytes: rx,
        netTxBytes: tx,
        blockReadBytes: read,
        blockWriteBytes: written,
    };
}

/** A non-TTY container's log is framed: 8-byte header (stream, 0, 0, 0, size as uint32 BE). */
export function demuxBuffer(buf: Buffer, write: (stream: "stdout" | "stderr", chunk: Buffer) => void): void {
    let at = 0;
    while (at + 8 <= buf.length) {
        const stream = buf[at] === 2 ? "stderr" : "stdout";
        const size = buf.readUInt32BE(at + 4);
        write(stream, buf.subarray(at + 8, at + 8 + size));
        at += 8 + size;
    }
}
