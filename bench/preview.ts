// `pulumi preview` of an unchanged stack: it must plan no step but `same`, in under 5 s even when
// the cluster is down. It needs what this build machine lacks (a Pulumi CLI with its providers, a
// Docker Engine and a deployed stack), so it runs only where TALOS_DOCKER_BENCH_STACK names such a
// stack, and otherwise says why it did not run. Checked: `--expect-no-changes` holds on every run
// (a count: any planned step fails it). Reported: the median of three previews beside 5 s.

import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";

import { runAlone } from "./alone";

const RUNS = 3;
const REFERENCE_MS = 5000;

export async function benchPreview(): Promise<string[]> {
    const stack = process.env.TALOS_DOCKER_BENCH_STACK;
    const pulumi = spawnSync("pulumi", ["version"], { encoding: "utf8" });
    if (pulumi.error !== undefined || pulumi.status !== 0) {
        console.log("preview of an unchanged stack: not run (no Pulumi CLI on PATH)");
        return [];
    }
    if (stack === undefined) {
        console.log("preview of an unchanged stack: not run (set TALOS_DOCKER_BENCH_STACK to a deployed stack)");
        return [];
    }
    const failures: string[] = [];
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
        const started = performance.now();
        const result = spawnSync("pulumi", ["preview", "--stack", stack, "--expect-no-changes", "--non-interactive"], {
            encoding: "utf8",
            timeout: 120_000,
        });
        times.push(performance.now() - started);
        if (result.status !== 0) failures.push(`preview ${run + 1} of stack ${stack} planned changes or failed (exit ${result.status})`);
    }
    const median = [...times].sort((a, b) => a - b)[Math.floor(RUNS / 2)];
    console.log(`preview of unchanged stack ${stack}: median ${median.toFixed(0)} ms of ${RUNS} (reference < ${REFERENCE_MS} ms)`);
    return failures;
}

if (require.main === module) runAlone(benchPreview);
