// `status` wall time for a 3-node and a 20-node cluster, healthy and with every API dead, run
// in parallel (the command's way) and one probe at a time (--sequential, the baseline).
//
// The Talos and Kubernetes APIs are the fake servers of tests/support (gRPC with mutual TLS,
// HTTPS with client certificates); "dead" is a port that accepts connections and never answers,
// the worst case for a probe (refused connections fail at once). Docker is in memory with the
// engine's pace: 5 ms a call, 500 ms for a stats sample (a real engine's collector takes 1–2 s;
// shorter here keeps the sequential baseline short, and only narrows the gap).
//
// Checked: the exit codes, and for 20 nodes the speed-up of parallel over sequential (a ratio of
// two runs on the same machine, so load cancels out). Reported: the times, and with every API
// dead the parallel time in probe timeouts, beside the reference of one timeout + 1 s.

import { createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";

import { main } from "../cli/main";
import { systemClock, type CliContext } from "../cli/context";
import { silenceIpServernameWarning } from "../cli/warnings";
import { renderTalosconfig } from "../talos/clientconfig";
import { kubeconfigFor, makeTestPki, type TestPki } from "../tests/cli/support/harness";
import { FakeDocker, fakeNode } from "../tests/support/fake-docker";
import { FakeKube, type FakeNodeSpec } from "../tests/support/fake-kube";
import { FakeTalos } from "../tests/support/fake-talos";
import { runAlone } from "./alone";

const PROBE_TIMEOUT_MS = 1000;
const MIN_SPEEDUP = 3;
/** A reference printed beside the dead-API time, not a check. */
const REFERENCE_DEAD_MS = PROBE_TIMEOUT_MS + 1000;
const PARALLEL_RUNS = 3;

interface Cluster {
    nodes: FakeNodeSpec[];
    docker: FakeDocker;
    files: Record<string, string>;
    close(): Promise<void>;
}

/** Accepts TCP connections and never says a word: an API that hangs. */
async function blackhole(): Promise<{ port: number; close(): Promise<void> }> {
    const sockets = new Set<Socket>();
    const server: Server = createServer((s) => {
        sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => sockets.delete(s));
    });
    const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
    return {
        port,
        close: () => {
            for (const s of sockets) s.destroy();
            return new Promise((resolve) => server.close(() => resolve()));
        },
    };
}

async function cluster(pki: TestPki, size: number, dead: boolean): Promise<Cluster> {
    const nodes: (FakeNodeSpec & { role: "controlplane" | "worker" })[] = Array.from({ length: size }, (_, i) => ({
        name: i === 0 ? "bench-cp-01" : `bench-worker-${String(i).padStart(2, "0")}`,
        ip: `172.30.0.${i + 2}`,
        role: i === 0 ? "controlplane" : "worker",
    }));
    const closers: (() => Promise<void>)[] = [];
    let talosEndpoint: string;
    let kubeUrl: string;
    if (dead) {
        const [t, k] = await Promise.all([blackhole(), blackhole()]);
        closers.push(t.close, k.close);
        talosEndpoint = `127.0.0.1:${t.port}`;
        kubeUrl = `https://127.0.0.1:${k.port}`;
    } else {
        const talos = await FakeTalos.start({ osCa: pki.bundle.certs.os, nodes: Object.fromEntries(nodes.map((n) => [n.ip, {}])) });
        const kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s });
        kube.setHealthy(nodes);
        closers.push(() => talos.close(), () => kube.close());
        talosEndpoint = talos.endpoint;
        kubeUrl = kube.url;
    }
    const [apiPort, apidPort] = [Number(kubeUrl.split(":").pop()), Number(talosEndpoint.split(":").pop())];
    const docker = new FakeDocker();
    docker.latencyMs = 5;
    docker.statsLatencyMs = 500;
    docker.networks = [{ id: "n", name: "bench-net", driver: "bridge", subnets: ["172.30.0.0/24"], gateways: ["172.30.0.1"], mtu: 1500, labels: { "talos.cluster.name": "bench" } }];
    docker.containers = nodes.map((n, i) => fakeNode({
        ...n, cluster: "bench", network: "bench-net",
        ports: i === 0 ? [{ containerPort: 6443, hostPort: apiPort }, { containerPort: 50000, hostPort: apidPort }] : [],
    }));
    return {
        nodes,
        docker,
        files: {
            "/talosconfig": renderTalosconfig({ contextName: "bench", endpoints: [talosEndpoint], ca: pki.bundle.certs.os.crt, crt: pki.talosAdmin.crt, key: pki.talosAdmin.key }),
            "/kubeconfig": kubeconfigFor(pki, kubeUrl),
        },
        close: async () => {
            await Promise.all(closers.map((c) => c()));
        },
    };
}

/** One `status` run in-process; ms and exit code. */
async function statusRun(c: Cluster, sequential: boolean): Promise<{ ms: number; code: number }> {
    const ctx: CliContext = {
        env: { PATH: "/nonexistent" },
        out: () => {},
        err: () => {},
        readFile: (p) => c.files[p],
        clock: systemClock,
        clients: { docker: () => c.docker },
    };
    const args = ["status", "--cluster", "bench", "--talosconfig", "/talosconfig", "--kubeconfig", "/kubeconfig", "--timeout", `${PROBE_TIMEOUT_MS}ms`, "--json"];
    const start = performance.now();
    const code = await main(sequential ? [...args, "--sequential"] : args, ctx);
    return { ms: performance.now() - start, code };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchStatus(): Promise<string[]> {
    silenceIpServernameWarning();
    const failures: string[] = [];
    const pki = await makeTestPki();
    console.log(`status wall time, parallel (median of ${PARALLEL_RUNS}) vs one probe at a time; probe timeout ${PROBE_TIMEOUT_MS} ms, Docker stats 500 ms a sample`);
    for (const dead of [false, true]) {
        for (const size of [3, 20]) {
            const c = await cluster(pki, size, dead);
            try {
                await statusRun(c, false); // warm: modules, TLS contexts
                const parallel: number[] = [];
                let code = 0;
                for (let i = 0; i < PARALLEL_RUNS; i++) {
                    const r = await statusRun(c, false);
                    parallel.push(r.ms);
                    code = r.code;
                }
                const seq = await statusRun(c, true);
                const p = median(parallel);
                const what = `${String(size).padStart(2)} nodes, ${dead ? "APIs dead" : "healthy  "}`;
                console.log(`  ${what}  parallel ${p.toFixed(0).padStart(5)} ms  sequential ${seq.ms.toFixed(0).padStart(6)} ms  speed-up ${(seq.ms / p).toFixed(1).padStart(4)}x  (exit ${code})`);
                if (dead && code !== 5) failures.push(`${what}: exit ${code}, expected 5 (unhealthy)`);
                if (!dead && code !== 0) failures.push(`${what}: exit ${code}, expected 0 (healthy)`);
                if (size === 20 && seq.ms / p < MIN_SPEEDUP) failures.push(`${what}: parallel only ${(seq.ms / p).toFixed(1)}x faster than sequential (at least ${MIN_SPEEDUP}x)`);
                if (dead) {
                    const slowest = Math.max(...parallel);
                    console.log(`  ${"".padEnd(what.length)}  slowest parallel run ${slowest.toFixed(0)} ms = ${(slowest / PROBE_TIMEOUT_MS).toFixed(2)} probe timeouts`
                        + ` (reference ≤ ${REFERENCE_DEAD_MS} ms, one timeout + 1 s; reported, not checked)`);
                }
            } finally {
                await c.close();
            }
        }
    }
    return failures;
}

if (require.main === module) runAlone(benchStatus);
