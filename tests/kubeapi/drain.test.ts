// `remove-node --role worker` against a real kube-apiserver (tests/support/kube-apiserver.ts): the
// cordon, the Eviction API with a PodDisruptionBudget, the wait for evicted pods and the Node's
// deletion, as kube-apiserver v1.31 itself answers them. No controller manager or kubelet runs, so
// the test writes what they would (tests/support/kube-objects.ts): nodes and pods with the status a
// kubelet patches, the budget's status, and the confirmation that a terminating pod stopped.
// Skipped, with the reason printed, where the server cannot be built or etcd is missing.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { nodePath, type KubeApi, type Node } from "../../cli/kube/api";
import { kubeClientFromKubeconfig } from "../../cli/kube/client";
import { runCli } from "../cli/support/harness";
import { fakeNode, FakeDocker, stopped } from "../support/fake-docker";
import { kubeApiserverAvailability, startRealKube, type RealKube } from "../support/kube-apiserver";
import {
    createPdb, ensureDefaultServiceAccount, expectStatus, KubeletStandIn, podsOn, registerNode, runPod, setPdbStatus,
} from "../support/kube-objects";
import { makeSecretsBundle } from "../support/pki";

const available = kubeApiserverAvailability();
if ("why" in available) console.warn(`tests/kubeapi/drain skipped: ${available.why}`);

const W1 = { name: "talos-worker-01", ip: "172.30.0.3" };
const W2 = { name: "talos-worker-02", ip: "172.30.0.4" };
const W3 = { name: "talos-worker-03", ip: "172.30.0.5" };
const W4 = { name: "talos-worker-04", ip: "172.30.0.6" };
const CP1 = { name: "talos-cp-01", ip: "172.30.0.2" };

