// Draining and deleting 10 removed workers: `remove-node`'s worker flow (cli/removenode/flow.ts
// `runRemoveNode`: find, cordon, list, evict, wait until gone, delete the Node) for 10 nodes at
// once, as the engine runs the 10 nodes' deletes side by side, against one after the other, on
// a real kube-apiserver (tests/support/kube-apiserver.ts) with kubectl's pace (1 s between checks
// that the evicted pods are gone). Each node runs 3 replicas and a DaemonSet pod; a kubelet
// stand-in confirms each terminating pod 500 ms after it is marked (a container taking its time
// to stop). One client per node, as the per-node processes have.
//
// Checked: the parallel drain takes under half the serial one's time (a ratio of two runs on
// the same machine, so load cancels out; one after the other it would be about 1), and every
// Node ends deleted with only its DaemonSet pod left. Reported: both times and the ratio.
// Without the API server (no etcd, no Go to build it) it says why and checks nothing.

import { performance } from "node:perf_hooks";

import { systemClock } from "../cli/context";
import { nodePath, type KubeApi } from "../cli/kube/api";
import { kubeClientFromKubeconfig } from "../cli/kube/client";
import { runRemoveNode } from "../cli/removenode/flow";
import { silenceIpServernameWarning } from "../cli/warnings";
import { kubeApiserverAvailability, startRealKube } from "../tests/support/kube-apiserver";
import { ensureDefaultServiceAccount, KubeletStandIn, podsOn, registerNode, runPod } from "../tests/support/kube-objects";
import { makeSecretsBundle } from "../tests/support/pki";
import { runAlone } from "./alone";

const NODES = 10;
const REPLICAS_PER_NODE = 3;
const KUBELET_STOP_MS = 500;
const MIN_RATIO = 2;
const TIMEOUT_MS = 120_000;
const CALL_TIMEOUT_MS = 10_000;

const quiet = () => {};

interface Worker {
    name: string;
    ip: string;
}

const workers = (batch: string, base: number): Worker[] =>
    Array.from({ length: NODES }, (_, i) => ({ name: `bench-${batch}-${String(i + 1).padStart(2, "0")}`, ip: `172.30.${base}.${i + 3}` }));

async function populate(api: KubeApi, nodes: Worker[]): Promise<void> {
    await Promise.all(nodes.map(async (n) => {
        await registerNode(api, n.name, n.ip);
        await runPod(api, { name: `ds-${n.name}`, namespace: "kube-system", node: n.name, owner: "DaemonSet/kube-proxy" });
        for (let r = 0; r < REPLICAS_PER_NODE; r++) {
            await runPod(api, { name: `app-${n.name}-${r}`, node: n.name, owner: `ReplicaSet/app-${r}`, labels: { app: `app-${r}` } });
        }
    }));
}

async function removeAll(kubeconfig: string, nodes: Worker[], parallel: boolean): Promise<number> {
    const clients = await Promise.all(nodes.map(() => kubeClientFromKubeconfig(kubeconfig)));
    const remove = (n: Worker, i: number) => runRemoveNode(
        { kube: clients[i] },
        { node: n.ip, container: n.name, role: "worker", timeoutMs: TIMEOUT_MS, callTimeoutMs: CALL_TIMEOUT_MS },
        quiet,
        systemClock,
    );
    const start = performance.now();
    try {
        if (parallel) {
            await Promise.all(nodes.map(remove));
        } else {
            for (const [i, n] of nodes.entries()) await remove(n, i);
        }
        return performance.now() - start;
    } finally {
        for (const c of clients) c.close();
    }
}

/** What is wrong with the drained nodes: a Node still there, or a pod other than the DaemonSet's. */
async function leftovers(api: KubeApi, nodes: Worker[]): Promise<string[]> {
    const problems: string[] = [];
    for (const n of nodes) {
        if ((await api.get(nodePath(n.name), CALL_TIMEOUT_MS)).status !== 404) problems.push(`Node ${n.name} is still there`);
        const left = (await podsOn(api, n.name)).map((p) => p.metadata.name).filter((name) => name !== `ds-${n.name}`);
        if (left.length > 0) problems.push(`${n.name} still has ${left.join(", ")}`);
    }
    return problems;
}

export async function benchDrain(): Promise<string[]> {
    const available = kubeApiserverAvailability();
    if ("why" in available) {
        console.log(`drain of ${NODES} workers: not run: ${available.why}`);
        return [];
    }
    silenceIpServernameWarning();
    const kube = await startRealKube(await makeSecretsBundle({ rsaBits: 2048 }));
    const api = await kubeClientFromKubeconfig(kube.kubeconfig);
    const kubelet = new KubeletStandIn(api, KUBELET_STOP_MS);
    const failures: string[] = [];
    try {
        await Promise.all(["default", "kube-system"].map((ns) => ensureDefaultServiceAccount(api, ns)));
        const serialNodes = workers("serial", 1);
        const parallelNodes = workers("parallel", 2);
        await populate(api, [...serialNodes, ...parallelNodes]);
        kubelet.start();
        const serial = await removeAll(kube.kubeconfig, serialNodes, false);
        const parallel = await removeAll(kube.kubeconfig, parallelNodes, true);
        failures.push(...(await leftovers(api, [...serialNodes, ...parallelNodes])));
        const ratio = serial / parallel;
        console.log(
            `drain and Node deletion of ${NODES} workers (${REPLICAS_PER_NODE} replicas each, pods stop in ${KUBELET_STOP_MS} ms), ` +
                `real kube-apiserver: one after the other ${(serial / 1000).toFixed(1)} s, in parallel ${(parallel / 1000).toFixed(1)} s, ` +
                `ratio ${ratio.toFixed(1)} (at least ${MIN_RATIO})`,
        );
        if (ratio < MIN_RATIO) {
            failures.push(`draining ${NODES} workers in parallel was only ${ratio.toFixed(1)}x faster than one after the other`);
        }
        return failures;
    } finally {
        kubelet.stop();
        api.close();
        await kube.stop();
    }
}

if (require.main === module) runAlone(benchDrain);
