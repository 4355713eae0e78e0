// Every exit code a command's help lists is one it returns: for each command, a run that ends
// with each of its declared codes, and no scenario for a code it does not declare. The other
// direction — no run ends with an undeclared code — is checked by the harness on every run of
// every CLI test (tests/cli/support/harness.ts).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { status as GrpcStatus } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { COMMANDS } from "../../cli/commands";
import { DockerError } from "../../cli/docker/api";
import { ExitCode } from "../../cli/exitcodes";
import { KubeRequestError, type KubeApi, type KubeResponse } from "../../cli/kube/api";
import type { TalosApi, VersionMessage } from "../../talos/api";
import { TalosApiError } from "../../talos/api/errors";
import { renderKubeconfig, renderTalosconfig } from "../../talos/clientconfig";
import { FakeDocker, fakeNode } from "../support/fake-docker";
import { FakeDockerWriter } from "../support/fake-docker-writer";
import { makeNode, makePod } from "../support/fake-kube";
import { FakeClock } from "./support/fakeclock";
import { runCli, type CliRun } from "./support/harness";

// Client configs that pass the shape checks; the stand-in clients below never use their keys.
const pem = (label: string, seed: string) => `-----BEGIN ${label}-----\n${Buffer.from(seed).toString("base64")}\n-----END ${label}-----\n`;
const TALOSCONFIG = renderTalosconfig({ contextName: "talos", endpoints: ["127.0.0.1:50000"], ca: pem("CERTIFICATE", "ca"), crt: pem("CERTIFICATE", "crt"), key: pem("ED25519 PRIVATE KEY", "key") });
const KUBECONFIG = renderKubeconfig({ clusterName: "talos", server: "https://127.0.0.1:6444", ca: pem("CERTIFICATE", "ca"), crt: pem("CERTIFICATE", "crt"), key: pem("EC PRIVATE KEY", "key") });

const VERSION: VersionMessage = { metadata: null, version: { tag: "v1.8.3", sha: "", built: "", go_version: "", os: "linux", arch: "amd64" }, platform: null, features: null };

function talos(over: Partial<TalosApi> = {}): TalosApi {
    const unused = () => Promise.reject(new Error("not used by these commands"));
    return {
        endpoint: "127.0.0.1:50000",
        version: async () => VERSION,
        bootstrap: async () => {},
        serviceList: async () => [],
        applyConfiguration: unused,
        machineConfig: unused,
        etcdMemberList: unused,
        etcdLeaveCluster: unused,
        etcdRemoveMemberById: unused,
        machineStatus: unused,
        close() {},
        ...over,
    };
}

function kube(get: (path: string) => Promise<KubeResponse>, over: Partial<KubeApi> = {}): KubeApi {
    const unused = () => Promise.reject(new Error("not used"));
    return { server: "https://127.0.0.1:6444", get, patch: unused, post: unused, delete: unused, close() {}, ...over };
}

/** One Ready node with CoreDNS, kube-proxy and flannel running on it. */
const readyCluster = kube(async (path) => {
    const node = { name: "talos-cp-01", ip: "172.30.0.2" };
    switch (path) {
        case "/readyz":
            return { status: 200, body: "ok" };
        case "/api/v1/nodes":
            return { status: 200, body: JSON.stringify({ items: [makeNode(node, true)] }) };
        case "/apis/apps/v1/namespaces/kube-system/daemonsets":
        case "/apis/apps/v1/namespaces/kube-system/deployments":
            return { status: 200, body: JSON.stringify({ items: [] }) };
        default:
            return { status: 200, body: JSON.stringify({ items: ["kube-dns", "kube-proxy", "flannel"].map((app) => makePod(`${app}-1`, app, node.name, true)) }) };
    }
});

const RUNNING = "version: v1alpha1\nmachine:\n    type: worker\n";
const DESIRED = "version: v1alpha1\nmachine:\n    type: worker\n    nodeLabels:\n        tier: gold\n";
const APPLY = ["apply", "--node", "172.30.0.3", "--container", "talos-worker-01"];
const applyEnv = { TALOS_DOCKER_TALOSCONFIG: TALOSCONFIG, TALOS_DOCKER_MACHINE_CONFIG: DESIRED };
const MANIFESTS = ["manifests", "--kubernetes-version", "1.31.2"];
const REMOVE_WORKER = ["remove-node", "--node", "172.30.0.4", "--container", "talos-worker-02", "--role", "worker"];
const REMOVE_CP = ["remove-node", "--node", "172.30.0.4", "--container", "talos-cp-03", "--role", "controlplane"];
const removeEnv = { TALOS_DOCKER_TALOSCONFIG: TALOSCONFIG, TALOS_DOCKER_KUBECONFIG: KUBECONFIG };
/** The cluster lists no Node: the node is gone already. */
const noNodes = kube(async () => ({ status: 200, body: JSON.stringify({ items: [] }) }));
/** Three etcd members, of which only the leaving one's own etcd answers. */
const members = ["172.30.0.2", "172.30.0.3", "172.30.0.4"].map((ip, i) => ({
    id: String(i + 1), hostname: `talos-cp-0${i + 1}`, peerUrls: [`https://${ip}:2380`], clientUrls: [`https://${ip}:2379`], isLearner: false,
}));
const etcdMostlyDown = talos({
    etcdMemberList: async (_t, opts) => {
        if (opts?.node === undefined) return members;
        throw new TalosApiError("retryable", GrpcStatus.UNAVAILABLE, "unavailable", "etcdserver: no leader");
    },
});

