// `remove-node` against a real Docker Engine (stand-in node containers of the busybox image the
// test builds, labelled as our nodes are) and the fake Talos and Kubernetes APIs: what a plain
// `pulumi destroy` of a stopped cluster runs for each node ends at once without calling either API,
// and a stopped worker of a running cluster loses its Node without a drain.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { CLI_ENTRY, removeNodeArgs } from "../../cli/invocation";
import { runProcess } from "../cli/support/processes";
import { kubeconfigFor, makeTestPki, runCli, talosconfigFor, type TestPki } from "../cli/support/harness";
import { runNodeContainer, useTestEngine, type TestEngine } from "../support/docker-engine";
import { FakeKube, makeNode, type FakeNodeSpec } from "../support/fake-kube";
import { FakeTalos } from "../support/fake-talos";
import { projectRoot } from "../support/stack";

// The kubeconfig's and talosconfig's cluster (the harness' "test"): the name a node whose
// container is gone is looked for under.
const CLUSTER = "test";
const NETWORK = "rn-net";
const NODES: (FakeNodeSpec & { role: "controlplane" | "worker" })[] = [
    { name: "rn-cp-01", ip: "10.252.1.2", role: "controlplane" },
    { name: "rn-cp-02", ip: "10.252.1.5", role: "controlplane" },
    { name: "rn-worker-01", ip: "10.252.1.3", role: "worker" },
    { name: "rn-worker-02", ip: "10.252.1.4", role: "worker" },
];
const [CP1, CP2, W1, W2] = NODES;

/** "A few seconds": Docker's two answers, and the CLI's own work in-process. */
const QUICK_MS = 3_000;
/** The same, with node's and tsx's start-up, beside the rest of the suite on 2 cores (alone: about 2 s). */
const PROCESS_MS = 10_000;

let pki: TestPki;
let talos: FakeTalos;
let kube: FakeKube;

describe("remove-node against a real Docker Engine", () => {
    const docker = useTestEngine();
    let engine: TestEngine;

    beforeAll(async () => {
        if (docker.skipped) return;
        engine = docker.engine;
        pki = await makeTestPki();
        talos = await FakeTalos.start({ osCa: pki.bundle.certs.os, nodes: Object.fromEntries(NODES.map((n) => [n.ip, { controlPlane: n.role === "controlplane" }])) });
        kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s });
        kube.apiReady = true;
        await engine.docker("network", "create", "--subnet", "10.252.1.0/24", "--label", "talos.owned=true", "--label", `talos.cluster.name=${CLUSTER}`, NETWORK);
        await Promise.all(NODES.map((n) => runNodeContainer(engine, { name: n.name, cluster: CLUSTER, role: n.role, network: NETWORK, ip: n.ip })));
    });

    afterAll(async () => {
        await talos?.close();
        await kube?.close();
    });

    const removeNode = (n: FakeNodeSpec & { role: string }) => runCli(
        ["remove-node", "--node", n.ip, "--container", n.name, "--role", n.role],
        { DOCKER_HOST: engine.host, TALOS_DOCKER_TALOSCONFIG: talosconfigFor(pki, talos.endpoint), TALOS_DOCKER_KUBECONFIG: kubeconfigFor(pki, kube.url) },
    );
    const reset = () => {
        kube.nodes = NODES.map((n) => makeNode(n, true));
        kube.pods = [];
        kube.log.length = 0;
        kube.totalRequests = 0;
        talos.clearCalls();
    };

    it("a worker stopped while the control planes run: its Node deleted without a drain; the Talos API untouched", async () => {
        reset();
        await engine.docker("stop", "-t", "0", W2.name);
        const run = await removeNode(W2);
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out[0]).toBe(
            `[remove-node] removing worker ${W2.ip} (container ${W2.name}): its container is exited while cluster ${CLUSTER} runs ` +
                `(${[CP1.name, CP2.name].sort().join(", ")}), so its Node is deleted without a drain (no kubelet would confirm its ` +
                "pods gone; the pod garbage collector deletes them) (0s)",
        );
        expect(kube.log.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /api/v1/nodes", `DELETE /api/v1/nodes/${W2.name}`]);
        expect(talos.received).toEqual([]);
    });

    it("the whole cluster stopped (docker stop), one container removed: each node's removal ends at once, calling neither API", async () => {
        reset();
        await engine.docker("stop", "-t", "0", ...NODES.map((n) => n.name));
        await engine.docker("rm", CP2.name);
        for (const n of [W1, W2, CP2]) {
            const run = await removeNode(n);
            const state = n === CP2 ? "it has no container" : "its container is exited";
            expect(run.err).toEqual([]);
            expect(run.code).toBe(ExitCode.OK);
            expect(run.out).toEqual([
                `[remove-node] ${n.name} (${n.ip}): ${state}, and no control plane of cluster ${CLUSTER} runs: the cluster is down, ` +
                    "so nothing can leave it and nothing needs to; its Node object and etcd member, if any, go with the cluster",
            ]);
            expect(run.ms).toBeLessThan(QUICK_MS);
        }
        expect(kube.totalRequests).toBe(0);
        expect(talos.received).toEqual([]);

        // As the node's config resource runs it, in a process of its own: start-up included.
        const proc = await runProcess(process.execPath, ["--import", "tsx", CLI_ENTRY, ...removeNodeArgs({ container: W1.name, ip: W1.ip }, "worker", "10m")], {
            cwd: projectRoot,
            env: { PATH: process.env.PATH ?? "", DOCKER_HOST: engine.host, TALOS_DOCKER_KUBECONFIG: kubeconfigFor(pki, kube.url) },
            killAfterMs: 60_000,
        });
        process.stderr.write(`[remove-node, stopped cluster] the process ended after ${Math.round(proc.ms)} ms\n`);
        expect(proc.killed).toBe(false);
        expect(proc.code).toBe(ExitCode.OK);
        expect(proc.stdout).toMatch(/the cluster is down, so nothing can leave it/);
        expect(proc.ms).toBeLessThan(PROCESS_MS);
        expect(kube.totalRequests).toBe(0);
    });
});
