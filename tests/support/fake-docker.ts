// An in-memory DockerApi for unit tests and benches: containers and networks as plain data, each
// call answered after `latencyMs` (stats after `statsLatencyMs`, as the engine's collector makes
// `docker stats` slow), and a count of calls in flight, so tests can see probes overlap.

import type { ContainerDetails, ContainerUsage, DockerApi, EngineInfo, LogOptions, NetworkDetails, VolumeSummary } from "../../cli/docker/api";
import { DockerError } from "../../cli/docker/api";

export interface FakeContainer extends ContainerDetails {
    usage?: ContainerUsage;
}

export class FakeDocker implements DockerApi {
    readonly host = "unix:///fake/docker.sock";
    containers: FakeContainer[] = [];
    networks: NetworkDetails[] = [];
    volumes: VolumeSummary[] = [];
    /** container name → bytes its `du` reports */
    usageBytes: Record<string, number> = {};
    info_: EngineInfo = { serverVersion: "28.2.2", cgroupVersion: "2", cpus: 8, memoryBytes: 32 * 2 ** 30, operatingSystem: "fake" };
    latencyMs = 0;
    statsLatencyMs = 0;
    /** every call fails as if the engine were not running */
    down = false;
    /** every call that takes a timeout gets no answer: it fails at its timeout, as the real client's do */
    silent = false;
    calls = 0;
    inFlight = 0;
    maxInFlight = 0;
    /** called on each inspection, with how many the container had before: lets a test change it between two */
    onInspect?: (container: FakeContainer, inspectedBefore: number) => void;
    private inspections = new Map<string, number>();

    info(): Promise<EngineInfo> {
        return this.answer(this.latencyMs, () => this.info_);
    }

    listContainers(labels: string[], timeoutMs?: number) {
        return this.answer(this.latencyMs, () =>
            this.containers
                .filter((c) => hasLabels(c.labels, labels))
                .map((c) => ({ id: c.id, name: c.name, state: c.status, labels: c.labels, ports: c.ports.map((p) => ({ hostIp: p.hostIp, hostPort: p.hostPort, containerPort: p.containerPort })) })),
        `docker ps`, timeoutMs);
    }

    inspectContainer(nameOrId: string, timeoutMs?: number) {
        return this.answer(this.latencyMs, () => {
            const container = this.container(nameOrId);
            const before = this.inspections.get(container.name) ?? 0;
            this.inspections.set(container.name, before + 1);
            this.onInspect?.(container, before);
            const { usage: _, ...details } = container;
            return details;
        }, `docker inspect ${nameOrId}`, timeoutMs);
    }

    containerUsage(nameOrId: string) {
        return this.answer(this.statsLatencyMs, () => {
            const c = this.container(nameOrId);
            return c.usage ?? { cpuPercent: 1.5, memoryBytes: 300 << 20, memoryLimitBytes: 4096 << 20, netRxBytes: 1000, netTxBytes: 2000, blockReadBytes: 0, blockWriteBytes: 4096 };
        });
    }

    listNetworks() {
        return this.answer(this.latencyMs, () => this.networks.map(({ containers: _, ...n }) => n));
    }

    inspectNetwork(nameOrId: string) {
        return this.answer(this.latencyMs, () => {
            const n = this.networks.find((x) => x.id === nameOrId || x.name === nameOrId);
            if (n === undefined) throw new DockerError("notfound", `docker network inspect ${nameOrId}: not found`);
            return { ...n, containers: this.containers.filter((c) => n.name in c.networks && c.running).map((c) => c.name) };
        });
    }

    hasImage(_name?: string): Promise<boolean> {
        return this.answer(this.latencyMs, () => true);
    }

    checkPullable(): Promise<void> {
        return this.answer(this.latencyMs, () => undefined);
    }

    logs(_nameOrId: string, _opts: LogOptions, _write: (stream: "stdout" | "stderr", chunk: Buffer) => void): Promise<void> {
        return Promise.resolve();
    }

    listVolumes(labels: string[]): Promise<VolumeSummary[]> {
        return this.answer(this.latencyMs, () => this.volumes.filter((v) => hasLabels(v.labels, labels)));
    }

    diskUsage(container: string, path: string): Promise<number> {
        return this.answer(this.latencyMs, () => {
            const c = this.container(container);
            if (!c.running) throw new DockerError("other", `du ${path} in ${container}: container ${c.id} is not running`);
            return this.usageBytes[c.name] ?? 0;
        });
    }

    close(): void {}

    private container(nameOrId: string): FakeContainer {
        const c = this.containers.find((x) => x.id === nameOrId || x.name === nameOrId);
        if (c === undefined) throw new DockerError("notfound", `docker inspect ${nameOrId}: not found`);
        return c;
    }

    private async answer<T>(latencyMs: number, fn: () => T, what = "docker", timeoutMs?: number): Promise<T> {
        this.calls++;
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
            if (this.silent && timeoutMs !== undefined) {
                await new Promise((resolve) => setTimeout(resolve, timeoutMs));
                throw new DockerError("timeout", `${what}: the Docker Engine at ${this.host} did not answer in ${timeoutMs} ms`);
            }
            if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
            if (this.down) throw new DockerError("engine", `the Docker Engine at ${this.host} is not running (ECONNREFUSED): start it`);
            return fn();
        } finally {
            this.inFlight--;
        }
    }
}

/** The container as `docker stop` leaves it: exited (here with 137, a SIGKILL's code). */
export function stopped(container: FakeContainer): FakeContainer {
    return { ...container, status: "exited", running: false, exitCode: 137 };
}

/** Docker's label filter: `key` for any value, `key=value` for that value. */
function hasLabels(have: Record<string, string>, wanted: string[]): boolean {
    return wanted.every((l) => {
        const [k, v] = l.split("=", 2);
        return v === undefined ? k in have : have[k] === v;
    });
}

/** A running node container as our program would make it. */
export function fakeNode(opts: { name: string; cluster: string; role: "controlplane" | "worker"; ip: string; network: string; ports?: { containerPort: number; hostPort: number }[] }): FakeContainer {
    return {
        id: `${opts.name}-id`,
        name: opts.name,
        image: "ghcr.io/siderolabs/talos:v1.8.3",
        status: "running",
        running: true,
        startedAt: new Date(Date.now() - 3_600_000).toISOString(),
        exitCode: 0,
        oomKilled: false,
        restartCount: 0,
        networks: { [opts.network]: opts.ip },
        ports: (opts.ports ?? []).map((p) => ({ ...p, protocol: "tcp", hostIp: "127.0.0.1" })),
        labels: { "talos.owned": "true", "talos.cluster.name": opts.cluster, "talos.type": opts.role },
    };
}