const boom = () => {
    throw new Error("a bug in a client");
};

let dir: string;
let bin: string;

/** A fake `pulumi` on PATH for destroy: `stack --show-name` says dev, destroy exits `destroyExit`. */
function pulumiPath(destroyExit: number): string {
    const path = join(bin, String(destroyExit));
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, "pulumi"), `#!/bin/sh\ncase "$1 $2" in\n  "stack --show-name") echo dev ;;\n  "destroy "*) exit ${destroyExit} ;;\nesac\n`, { mode: 0o755 });
    return `${path}:/usr/bin:/bin`;
}

/** A project directory whose only stack uses free ports (doctor binds them for real). */
async function projectWithFreePorts(): Promise<string> {
    const servers = [0, 1, 2, 3].map(() => createServer());
    const ports = await Promise.all(servers.map((s) => new Promise<number>((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)))));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    const project = mkdtempSync(join(dir, "project-"));
    writeFileSync(join(project, "Pulumi.dev.yaml"), `config:\n  talos-docker:ports: ${JSON.stringify({ kubernetesApi: ports[0], talosApi: ports[1], http: ports[2], https: ports[3] })}\n`);
    return project;
}

/** A running Talos cluster of one node in Docker, with its network: status finds nothing wrong. */
function healthyDocker(): FakeDocker {
    const docker = new FakeDocker();
    docker.containers = [fakeNode({ name: "talos-cp-01", cluster: "talos", role: "controlplane", ip: "172.30.0.2", network: "talos-net" })];
    docker.networks = [{ id: "n1", name: "talos-net", driver: "bridge", subnets: ["172.30.0.0/24"], gateways: ["172.30.0.1"], labels: { "talos.cluster.name": "talos" } }];
    return docker;
}

/** The leaving nodes' containers, running: remove-node then goes by the APIs. */
function leavingNodesRun(): FakeDocker {
    const docker = healthyDocker();
    docker.containers.push(
        fakeNode({ name: "talos-worker-02", cluster: "talos", role: "worker", ip: "172.30.0.4", network: "talos-net" }),
        fakeNode({ name: "talos-cp-03", cluster: "talos", role: "controlplane", ip: "172.30.0.4", network: "talos-net" }),
    );
    return docker;
}

type Scenario = () => Promise<CliRun>;

