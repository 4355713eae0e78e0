// Program evaluation under mocks for 3, 20 and 50 nodes: rendering must not be the cost, so the
// 50/3 time ratio should stay near the node ratio (16.7) or below, and 50 nodes well under 5 s.
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const SIZES = [3, 20, 50];
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BUDGET_50_MS = 5000;

interface Sample { nodes: number; resources: number; ms: number }

function measure(nodes: number): Sample {
    const out = execFileSync(process.execPath, ["--import", "tsx", join(__dirname, "program-eval.ts"), String(nodes)], { encoding: "utf8" });
    return JSON.parse(out.trim().split("\n").pop()!) as Sample;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchProgramEvaluation(): Promise<string[]> {
    console.log(`program evaluation under mocks (median of ${RUNS} fresh processes)`);
    const results = new Map<number, { ms: number; resources: number }>();
    for (const nodes of SIZES) {
        const samples = Array.from({ length: RUNS }, () => measure(nodes));
        const ms = median(samples.map((s) => s.ms));
        results.set(nodes, { ms, resources: samples[0].resources });
        console.log(`  ${String(nodes).padStart(3)} nodes  ${String(samples[0].resources).padStart(4)} resources  ${ms.toFixed(0).padStart(6)} ms  (${(ms / nodes).toFixed(1)} ms/node)`);
    }
    const small = results.get(3)!;
    const large = results.get(50)!;
    const ratio = large.ms / small.ms;
    console.log(`  ratio 50/3 nodes: time ${ratio.toFixed(2)}x, nodes ${(50 / 3).toFixed(2)}x, resources ${(large.resources / small.resources).toFixed(2)}x`);
    const failures: string[] = [];
    if (large.ms > BUDGET_50_MS) failures.push(`50-node evaluation took ${large.ms.toFixed(0)} ms (budget ${BUDGET_50_MS} ms)`);
    if (ratio > 50 / 3) failures.push(`50/3 time ratio ${ratio.toFixed(2)} exceeds the node ratio ${(50 / 3).toFixed(2)}`);
    return failures;
}