describe.skipIf("why" in available)("remove-node against a real kube-apiserver", () => {
    let kube: RealKube;
    let api: KubeApi;
    let kubelet: KubeletStandIn;
    // The node containers as Docker has them: every one running, unless a test stops one.
    const docker = new FakeDocker();
    docker.containers = [
        fakeNode({ name: CP1.name, cluster: "test", role: "controlplane", ip: CP1.ip, network: "test" }),
        ...[W1, W2, W3, W4].map((n) => fakeNode({ name: n.name, cluster: "test", role: "worker", ip: n.ip, network: "test" })),
    ];

    beforeAll(async () => {
        kube = await startRealKube(await makeSecretsBundle({ rsaBits: 2048 }));
        api = await kubeClientFromKubeconfig(kube.kubeconfig);
        await Promise.all(["default", "kube-system"].map((ns) => ensureDefaultServiceAccount(api, ns)));
        for (const n of [W1, W2, W3]) await registerNode(api, n.name, n.ip);
        kubelet = new KubeletStandIn(api);
        kubelet.start();
    }, 120_000);
    afterAll(async () => {
        kubelet?.stop();
        api?.close();
        await kube?.stop();
    });

    const removeWorker = (node: { name: string; ip: string }, flags: string[], onEviction?: (status: number) => Promise<void>) =>
        runCli(["remove-node", "--node", node.ip, "--container", node.name, "--role", "worker", ...flags], { TALOS_DOCKER_KUBECONFIG: kube.kubeconfig }, {
            clients: {
                docker: () => docker,
                // Our own client, watched: the test plays the disruption controller when the API refuses an eviction.
                kube: async (text) => {
                    const real = await kubeClientFromKubeconfig(text);
                    return {
                        server: real.server,
                        get: (...a) => real.get(...a),
                        patch: (...a) => real.patch(...a),
                        delete: (...a) => real.delete(...a),
                        close: () => real.close(),
                        post: async (path, body, t) => {
                            const res = await real.post(path, body, t);
                            if (path.endsWith("/eviction")) await onEviction?.(res.status);
                            return res;
                        },
                    };
                },
            },
        });

    const node = async (name: string): Promise<Node | undefined> => {
        const res = expectStatus(await api.get(nodePath(name), 5000), `Node ${name}`, 200, 404);
        return res.status === 404 ? undefined : (JSON.parse(res.body) as Node);
    };

    it("cordons, evicts through the budget once it allows, waits for the kubelet, deletes the Node; a re-run is success", async () => {
        await runPod(api, { name: "web-7d4b9-a", node: W1.name, owner: "ReplicaSet/web-7d4b9", labels: { app: "web" } });
        await runPod(api, { name: "web-7d4b9-b", node: W2.name, owner: "ReplicaSet/web-7d4b9", labels: { app: "web" } });
        await runPod(api, { name: "kube-proxy-w2", namespace: "kube-system", node: W2.name, owner: "DaemonSet/kube-proxy" });
        await runPod(api, { name: `static-${W2.name}`, namespace: "kube-system", node: W2.name, annotations: { "kubernetes.io/config.mirror": "0b1c2d" } });
        await runPod(api, { name: "debug", node: W2.name });
        await runPod(api, { name: "cache-5f6c7-a", node: W2.name, owner: "ReplicaSet/cache-5f6c7", emptyDir: true });
        await runPod(api, { name: "report-1", node: W2.name, owner: "Job/report", phase: "Succeeded" });
        await createPdb(api, "default", "web", { app: "web" }, 1);
        await setPdbStatus(api, "default", "web", { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 });

        // The budget refuses until "a replacement is ready elsewhere": after the first refusal the
        // controller's status allows one disruption.
        const evictions: number[] = [];
        const run = await removeWorker(W2, ["--timeout", "60s"], async (status) => {
            evictions.push(status);
            if (status === 429 && evictions.filter((s) => s === 429).length === 1) {
                await setPdbStatus(api, "default", "web", { disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 });
            }
        });
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        const out = run.out.join("\n");
        expect(out).toContain(`cordoned Node ${W2.name}`);
        expect(out).toContain("leaving DaemonSet pods in place (they go with the Node): kube-system/kube-proxy-w2");
        expect(out).toContain(`leaving static (mirror) pods in place: kube-system/static-${W2.name}`);
        expect(out).toContain("leaving finished pods in place (they go with the Node): default/report-1");
        // kube-apiserver's own words for the budget's refusal.
        expect(out).toContain("default/web-7d4b9-b: The disruption budget web needs 2 healthy pods and has 2 currently");
        expect(out).toContain(`deleted Node ${W2.name}`);
        expect(evictions.filter((s) => s === 429)).toHaveLength(1);
        expect(evictions.filter((s) => s === 201)).toHaveLength(3);

        expect(await node(W2.name)).toBeUndefined();
        expect(kubelet.confirmed).toEqual(expect.arrayContaining(["default/web-7d4b9-b", "default/debug", "default/cache-5f6c7-a"]));
        // Left for the pod garbage collector: the DaemonSet, mirror and finished pods.
        expect((await podsOn(api, W2.name)).map((p) => p.metadata.name).sort()).toEqual(["kube-proxy-w2", "report-1", `static-${W2.name}`]);
        // The other worker: not cordoned, its replica untouched.
        expect((await node(W1.name))?.spec?.unschedulable).toBeUndefined();
        expect((await podsOn(api, W1.name)).map((p) => [p.metadata.name, p.metadata.deletionTimestamp])).toEqual([["web-7d4b9-a", undefined]]);

        // The Node is gone: a second run (a retried delete) has nothing to do.
        const again = await removeWorker(W2, ["--timeout", "20s"]);
        expect(again.code).toBe(ExitCode.OK);
        expect(again.out.join("\n")).toContain(`no Node has address ${W2.ip} or name ${W2.name}: it is gone already`);
    }, 90_000);

    it("a budget that never allows: fails at the bound naming the pod and the budget; the Node stays, cordoned", async () => {
        await runPod(api, { name: "api-6c8d-a", node: W3.name, owner: "ReplicaSet/api-6c8d", labels: { app: "api" } });
        await createPdb(api, "default", "api", { app: "api" }, 1);
        await setPdbStatus(api, "default", "api", { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 });

        const run = await removeWorker(W3, ["--timeout", "3s"]);
        expect(run.code).toBe(ExitCode.TIMEOUT);
        const err = run.err.join("\n");
        expect(err).toContain("default/api-6c8d-a: The disruption budget api needs 1 healthy pods and has 1 currently");
        expect(err).toContain("PodDisruptionBudgets api (kubectl -n default get poddisruptionbudgets)");
        expect(err).toContain(`Node ${W3.name} stays cordoned`);
        expect((await node(W3.name))?.spec?.unschedulable).toBe(true);
        expect((await podsOn(api, W3.name)).map((p) => [p.metadata.name, p.metadata.deletionTimestamp])).toEqual([["api-6c8d-a", undefined]]);
    }, 60_000);

    it("a worker whose container is stopped: not drained, even past a budget that never allows; its Node deleted", async () => {
        await registerNode(api, W4.name, W4.ip);
        await runPod(api, { name: "db-5d6e-a", node: W4.name, owner: "ReplicaSet/db-5d6e", labels: { app: "db" } });
        await createPdb(api, "default", "db", { app: "db" }, 1);
        await setPdbStatus(api, "default", "db", { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 });
        docker.containers = docker.containers.map((c) => (c.name === W4.name ? stopped(c) : c));

        const evictions: number[] = [];
        const run = await removeWorker(W4, ["--timeout", "20s"], async (status) => {
            evictions.push(status);
        });
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out.join("\n")).toContain(`deleted Node ${W4.name}`);
        expect(evictions).toEqual([]);
        expect(await node(W4.name)).toBeUndefined();
        // Not evicted: its pod stays bound to the deleted Node, for the pod garbage collector.
        expect((await podsOn(api, W4.name)).map((p) => [p.metadata.name, p.metadata.deletionTimestamp])).toEqual([["db-5d6e-a", undefined]]);
    }, 60_000);
});