const SCENARIOS: Record<string, Partial<Record<ExitCode, Scenario>>> = {
    bootstrap: {
        [ExitCode.OK]: () => runCli(["bootstrap"], { TALOS_DOCKER_TALOSCONFIG: TALOSCONFIG }, { clients: { talos: () => talos() } }),
        [ExitCode.FAILED]: () => runCli(["bootstrap"], { TALOS_DOCKER_TALOSCONFIG: TALOSCONFIG }, { clients: { talos: boom } }),
        [ExitCode.USAGE]: () => runCli(["bootstrap"], {}),
        [ExitCode.FATAL]: () => runCli(["bootstrap"], { TALOS_DOCKER_TALOSCONFIG: TALOSCONFIG }, {
            clients: { talos: () => talos({ version: async () => Promise.reject(new TalosApiError("fatal", GrpcStatus.PERMISSION_DENIED, "not authorized", "apid refused the client certificate")) }) },
        }),
        [ExitCode.TIMEOUT]: () => runCli(["bootstrap", "--timeout", "30s"], { TALOS_DOCKER_TALOSCONFIG: TALOSCONFIG }, {
            clock: new FakeClock(),
            clients: { talos: () => talos({ version: async () => Promise.reject(new TalosApiError("retryable", GrpcStatus.UNAVAILABLE, "connection refused", "apid: connection refused")) }) },
        }),
    },
    wait: {
        [ExitCode.OK]: () => runCli(["wait", "--nodes", "1"], { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }, { clients: { kube: async () => readyCluster } }),
        [ExitCode.FAILED]: () => runCli(["wait", "--nodes", "1"], { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }, { clients: { kube: async () => boom() } }),
        [ExitCode.USAGE]: () => runCli(["wait"], { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }),
        [ExitCode.FATAL]: () => runCli(["wait", "--nodes", "1"], { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }, {
            clients: { kube: async () => kube(async () => Promise.reject(new KubeRequestError("fatal", "401 Unauthorized", "the Kubernetes API answered 401 Unauthorized"))) },
        }),
        [ExitCode.TIMEOUT]: () => runCli(["wait", "--nodes", "1", "--timeout", "30s"], { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }, {
            clock: new FakeClock(),
            clients: { kube: async () => kube(async () => ({ status: 500, body: "[-]etcd failed: reason withheld" })) },
        }),
    },
    apply: {
        [ExitCode.OK]: () => runCli(APPLY, applyEnv, { clients: { talos: () => talos({ machineConfig: async () => DESIRED }) } }),
        [ExitCode.FAILED]: () => runCli(APPLY, applyEnv, { clients: { talos: boom } }),
        [ExitCode.USAGE]: () => runCli(["apply"], applyEnv),
        [ExitCode.FATAL]: () => runCli(APPLY, applyEnv, {
            clients: {
                talos: () => talos({
                    machineConfig: async () => RUNNING,
                    applyConfiguration: async () => Promise.reject(new TalosApiError("fatal", GrpcStatus.INVALID_ARGUMENT, "refused", "ApplyConfiguration was refused: unknown keys")),
                }),
            },
        }),
        [ExitCode.TIMEOUT]: () => runCli([...APPLY, "--timeout", "30s"], applyEnv, {
            clock: new FakeClock(),
            clients: { talos: () => talos({ version: async () => Promise.reject(new TalosApiError("retryable", GrpcStatus.UNAVAILABLE, "connection refused", "apid: connection refused")) }) },
        }),
        // The node takes the config and goes on reporting the one it had.
        [ExitCode.NOT_APPLIED]: () => runCli(APPLY, applyEnv, {
            clock: new FakeClock(),
            clients: {
                talos: () => talos({
                    machineConfig: async () => RUNNING,
                    applyConfiguration: async () => ({ node: "172.30.0.3", mode: "no-reboot", modeDetails: "Applied configuration without a reboot", warnings: [] }),
                }),
            },
        }),
    },
    manifests: {
        [ExitCode.OK]: () => runCli(MANIFESTS, { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }, { clients: { kube: async () => kube(async () => ({ status: 404, body: "{}" })) } }),
        [ExitCode.FAILED]: () => runCli(MANIFESTS, { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }, { clients: { kube: async () => boom() } }),
        [ExitCode.USAGE]: () => runCli(["manifests"], { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }),
        [ExitCode.FATAL]: () => runCli(MANIFESTS, { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }, {
            clients: { kube: async () => kube(async () => Promise.reject(new KubeRequestError("fatal", "403 Forbidden", "the Kubernetes API answered 403 Forbidden"))) },
        }),
        [ExitCode.TIMEOUT]: () => runCli([...MANIFESTS, "--timeout", "30s"], { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }, {
            clock: new FakeClock(),
            clients: { kube: async () => kube(async () => ({ status: 503, body: "{}" })) },
        }),
    },
    "remove-node": {
        [ExitCode.OK]: () => runCli(REMOVE_WORKER, removeEnv, { clients: { docker: leavingNodesRun, kube: async () => noNodes } }),
        [ExitCode.FAILED]: () => runCli(REMOVE_WORKER, removeEnv, { clients: { docker: leavingNodesRun, kube: async () => boom() } }),
        [ExitCode.USAGE]: () => runCli(["remove-node"], removeEnv),
        [ExitCode.FATAL]: () => runCli(REMOVE_WORKER, removeEnv, {
            clients: { docker: leavingNodesRun, kube: async () => kube(async () => Promise.reject(new KubeRequestError("fatal", "403 Forbidden", "the Kubernetes API answered 403 Forbidden"))) },
        }),
        [ExitCode.TIMEOUT]: () => runCli([...REMOVE_WORKER, "--timeout", "30s"], removeEnv, {
            clock: new FakeClock(),
            clients: { docker: leavingNodesRun, kube: async () => kube(async () => ({ status: 503, body: "{}" })) },
        }),
        // The other members' etcd does not answer: removing one more would lose the quorum.
        [ExitCode.UNHEALTHY]: () => runCli(REMOVE_CP, removeEnv, {
            clock: new FakeClock(),
            clients: { docker: leavingNodesRun, talos: () => etcdMostlyDown, kube: async () => noNodes },
        }),
    },
    status: {
        [ExitCode.OK]: () => runCli(["status", "--timeout", "1s"], { PATH: "/nonexistent" }, { clients: { docker: () => healthyDocker() } }),
        [ExitCode.FAILED]: () => runCli(["status"], { PATH: "/nonexistent" }, { clients: { docker: boom } }),
        [ExitCode.USAGE]: () => runCli(["status", "--timeout", "soon"], {}),
        [ExitCode.UNHEALTHY]: () => runCli(["status", "--timeout", "1s"], { PATH: "/nonexistent" }, { clients: { docker: () => new FakeDocker() } }),
    },
    logs: {
        [ExitCode.OK]: () => runCli(["logs", "cp-01"], {}, { clients: { docker: () => healthyDocker() } }),
        [ExitCode.FAILED]: () => {
            const docker = healthyDocker();
            docker.logs = async () => Promise.reject(new DockerError("other", "docker logs talos-cp-01: the engine failed"));
            return runCli(["logs", "cp-01"], {}, { clients: { docker: () => docker } });
        },
        [ExitCode.USAGE]: () => runCli(["logs"], {}),
    },
    doctor: {
        [ExitCode.OK]: async () => runCli(["doctor", "--project-dir", await projectWithFreePorts()], { PATH: "/nonexistent" }, { clients: { docker: () => new FakeDocker() } }),
        [ExitCode.FAILED]: async () => runCli(["doctor", "--project-dir", await projectWithFreePorts()], { PATH: "/nonexistent" }, { clients: { docker: boom } }),
        [ExitCode.USAGE]: async () => runCli(["doctor", "--project-dir", await projectWithFreePorts(), "--stack", "devv"], { PATH: "/nonexistent" }),
        [ExitCode.UNHEALTHY]: async () => {
            const docker = new FakeDocker();
            docker.down = true;
            return runCli(["doctor", "--project-dir", await projectWithFreePorts()], { PATH: "/nonexistent" }, { clients: { docker: () => docker } });
        },
    },
    "registry-cache": {
        [ExitCode.OK]: () => runCli(["registry-cache", "up"], {}, { clients: { dockerWriter: () => new FakeDockerWriter() } }),
        [ExitCode.FAILED]: () => {
            const docker = new FakeDockerWriter();
            docker.down = true;
            return runCli(["registry-cache", "up"], {}, { clients: { dockerWriter: () => docker } });
        },
        [ExitCode.USAGE]: () => runCli(["registry-cache", "attach"], {}),
        [ExitCode.TIMEOUT]: () => {
            const docker = new FakeDockerWriter();
            docker.listNetworks = () => Promise.reject(new DockerError("timeout", "docker network ls: the Docker Engine did not answer in 1000 ms"));
            return runCli(["registry-cache", "up", "--timeout", "1s"], {}, { clients: { dockerWriter: () => docker } });
        },
    },
    kubeconfig: {
        [ExitCode.OK]: () => runCli(["kubeconfig", "--print"], { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }),
        // The file to merge into is a directory: an I/O error, not the user's input.
        [ExitCode.FAILED]: () => runCli(["kubeconfig", "--file", dir], { TALOS_DOCKER_KUBECONFIG: KUBECONFIG }),
        [ExitCode.USAGE]: () => runCli(["kubeconfig", "--print"], { TALOS_DOCKER_KUBECONFIG: TALOSCONFIG }),
    },
    talosconfig: {
        [ExitCode.OK]: () => runCli(["talosconfig", "--print"], { TALOS_DOCKER_TALOSCONFIG: TALOSCONFIG }),
        [ExitCode.FAILED]: () => runCli(["talosconfig", "--file", dir], { TALOS_DOCKER_TALOSCONFIG: TALOSCONFIG }),
        [ExitCode.USAGE]: () => runCli(["talosconfig", "--print"], { TALOS_DOCKER_TALOSCONFIG: KUBECONFIG }),
    },
    destroy: {
        [ExitCode.OK]: () => runCli(["destroy", "--yes"], { PATH: pulumiPath(0) }),
        [ExitCode.FAILED]: () => runCli(["destroy", "--yes"], { PATH: pulumiPath(1) }),
        [ExitCode.USAGE]: () => runCli(["destroy"], { PATH: "/nonexistent" }),
    },
    version: {
        [ExitCode.OK]: () => runCli(["version"], {}),
        [ExitCode.USAGE]: () => runCli(["version", "--short"], {}),
    },
};

beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "talos-docker-exitcodes-"));
    bin = join(dir, "bin");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("exit codes: each command returns every code its help lists", () => {
    it("has a scenario for exactly the codes each command declares", () => {
        expect(Object.keys(SCENARIOS).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
        for (const command of COMMANDS) {
            expect(Object.keys(SCENARIOS[command.name]).map(Number), command.name).toEqual([...command.exitCodes]);
        }
    });

    it.each(COMMANDS.flatMap((c) => c.exitCodes.map((code) => [c.name, code] as const)))("%s ends with %i", async (name, code) => {
        const run = await SCENARIOS[name][code]!();
        expect(run.code, [...run.err, ...run.out].join("\n")).toBe(code);
    });
});
