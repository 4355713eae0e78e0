// `registry-cache` against an in-memory engine (tests/support/fake-docker-writer.ts): the caches'
// containers, volumes and labels as `pulumi up` of a stack with registryCache.enabled makes them,
// one set shared by two stacks, and what detach (`pulumi destroy`) and rm keep.

import { beforeEach, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { attachArgs, detachArgs } from "../../cli/registrycache/args";
import {
    cacheAddresses, cachePlans, REGISTRY_CACHE_IMAGE, REGISTRY_CACHE_LABEL, REGISTRY_CACHE_NETWORK, REGISTRY_DATA_PATH,
} from "../../model/registries";
import { clusterNetwork, FakeDockerWriter } from "../support/fake-docker-writer";
import { runCli } from "./support/harness";

let docker: FakeDockerWriter;
const run = (args: string[]) => runCli(args, {}, { clients: { dockerWriter: () => docker } });
const REGISTRIES = ["docker.io", "registry.k8s.io", "quay.io", "gcr.io", "ghcr.io"];

beforeEach(() => {
    docker = new FakeDockerWriter();
    docker.networks.push(clusterNetwork("talos-net", "172.30.0.0/24", "talos"), clusterNetwork("lab-net", "10.77.0.0/24", "lab"));
});

describe("attach, as a stack's pulumi up runs it", () => {
    it("makes one registry:2 cache per upstream, each with its volume, labels, port on 127.0.0.1 and remote", async () => {
        const r = await run(attachArgs("talos-net", "172.30.0.0/24"));
        expect(r.err).toEqual([]);
        expect(r.code).toBe(ExitCode.OK);
        expect(docker.pulls).toEqual([REGISTRY_CACHE_IMAGE]);
        expect(docker.containers.map((c) => c.name).sort()).toEqual(REGISTRIES.map((h) => `talos-registry-cache-${h}`).sort());
        const remotes: Record<string, string> = {
            "docker.io": "https://registry-1.docker.io", "registry.k8s.io": "https://registry.k8s.io", "quay.io": "https://quay.io",
            "gcr.io": "https://gcr.io", "ghcr.io": "https://ghcr.io",
        };
        for (const [i, host] of REGISTRIES.entries()) {
            const name = `talos-registry-cache-${host}`;
            const spec = docker.specs.get(name);
            expect(spec).toEqual({
                name, image: "registry:2", env: [`REGISTRY_PROXY_REMOTEURL=${remotes[host]}`], labels: { [REGISTRY_CACHE_LABEL]: host },
                volume: { name, path: REGISTRY_DATA_PATH },
                port: { container: 5000, hostIp: "127.0.0.1", hostPort: 5000 + [0, 1, 2, 3, 4][i] },
                network: REGISTRY_CACHE_NETWORK, restart: "unless-stopped",
            });
            const c = docker.containers.find((x) => x.name === name);
            expect(c?.running).toBe(true);
            expect(c?.networks["talos-net"]).toBe(cacheAddresses("172.30.0.0/24")[host]);
        }
        expect(docker.volumes).toEqual(cachePlans().map((p) => ({ name: p.volume, labels: { [REGISTRY_CACHE_LABEL]: p.registry } })));
        expect(docker.networks.find((n) => n.name === REGISTRY_CACHE_NETWORK)?.labels).toEqual({ [REGISTRY_CACHE_LABEL]: "network" });
        expect(r.out.at(-1)).toBe("registry-cache: 5 caches running, attached to talos-net");
    });

    it("a second stack finds the same caches and only attaches them to its network", async () => {
        await run(attachArgs("talos-net", "172.30.0.0/24"));
        const ids = docker.containers.map((c) => c.id).sort();
        const second = await run(attachArgs("lab-net", "10.77.0.0/24"));
        expect(second.code).toBe(ExitCode.OK);
        expect(docker.containers.map((c) => c.id).sort()).toEqual(ids);
        expect(docker.volumes).toHaveLength(5);
        expect(docker.pulls).toHaveLength(1);
        for (const c of docker.containers) {
            const host = c.labels[REGISTRY_CACHE_LABEL];
            expect(c.networks["talos-net"]).toBe(cacheAddresses("172.30.0.0/24")[host]);
            expect(c.networks["lab-net"]).toBe(cacheAddresses("10.77.0.0/24")[host]);
        }
        expect(second.out.filter((l) => l.includes("created"))).toEqual([]);
    });

    it("is idempotent, and starts a stopped cache", async () => {
        await run(attachArgs("talos-net", "172.30.0.0/24"));
        const stopped = docker.containers[0];
        stopped.running = false;
        stopped.status = "exited";
        const again = await run(attachArgs("talos-net", "172.30.0.0/24"));
        expect(again.code).toBe(ExitCode.OK);
        expect(again.out).toEqual([`registry-cache: ${stopped.labels[REGISTRY_CACHE_LABEL]}: started ${stopped.name}`, "registry-cache: 5 caches running, attached to talos-net"]);
        expect(docker.containers.every((c) => c.running)).toBe(true);
    });

    it("two stacks at once: the one that loses the create adopts the winner's cache", async () => {
        const [a, b] = await Promise.all([run(attachArgs("talos-net", "172.30.0.0/24")), run(attachArgs("lab-net", "10.77.0.0/24"))]);
        expect([a.code, b.code]).toEqual([ExitCode.OK, ExitCode.OK]);
        expect(docker.containers).toHaveLength(5);
        for (const c of docker.containers) expect(Object.keys(c.networks).sort()).toEqual([REGISTRY_CACHE_NETWORK, "lab-net", "talos-net"].sort());
    });

    it("refuses a container of a cache's name that is not a cache, and names it", async () => {
        docker.images.add(REGISTRY_CACHE_IMAGE);
        docker.networks.push({ id: "x", name: REGISTRY_CACHE_NETWORK, driver: "bridge", subnets: [], gateways: [], labels: { [REGISTRY_CACHE_LABEL]: "network" } });
        await docker.createContainer({
            name: "talos-registry-cache-quay.io", image: REGISTRY_CACHE_IMAGE, env: [], labels: {}, volume: { name: "v", path: "/data" },
            port: { container: 5000, hostIp: "127.0.0.1", hostPort: 6000 }, network: REGISTRY_CACHE_NETWORK, restart: "no",
        });
        const r = await run(attachArgs("talos-net", "172.30.0.0/24"));
        expect(r.code).toBe(ExitCode.FAILED);
        expect(r.err.join("\n")).toContain("a container named talos-registry-cache-quay.io exists without the label talos-docker.registry-cache=quay.io");
    });

    it("says so when the cluster network does not exist", async () => {
        const r = await run(attachArgs("gone-net", "10.1.0.0/24"));
        expect(r.code).toBe(ExitCode.FAILED);
        expect(r.err.join("\n")).toContain("the Docker network gone-net does not exist");
    });
});

describe("detach and rm", () => {
    it("detach (pulumi destroy) leaves the caches, their data and the other stack's network", async () => {
        await run(attachArgs("talos-net", "172.30.0.0/24"));
        await run(attachArgs("lab-net", "10.77.0.0/24"));
        const r = await run(detachArgs("talos-net"));
        expect(r.code).toBe(ExitCode.OK);
        expect(docker.containers).toHaveLength(5);
        expect(docker.volumes).toHaveLength(5);
        for (const c of docker.containers) {
            expect(c.running).toBe(true);
            expect(Object.keys(c.networks).sort()).toEqual([REGISTRY_CACHE_NETWORK, "lab-net"].sort());
        }
        // Now the cluster's network can go, as `pulumi destroy` removes it next.
        await expect(docker.removeNetwork("talos-net")).resolves.toBeUndefined();
        expect((await run(detachArgs("talos-net"))).code).toBe(ExitCode.OK);
    });

    it("rm removes the containers and keeps the volumes; rm --volumes removes those too", async () => {
        await run(attachArgs("talos-net", "172.30.0.0/24"));
        await run(detachArgs("talos-net"));
        const rm = await run(["registry-cache", "rm"]);
        expect(rm.code).toBe(ExitCode.OK);
        expect(docker.containers).toEqual([]);
        expect(docker.volumes).toHaveLength(5);
        expect(rm.out.at(-1)).toBe("registry-cache: the caches' volumes are kept: `registry-cache rm --volumes` removes them too");
        expect((await run(["registry-cache", "rm", "--volumes"])).code).toBe(ExitCode.OK);
        expect(docker.volumes).toEqual([]);
        expect(docker.networks.map((n) => n.name).sort()).toEqual(["lab-net", "talos-net"]);
    });
});

describe("usage", () => {
    it.each([
        [[], 'registry-cache: no action; give one of up, attach, detach, rm (see `registry-cache --help`)'],
        [["attach", "--subnet", "10.0.0.0/24"], "registry-cache attach: --network NAME is required"],
        [["attach", "--network", "n", "--subnet", "10.0.0/24"], 'registry-cache attach: --subnet "10.0.0/24"'],
        [["up", "--network", "n"], "registry-cache up: --network is for attach and detach"],
        [["detach", "--network", "n", "--volumes"], "registry-cache detach: --volumes is for rm"],
    ])("%j is refused", async (args, message) => {
        const r = await run(["registry-cache", ...args]);
        expect(r.code).toBe(ExitCode.USAGE);
        expect(r.err.join("\n")).toContain(message);
        expect(docker.calls).toBe(0);
    });

    it("an engine that is down fails with its message", async () => {
        docker.down = true;
        const r = await run(attachArgs("talos-net", "172.30.0.0/24"));
        expect(r.code).toBe(ExitCode.FAILED);
        expect(r.err.join("\n")).toContain("is not running (ECONNREFUSED)");
    });
});
