// The calls that change the Docker Engine, for the one command that makes containers of its own:
// `registry-cache` (the pull-through caches are no stack's resources; see model/registries.ts).
// Every call has its deadline, as the read calls do (./client.ts).

import type Docker from "dockerode";

import { DEFAULT_DOCKER_HOST, DockerError, type DockerApi } from "./api";
import { connectionOptions, DockerodeApi } from "./client";

/** A container as the caches are made: one volume, one published port, one network. */
export interface ContainerSpec {
    name: string;
    image: string;
    env: string[];
    labels: Record<string, string>;
    /** a named volume and where it is mounted */
    volume: { name: string; path: string };
    /** a TCP port published on one host address */
    port: { container: number; hostIp: string; hostPort: number };
    /** the network it is created on */
    network: string;
    restart: "no" | "always" | "unless-stopped" | "on-failure";
}

export interface DockerWriter extends DockerApi {
    /** a bridge network; rejects with kind "conflict" when one of that name exists (on engines that check) */
    createNetwork(name: string, labels: Record<string, string>, timeoutMs: number): Promise<void>;
    /** idempotent: Docker hands back the volume of that name when it exists */
    createVolume(name: string, labels: Record<string, string>, timeoutMs: number): Promise<void>;
    /** rejects with kind "conflict" when a container of that name exists */
    createContainer(spec: ContainerSpec, timeoutMs: number): Promise<void>;
    /** a running container is left as it is */
    startContainer(name: string, timeoutMs: number): Promise<void>;
    connectNetwork(network: string, container: string, ipv4: string, timeoutMs: number): Promise<void>;
    disconnectNetwork(network: string, container: string, timeoutMs: number): Promise<void>;
    /** stops and removes it; its volumes stay */
    removeContainer(name: string, timeoutMs: number): Promise<void>;
    removeVolume(name: string, timeoutMs: number): Promise<void>;
    removeNetwork(name: string, timeoutMs: number): Promise<void>;
    /** `docker pull`, to its end */
    pullImage(name: string, timeoutMs: number): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The engine of $DOCKER_HOST (or the default socket), as dockerFromEnv reaches it, with the writing calls. */
export function dockerWriterFromEnv(env: Env): DockerWriter {
    const host = env.DOCKER_HOST && env.DOCKER_HOST !== "" ? env.DOCKER_HOST : DEFAULT_DOCKER_HOST;
    let options: Docker.DockerOptions;
    try {
        options = connectionOptions(host, env);
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        const why = err instanceof DockerError
            ? err
            : new DockerError("config", `the Docker TLS files (DOCKER_CERT_PATH) cannot be read: ${code}`);
        return new DockerodeWriter(host, { socketPath: "/nonexistent" }, why);
    }
    return new DockerodeWriter(host, options);
}

/** The engine's 409: a name in use. */
export function isConflict(err: unknown): boolean {
    return err instanceof DockerError && err.kind === "conflict";
}

class DockerodeWriter extends DockerodeApi implements DockerWriter {
    createNetwork(name: string, labels: Record<string, string>, timeoutMs: number): Promise<void> {
        return this.call(`docker network create ${name}`, timeoutMs, async () => {
            // CheckDuplicate: engines before API 1.44 would otherwise make a second network of the name.
            await this.docker.createNetwork({ Name: name, Driver: "bridge", Labels: labels, CheckDuplicate: true });
        });
    }

    createVolume(name: string, labels: Record<string, string>, timeoutMs: number): Promise<void> {
        return this.call(`docker volume create ${name}`, timeoutMs, async () => {
            await this.docker.createVolume({ Name: name, Labels: labels });
        });
    }

    createContainer(spec: ContainerSpec, timeoutMs: number): Promise<void> {
        const port = `${spec.port.container}/tcp`;
        return this.call(`docker create ${spec.name}`, timeoutMs, async () => {
            await this.docker.createContainer({
                name: spec.name,
                Image: spec.image,
                Env: spec.env,
                Labels: spec.labels,
                ExposedPorts: { [port]: {} },
                HostConfig: {
                    Binds: [`${spec.volume.name}:${spec.volume.path}`],
                    PortBindings: { [port]: [{ HostIp: spec.port.hostIp, HostPort: String(spec.port.hostPort) }] },
                    RestartPolicy: { Name: spec.restart },
                    NetworkMode: spec.network,
                },
            });
        });
    }

    startContainer(name: string, timeoutMs: number): Promise<void> {
        return this.call(`docker start ${name}`, timeoutMs, async () => {
            try {
                await this.docker.getContainer(name).start();
            } catch (err) {
                // 304: already running.
                if ((err as { statusCode?: number }).statusCode !== 304) throw err;
            }
        });
    }

    connectNetwork(network: string, container: string, ipv4: string, timeoutMs: number): Promise<void> {
        return this.call(`docker network connect --ip ${ipv4} ${network} ${container}`, timeoutMs, async () => {
            await this.docker.getNetwork(network).connect({
                Container: container, EndpointConfig: { IPAMConfig: { IPv4Address: ipv4 } },
            });
        });
    }

    disconnectNetwork(network: string, container: string, timeoutMs: number): Promise<void> {
        return this.call(`docker network disconnect ${network} ${container}`, timeoutMs, async () => {
            await this.docker.getNetwork(network).disconnect({ Container: container, Force: true });
        });
    }

    removeContainer(name: string, timeoutMs: number): Promise<void> {
        return this.call(`docker rm -f ${name}`, timeoutMs, async () => {
            await this.docker.getContainer(name).remove({ force: true });
        });
    }

    removeVolume(name: string, timeoutMs: number): Promise<void> {
        return this.call(`docker volume rm ${name}`, timeoutMs, async () => {
            await this.docker.getVolume(name).remove();
        });
    }

    removeNetwork(name: string, timeoutMs: number): Promise<void> {
        return this.call(`docker network rm ${name}`, timeoutMs, async () => {
            await this.docker.getNetwork(name).remove();
        });
    }

    pullImage(name: string, timeoutMs: number): Promise<void> {
        return this.call(`docker pull ${name}`, timeoutMs, async () => {
            const stream = await this.docker.pull(name);
            const events = await new Promise<{ error?: string }[]>((resolve, reject) => {
                this.docker.modem.followProgress(stream, (err: Error | null, output: { error?: string }[]) => {
                    if (err) reject(err);
                    else resolve(output);
                });
            });
            // A pull that fails half-way ends its stream normally, with the reason in an event.
            const failed = events.find((e) => typeof e.error === "string");
            if (failed !== undefined) throw new Error(failed.error);
        });
    }
}
