// `wait`'s Talos-side checks through the whole CLI, against the fake apid (gRPC, mutual TLS, the
// nodes behind it reached with `node` metadata) beside the fake Kubernetes API: a node still
// booting, etcd not healthy, a node apid cannot reach, a talosconfig of another cluster.

import { performance } from "node:perf_hooks";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { FakeKube, type FakeNodeSpec } from "../support/fake-kube";
import { FakeTalos, HEALTHY_SERVICES, type FakeNode } from "../support/fake-talos";
import { makeSecretsBundle } from "../support/pki";
import { kubeconfigFor, makeTestPki, runCli, talosconfigFor, type TestPki } from "./support/harness";

let pki: TestPki;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
    pki = await makeTestPki();
    await import("../../cli/kube/client");
});

afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
});

const NODES: FakeNodeSpec[] = [
    { name: "talos-cp-01", ip: "172.30.0.2" },
    { name: "talos-worker-01", ip: "172.30.0.3" },
    { name: "talos-worker-02", ip: "172.30.0.4" },
];
const ARGS = [
    "--control-planes", `${NODES[0].name}=${NODES[0].ip}`, "--workers", NODES.slice(1).map((n) => `${n.name}=${n.ip}`).join(","),
    "--cni", "flannel", "--kube-proxy", "on", "--coredns", "on",
];

async function cluster(nodes: Record<string, FakeNode>): Promise<{ talos: FakeTalos; env: Record<string, string> }> {
    const [talos, kube] = await Promise.all([
        FakeTalos.start({
            osCa: pki.bundle.certs.os, self: NODES[0].ip, nodes, etcd: [{ id: "3940585227557765120", hostname: NODES[0].name, ip: NODES[0].ip }],
        }),
        FakeKube.start({ k8sCa: pki.bundle.certs.k8s }),
    ]);
    closers.push(() => talos.close(), () => kube.close());
    kube.setHealthy(NODES);
    return { talos, env: { TALOS_DOCKER_KUBECONFIG: kubeconfigFor(pki, kube.url), TALOS_DOCKER_TALOSCONFIG: talosconfigFor(pki, talos.endpoint) } };
}

const healthyNodes = (): Record<string, FakeNode> => ({ [NODES[0].ip]: { controlPlane: true }, [NODES[1].ip]: {}, [NODES[2].ip]: {} });

describe("wait, the Talos side", () => {
    it("asks every node through the endpoint, the etcd members of the control planes", async () => {
        const { talos, env } = await cluster(healthyNodes());
        const run = await runCli(["wait", "--timeout", "10s", ...ARGS], env);
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out.join("\n")).not.toMatch(/not waiting for etcd/);
        expect(run.out.at(-1)).toMatch(/^\[wait\] done: etcd healthy on 1\/1 control planes, etcd members consistent \(1 on 1 control plane\), etcd members are the control planes, apid 3\/3, kubelet healthy on 1\/1 control planes, 3\/3 nodes booted, API ready, /);
        // Version and the machine status of every node (`nodes` metadata, as apid's proxy reads it;
        // `node` for COSI, which goes one-to-one); the services of the control plane only.
        const routed = (method: string, key: "nodes" | "node") => new Set(talos.received.filter((c) => c.method === method).map((c) => c[key][0]));
        expect(routed("version", "nodes")).toEqual(new Set(NODES.map((n) => n.ip)));
        expect(routed("serviceList", "nodes")).toEqual(new Set([NODES[0].ip]));
        expect(routed("etcdMemberList", "nodes")).toEqual(new Set([NODES[0].ip]));
        expect(run.out.at(-1)).toContain("etcd members consistent (1 on 1 control plane)");
        expect(routed("cosiGet", "node")).toEqual(new Set(NODES.map((n) => n.ip)));
    });

    it("waits for a node still booting, and notices within a second when it is done", async () => {
        const nodes = healthyNodes();
        nodes[NODES[2].ip].machineStatus = { stage: "booting", ready: false, unmetConditions: [{ name: "time", reason: "time is not in sync yet" }] };
        const { talos, env } = await cluster(nodes);
        let bootedAt = 0;
        setTimeout(() => {
            talos.nodes[NODES[2].ip].machineStatus = { stage: "running", ready: true, unmetConditions: [] };
            bootedAt = performance.now();
        }, 1500);
        const run = await runCli(["wait", "--timeout", "10s", ...ARGS], env);
        expect(run.code).toBe(ExitCode.OK);
        expect(performance.now() - bootedAt).toBeLessThan(1000);
        expect(run.out[0]).toBe("[wait] waiting for all nodes to finish boot sequence (0s, talos-worker-02 (172.30.0.4) is booting (time: time is not in sync yet))");
    });

    it("times out on etcd not healthy and a node apid cannot reach, naming each with what to read", async () => {
        const nodes = healthyNodes();
        nodes[NODES[0].ip].services = HEALTHY_SERVICES.map((s) =>
            s.id === "etcd" ? { ...s, health: { unknown: false, healthy: false, last_message: "context deadline exceeded" } } : s);
        nodes[NODES[1].ip].down = true;
        const { talos, env } = await cluster(nodes);
        const run = await runCli(["wait", "--timeout", "2s", ...ARGS], env);
        expect(run.code).toBe(ExitCode.TIMEOUT);
        const lines = run.err[0].split("\n");
        expect(lines[1]).toBe("  - talos-cp-01 (172.30.0.2): etcd is Running but not healthy (context deadline exceeded)");
        expect(lines[2]).toMatch(new RegExp(`^  - apid of talos-worker-01 \\(172\\.30\\.0\\.3\\) does not answer through ${talos.endpoint.replace(/\./g, "\\.")}: `));
        expect(lines).toContain("  talosctl -n 172.30.0.3 dmesg");
        expect(run.out[0]).toBe("[wait] waiting for etcd to be healthy (0s, talos-cp-01 (172.30.0.2): etcd is Running but not healthy (context deadline exceeded))");
    });

    it("with a talosconfig but no node's address, skips the Talos side and says why", async () => {
        const { talos, env } = await cluster(healthyNodes());
        const run = await runCli(["wait", "--nodes", "3", "--timeout", "10s"], env);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out[0]).toMatch(/: no node's address is known \(--control-planes and --workers NAME=IP give them\) \(0s\)$/);
        expect(talos.received).toEqual([]);
    });

    it("fails at once on a talosconfig whose CA is not the cluster's", async () => {
        const { env } = await cluster(healthyNodes());
        const other = await makeSecretsBundle({ rsaBits: 2048 });
        const endpoint = /endpoints:\n\s+- (\S+)/.exec(env.TALOS_DOCKER_TALOSCONFIG)![1];
        const run = await runCli(["wait", "--timeout", "30s", ...ARGS], { ...env, TALOS_DOCKER_TALOSCONFIG: talosconfigFor(pki, endpoint, { ca: other.certs.os.crt }) });
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.ms).toBeLessThan(3000);
        expect(run.err[0]).toMatch(/^\[wait\] error: .*(TLS|certificate)/);
    });
});
