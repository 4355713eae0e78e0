// The little of the Docker Engine API that status, doctor and logs use, as an interface (tests
// and benches can stand in for it), in our shapes: only the fields we read, already decoded.

/** The engine without $DOCKER_HOST, as the docker CLI has it. */
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

export interface ContainerSummary {
    id: string;
    name: string;
    /** created, running, paused, restarting, removing, exited, dead */
    state: string;
    labels: Record<string, string>;
    /** published ports, as the container list reports them */
    ports: { hostIp: string; hostPort: number; containerPort: number }[];
}

export interface PublishedPort {
    containerPort: number;
    protocol: string;
    hostIp: string;
    hostPort: number;
}

export interface ContainerDetails {
    id: string;
    name: string;
    image: string;
    status: string;
    running: boolean;
    /** ISO time; Docker's zero time when never started */
    startedAt: string;
    exitCode: number;
    oomKilled: boolean;
    restartCount: number;
    /** healthy, unhealthy, starting; undefined when the image has no health check (Talos' has none) */
    health?: string;
    /** network name → IPv4 address */
    networks: Record<string, string>;
    ports: PublishedPort[];
    labels: Record<string, string>;
}

/** One sample of `docker stats`, already turned into the numbers it prints. */
export interface ContainerUsage {
    cpuPercent: number;
    memoryBytes: number;
    memoryLimitBytes: number;
    netRxBytes: number;
    netTxBytes: number;
    blockReadBytes: number;
    blockWriteBytes: number;
}

export interface NetworkDetails {
    id: string;
    name: string;
    driver: string;
    subnets: string[];
    gateways: string[];
    /** com.docker.network.driver.mtu, when set */
    mtu?: number;
    labels: Record<string, string>;
    /** attached containers, by name (only from inspectNetwork) */
    containers?: string[];
}

export interface VolumeSummary {
    name: string;
    labels: Record<string, string>;
}

export interface EngineInfo {
    serverVersion: string;
    /** "1" or "2" */
    cgroupVersion: string;
    cpus: number;
    memoryBytes: number;
    operatingSystem: string;
}

export interface LogOptions {
    follow: boolean;
    /** unix seconds */
    since?: number;
    /** last lines only */
    tail?: number;
    timestamps: boolean;
}

export interface DockerApi {
    /** where the engine is, for messages: unix:///var/run/docker.sock */
    readonly host: string;
    info(timeoutMs: number): Promise<EngineInfo>;
    /** all containers (running or not) carrying every one of `labels` ("key=value") */
    listContainers(labels: string[], timeoutMs: number): Promise<ContainerSummary[]>;
    inspectContainer(nameOrId: string, timeoutMs: number): Promise<ContainerDetails>;
    /** one sample; only for a running container */
    containerUsage(nameOrId: string, timeoutMs: number): Promise<ContainerUsage>;
    listNetworks(timeoutMs: number): Promise<NetworkDetails[]>;
    inspectNetwork(nameOrId: string, timeoutMs: number): Promise<NetworkDetails>;
    /** false when the engine does not have it */
    hasImage(name: string, timeoutMs: number): Promise<boolean>;
    /** resolves when the registry has a manifest for `name` (GET /distribution/{name}/json) */
    checkPullable(name: string, timeoutMs: number): Promise<void>;
    /** writes the container's log as it comes; resolves at its end (with `follow`, when the container stops or `signal` aborts) */
    logs(nameOrId: string, opts: LogOptions, write: (stream: "stdout" | "stderr", chunk: Buffer) => void, signal?: AbortSignal): Promise<void>;
    /** the volumes carrying every one of `labels` ("key" or "key=value") */
    listVolumes(labels: string[], timeoutMs: number): Promise<VolumeSummary[]>;
    /** bytes under `path` in a running container (`du -sk` run in it) */
    diskUsage(container: string, path: string, timeoutMs: number): Promise<number>;
    close(): void;
}

/** A failed Docker call; `message` is safe to print and says what to do. */
export class DockerError extends Error {
    constructor(
        /** engine: the engine cannot be reached; config: DOCKER_HOST & co. are unusable; notfound: 404; conflict: 409 (a name in use); timeout; other */
        readonly kind: "engine" | "config" | "notfound" | "conflict" | "timeout" | "other",
        message: string,
    ) {
        super(message);
        this.name = "DockerError";
    }
}
