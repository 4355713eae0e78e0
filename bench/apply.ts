// Applying a config change to N nodes: each node's ApplyConfiguration and read-back of its config
// through the first control plane's apid (one TalosClient, `nodes`/`node` metadata per node), all
// nodes at once, against the fake apid of tests/support with every answer 200 ms late (a node
// that takes its time). The per-node step is what the apply flow does for a node: apply in auto
// mode, then read the config back and compare.
//
// Checked: 20 nodes take under 3x one node's time (a ratio of two runs on the same machine, so
// load cancels out). Reported: both times and the ratio.

import { performance } from "node:perf_hooks";

import { silenceIpServernameWarning } from "../cli/warnings";
import { TalosClient } from "../talos/api";
import { makeTestPki } from "../tests/cli/support/harness";
import { FakeTalos, type FakeNode } from "../tests/support/fake-talos";
import { runAlone } from "./alone";

const NODES = 20;
const ANSWER_MS = 200;
const MAX_RATIO = 3;
const RUNS = 3;
const CALL_TIMEOUT_MS = 10_000;

/** A config whose change (a node label) every minor applies without a reboot. */
const config = (label: string) =>
    `version: v1alpha1\nmachine:\n    type: worker\n    token: bench.token\n    nodeLabels:\n        run: "${label}"\ncluster:\n    clusterName: bench\n`;

const ips = (n: number) => Array.from({ length: n }, (_, i) => `172.30.0.${i + 2}`);

/** Apply `next` to one node, then read it back; throws when the node does not report it. */
async function applyToNode(client: TalosClient, ip: string, next: string): Promise<void> {
    const result = await client.applyConfiguration(CALL_TIMEOUT_MS, ip, { data: next, mode: "auto", dryRun: false });
    if (result.mode !== "no-reboot") throw new Error(`${ip}: chose ${result.mode}`);
    if ((await client.machineConfig(CALL_TIMEOUT_MS, ip)) !== next) throw new Error(`${ip}: does not report the new config`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchApply(): Promise<string[]> {
    silenceIpServernameWarning();
    const pki = await makeTestPki();
    const nodes: Record<string, FakeNode> = Object.fromEntries(ips(NODES).map((ip) => [ip, { config: config("0") }]));
    const apid = await FakeTalos.start({ osCa: pki.bundle.certs.os, nodes, delayMs: ANSWER_MS });
    const { crt, key } = pki.talosAdmin;
    const client = new TalosClient({ endpoint: apid.endpoint, ca: pki.bundle.certs.os.crt, crt, key });
    let run = 0;
    const timed = async (targets: string[]): Promise<number> => {
        const next = config(String(++run));
        const start = performance.now();
        await Promise.all(targets.map((ip) => applyToNode(client, ip, next)));
        return performance.now() - start;
    };
    try {
        await timed(ips(1)); // warm: modules, the TLS session
        const one: number[] = [];
        const all: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            one.push(await timed(ips(1)));
            all.push(await timed(ips(NODES)));
        }
        const ratio = median(all) / median(one);
        console.log(
            `apply + read-back, every answer ${ANSWER_MS} ms (median of ${RUNS}): 1 node ${median(one).toFixed(0)} ms, ` +
                `${NODES} nodes ${median(all).toFixed(0)} ms, ratio ${ratio.toFixed(2)} (at most ${MAX_RATIO})`,
        );
        return ratio < MAX_RATIO ? [] : [`apply to ${NODES} nodes took ${ratio.toFixed(2)}x one node's time (under ${MAX_RATIO}x)`];
    } finally {
        client.close();
        await apid.close();
    }
}

if (require.main === module) runAlone(benchApply);
