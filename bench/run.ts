// npm run bench: each benchmark prints its figures and the ratios that matter. Times are reported
// (beside a reference where there is one); a bench fails only on a ratio or a count, which holds
// on a busy machine as well as on an idle one.
import { benchApply } from "./apply";
import { benchDrain } from "./drain";
import { benchPreview } from "./preview";
import { benchProgramEvaluation } from "./program";
import { benchReadiness } from "./readiness";
import { benchReadinessKube } from "./readiness-kube";
import { benchStatus } from "./status";

async function main(): Promise<void> {
    const failures: string[] = [];
    for (const bench of [benchProgramEvaluation, benchReadiness, benchReadinessKube, benchStatus, benchApply, benchDrain, benchPreview]) {
        failures.push(...(await bench()));
    }
    if (failures.length > 0) {
        console.log(`\nfailed:\n${failures.map((f) => `  - ${f}`).join("\n")}`);
        process.exitCode = 1;
    }
}

void main();
