// An in-memory DockerWriter (cli/docker/writer.ts): FakeDocker with the calls that change the
// engine, answering as the engine does where the registry cache relies on it: 409 for a name in
// use, the existing volume for a second create, 404 for a network or container that is not there.

import type { ContainerSpec, DockerWriter } from "../../cli/docker/writer";
import { DockerError } from "../../cli/docker/api";
import { FakeDocker, type FakeContainer } from "./fake-docker";

export class FakeDockerWriter extends FakeDocker implements DockerWriter {
    /** images present; pullImage adds one */
    images = new Set<string>();
    /** every image pulled, in order */
    pulls: string[] = [];
    /** container name → the spec it was created with */
    specs = new Map<string, ContainerSpec>();
    private nextId = 1;

    hasImage(name: string): Promise<boolean> {
        return Promise.resolve(this.images.has(name));
    }

    createNetwork(name: string, labels: Record<string, string>): Promise<void> {
        return this.change(() => {
            if (this.networks.some((n) => n.name === name)) throw new DockerError("conflict", `docker network create ${name}: network with name ${name} already exists`);
            this.networks.push({ id: `net-${this.nextId++}`, name, driver: "bridge", subnets: [], gateways: [], labels });
        });
    }

    createVolume(name: string, labels: Record<string, string>): Promise<void> {
        return this.change(() => {
            if (!this.volumes.some((v) => v.name === name)) this.volumes.push({ name, labels });
        });
    }

    createContainer(spec: ContainerSpec): Promise<void> {
        return this.change(() => {
            if (this.containers.some((c) => c.name === spec.name)) {
                throw new DockerError("conflict", `docker create ${spec.name}: Conflict. The container name "/${spec.name}" is already in use`);
            }
            if (!this.images.has(spec.image)) throw new DockerError("notfound", `docker create ${spec.name}: not found`);
            if (!this.networks.some((n) => n.name === spec.network)) throw new DockerError("notfound", `docker create ${spec.name}: not found`);
            const container: FakeContainer = {
                id: `c-${this.nextId++}`, name: spec.name, image: spec.image, status: "created", running: false,
                startedAt: "0001-01-01T00:00:00Z", exitCode: 0, oomKilled: false, restartCount: 0,
                networks: { [spec.network]: `10.250.0.${this.nextId}` },
                ports: [{ containerPort: spec.port.container, protocol: "tcp", hostIp: spec.port.hostIp, hostPort: spec.port.hostPort }],
                labels: { ...spec.labels },
            };
            this.containers.push(container);
            this.specs.set(spec.name, spec);
        });
    }

    startContainer(name: string): Promise<void> {
        return this.change(() => {
            const c = this.find(name);
            c.status = "running";
            c.running = true;
        });
    }

    connectNetwork(network: string, container: string, ipv4: string): Promise<void> {
        return this.change(() => {
            if (!this.networks.some((n) => n.name === network)) throw new DockerError("notfound", `docker network connect ${network}: not found`);
            const c = this.find(container);
            if (network in c.networks) throw new DockerError("other", `endpoint with name ${container} already exists in network ${network}`);
            if (this.containers.some((o) => o.networks[network] === ipv4)) throw new DockerError("other", `Address already in use: ${ipv4}`);
            c.networks[network] = ipv4;
        });
    }

    disconnectNetwork(network: string, container: string): Promise<void> {
        return this.change(() => {
            const c = this.find(container);
            if (!(network in c.networks)) throw new DockerError("notfound", `docker network disconnect ${network} ${container}: not found`);
            delete c.networks[network];
        });
    }

    removeContainer(name: string): Promise<void> {
        return this.change(() => {
            this.find(name);
            this.containers = this.containers.filter((c) => c.name !== name);
        });
    }

    removeVolume(name: string): Promise<void> {
        return this.change(() => {
            if (this.containers.some((c) => this.specs.get(c.name)?.volume.name === name)) {
                throw new DockerError("conflict", `docker volume rm ${name}: volume is in use`);
            }
            this.volumes = this.volumes.filter((v) => v.name !== name);
        });
    }

    removeNetwork(name: string): Promise<void> {
        return this.change(() => {
            if (this.containers.some((c) => c.running && name in c.networks)) throw new DockerError("other", `docker network rm ${name}: network has active endpoints`);
            this.networks = this.networks.filter((n) => n.name !== name);
        });
    }

    pullImage(name: string): Promise<void> {
        return this.change(() => {
            this.pulls.push(name);
            this.images.add(name);
        });
    }

    private find(name: string): FakeContainer {
        const c = this.containers.find((x) => x.name === name || x.id === name);
        if (c === undefined) throw new DockerError("notfound", `no such container: ${name}`);
        return c;
    }

    private change(fn: () => void): Promise<void> {
        this.calls++;
        if (this.down) return Promise.reject(new DockerError("engine", `the Docker Engine at ${this.host} is not running (ECONNREFUSED): start it`));
        try {
            fn();
            return Promise.resolve();
        } catch (err) {
            return Promise.reject(err);
        }
    }
}

/** A cluster network as `pulumi up` makes it, for the caches to join. */
export function clusterNetwork(name: string, subnet: string, cluster: string) {
    return { id: `${name}-id`, name, driver: "bridge", subnets: [subnet], gateways: [], labels: { "talos.owned": "true", "talos.cluster.name": cluster } };
}
