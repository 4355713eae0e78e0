// Readiness: how soon `bootstrap` and `wait` notice that what they wait for is there (median and
// worst of 20, budget < 1 s), and what a wait costs the API server while nothing gets ready
// (requests in 60 s: a poll every 500 ms at most, no busy loop).
//
// Latency runs use the real clock against the fake servers of tests/support (gRPC with mutual
// TLS, HTTPS with client certificates), each made ready 1.0–1.5 s after the CLI starts, so the
// retry backoff has reached its cap as it would in a real wait. Five run side by side.
// The 60 s counts use a virtual clock whose sleeps take no time but whose requests do (real
// requests to the fake server, their real duration added to the clock): only waiting is
// skipped, so a loop that polled faster would show it.

import { performance } from "node:perf_hooks";

import { runBootstrap } from "../cli/bootstrap/flow";
import { systemClock } from "../cli/context";
import { silenceIpServernameWarning } from "../cli/warnings";
import type { KubeApi } from "../cli/kube/api";
import { kubeClientFromKubeconfig } from "../cli/kube/client";
import { runWait } from "../cli/wait/flow";
import { TalosClient } from "../talos/api";
import { FakeClock } from "../tests/cli/support/fakeclock";
import { kubeconfigFor, makeTestPki, type TestPki } from "../tests/cli/support/harness";
import { FakeKube, type FakeNodeSpec } from "../tests/support/fake-kube";
import { FakeTalos } from "../tests/support/fake-talos";
import { runAlone } from "./alone";

const RUNS = 20;
const PARALLEL = 5;
const BUDGET_NOTICE_MS = 1000;
const WINDOW_MS = 60_000;
const POLL_MS = 500;
/** /readyz, nodes and kube-system pods */
const REQUESTS_PER_POLL = 3;
const NODES: FakeNodeSpec[] = [
    { name: "talos-cp-1", ip: "172.30.0.2" },
    { name: "talos-worker-1", ip: "172.30.0.3" },
    { name: "talos-worker-2", ip: "172.30.0.4" },
];
const quiet = () => {};
const readyAfter = () => 1000 + Math.random() * 500;

/** ms from apid listening to `bootstrap` being done (one Version and one Bootstrap call included). */
async function bootstrapNotice(pki: TestPki): Promise<number> {
    const apid = await FakeTalos.start({ osCa: pki.bundle.certs.os, deferListen: true });
    const client = new TalosClient({ endpoint: apid.endpoint, ca: pki.bundle.certs.os.crt, crt: pki.talosAdmin.crt, key: pki.talosAdmin.key });
    const timer = setTimeout(() => void apid.listen(), readyAfter());
    try {
        await runBootstrap(client, { timeoutMs: 30_000, callTimeoutMs: 10_000, containers: [] }, quiet, systemClock);
        return performance.now() - apid.listeningSince!;
    } finally {
        clearTimeout(timer);
        client.close();
        await apid.close();
    }
}

/** ms from the fake cluster turning healthy to `wait` being done. */
async function waitNotice(pki: TestPki): Promise<number> {
    const kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s });
    const api = await kubeClientFromKubeconfig(kubeconfigFor(pki, kube.url));
    let readyAt = 0;
    const timer = setTimeout(() => {
        kube.setHealthy(NODES);
        readyAt = performance.now();
    }, readyAfter());
    try {
        await runWait(api, { expectedNodes: NODES.length, timeoutMs: 30_000, containers: [] }, quiet, systemClock);
        return performance.now() - readyAt;
    } finally {
        clearTimeout(timer);
        api.close();
        await kube.close();
    }
}

async function samples(measure: () => Promise<number>): Promise<number[]> {
    const out: number[] = [];
    while (out.length < RUNS) {
        out.push(...(await Promise.all(Array.from({ length: Math.min(PARALLEL, RUNS - out.length) }, measure))));
    }
    return out;
}

/** Requests a `wait` makes in 60 s (virtual) of a cluster in `state`; `listen` false = connections refused. */
async function requestsInWindow(pki: TestPki, state: (kube: FakeKube) => void, listen = true): Promise<{ requests: number; polls: number }> {
    const kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s, deferListen: !listen });
    state(kube);
    const real = await kubeClientFromKubeconfig(kubeconfigFor(pki, kube.url));
    let attempts = 0;
    let readyz = 0;
    // Count on the client side too: refused connections never reach the server.
    const counting: KubeApi = {
        server: real.server,
        get: (path, timeoutMs) => {
            attempts++;
            if (path === "/readyz") readyz++;
            return real.get(path, timeoutMs);
        },
        close: () => real.close(),
    };
    try {
        await runWait(counting, { expectedNodes: NODES.length, timeoutMs: WINDOW_MS, containers: [] }, quiet, new FakeClock({ realTime: true }));
        throw new Error("the cluster was never meant to get ready");
    } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith("timed out")) throw err;
    } finally {
        counting.close();
        await kube.close();
    }
    if (listen && kube.totalRequests !== attempts) throw new Error(`client counted ${attempts} requests, server ${kube.totalRequests}`);
    return { requests: attempts, polls: readyz };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchReadiness(): Promise<string[]> {
    silenceIpServernameWarning();
    const failures: string[] = [];
    const pki = await makeTestPki();
    console.log(`readiness against the fake Talos and Kubernetes APIs (${RUNS} runs, ${PARALLEL} at a time, ready 1.0–1.5 s after start)`);
    for (const [what, measure] of [
        ["bootstrap notices apid", () => bootstrapNotice(pki)],
        ["wait notices a ready cluster", () => waitNotice(pki)],
    ] as const) {
        const ms = await samples(measure);
        const worst = Math.max(...ms);
        console.log(`  ${what.padEnd(30)} median ${median(ms).toFixed(0).padStart(4)} ms  worst ${worst.toFixed(0).padStart(4)} ms  (budget < ${BUDGET_NOTICE_MS} ms)`);
        if (worst >= BUDGET_NOTICE_MS) failures.push(`${what}: worst ${worst.toFixed(0)} ms (budget < ${BUDGET_NOTICE_MS} ms)`);
    }

    console.log(`  requests of a ${WINDOW_MS / 1000} s wait that never gets ready (virtual clock: sleeps skipped, requests real):`);
    const maxPolls = WINDOW_MS / POLL_MS + 1;
    for (const [what, state, listen] of [
        ["connections refused", () => {}, false],
        ["/readyz failing", (k: FakeKube) => void (k.apiReady = false), true],
        ["one node NotReady", (k: FakeKube) => (k.setHealthy(NODES), k.setNodeNotReady("talos-worker-2")), true],
    ] as const) {
        const { requests, polls } = await requestsInWindow(pki, state, listen);
        console.log(`    ${what.padEnd(22)} ${String(requests).padStart(4)} requests in ${polls} polls (${(requests / (WINDOW_MS / 1000)).toFixed(1)}/s)`);
        if (polls > maxPolls) failures.push(`${what}: ${polls} polls in ${WINDOW_MS / 1000} s (at most ${maxPolls}: one per ${POLL_MS} ms)`);
        if (requests > polls * REQUESTS_PER_POLL) failures.push(`${what}: ${requests} requests in ${polls} polls (at most ${REQUESTS_PER_POLL} a poll)`);
    }
    return failures;
}

if (require.main === module) runAlone(benchReadiness);
