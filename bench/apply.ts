// Applying a config change to N nodes: the CLI's apply flow (cli/apply/flow.ts `runApply`: Version,
// the COSI read, ApplyConfiguration in mode auto, the read-back) for each node through the first
// control plane's apid, all nodes at once, one client each as the per-node `apply` processes
// have, against the fake apid of tests/support with every answer 200 ms late (a node that takes
// its time). A change every minor applies in place (a node label).
//
// Checked: 20 nodes take under 3x one node's time (a ratio of two runs on the same machine, so
// load cancels out), and every node ends running the new config. Reported: both times and the ratio.

import { performance } from "node:perf_hooks";

import { runApply } from "../cli/apply/flow";
import { systemClock } from "../cli/context";
import { silenceIpServernameWarning } from "../cli/warnings";
import { TalosClient } from "../talos/api";
import { makeTestPki } from "../tests/cli/support/harness";
import { FakeTalos, type FakeNode } from "../tests/support/fake-talos";
import { runAlone } from "./alone";

const NODES = 20;
const ANSWER_MS = 200;
const MAX_RATIO = 3;
const RUNS = 3;
const TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 10_000;

/** A config whose change (a node label) every minor applies without a reboot. */
const config = (label: string) =>
    "version: v1alpha1\nmachine:\n    type: worker\n    token: bench.token\n" +
    `    nodeLabels:\n        run: "${label}"\ncluster:\n    clusterName: bench\n`;

const ips = (n: number) => Array.from({ length: n }, (_, i) => `172.30.0.${i + 2}`);

const quiet = () => {};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchApply(): Promise<string[]> {
    silenceIpServernameWarning();
    const pki = await makeTestPki();
    const nodes: Record<string, FakeNode> = Object.fromEntries(ips(NODES).map((ip) => [ip, { config: config("0") }]));
    const apid = await FakeTalos.start({ osCa: pki.bundle.certs.os, nodes, delayMs: ANSWER_MS });
    const { crt, key } = pki.talosAdmin;
    const target = { endpoint: apid.endpoint, ca: pki.bundle.certs.os.crt, crt, key };
    const clients = ips(NODES).map(() => new TalosClient(target));
    const failures: string[] = [];
    let run = 0;
    const timed = async (targets: string[]): Promise<number> => {
        const desired = config(String(++run));
        const start = performance.now();
        await Promise.all(targets.map((ip, i) => {
            const container = `bench-worker-${i + 1}`;
            const opts = { node: ip, container, desired, timeoutMs: TIMEOUT_MS, callTimeoutMs: CALL_TIMEOUT_MS };
            return runApply(clients[i], opts, quiet, systemClock);
        }));
        const ms = performance.now() - start;
        const behind = targets.filter((ip) => nodes[ip].config !== desired);
        if (behind.length > 0) failures.push(`${behind.length} nodes do not run the config they were sent`);
        return ms;
    };
    try {
        await timed(ips(NODES)); // warm: modules, every client's TLS session
        const one: number[] = [];
        const all: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            one.push(await timed(ips(1)));
            all.push(await timed(ips(NODES)));
        }
        const ratio = median(all) / median(one);
        console.log(
            `apply flow (Version, read, apply, read back), every answer ${ANSWER_MS} ms (median of ${RUNS}): ` +
                `1 node ${median(one).toFixed(0)} ms, ${NODES} nodes ${median(all).toFixed(0)} ms, ` +
                `ratio ${ratio.toFixed(2)} (at most ${MAX_RATIO})`,
        );
        if (ratio >= MAX_RATIO) {
            failures.push(`apply to ${NODES} nodes took ${ratio.toFixed(2)}x one node's time (under ${MAX_RATIO}x)`);
        }
        return failures;
    } finally {
        for (const client of clients) client.close();
        await apid.close();
    }
}

if (require.main === module) runAlone(benchApply);
