// npm run bench: each benchmark prints its figures and the ratios that matter.
import { benchProgramEvaluation } from "./program";
import { benchReadiness } from "./readiness";
import { benchStatus } from "./status";

async function main(): Promise<void> {
    const failures: string[] = [];
    for (const bench of [benchProgramEvaluation, benchReadiness, benchStatus]) {
        failures.push(...(await bench()));
    }
    if (failures.length > 0) {
        console.log(`\nbudget exceeded:\n${failures.map((f) => `  - ${f}`).join("\n")}`);
        process.exitCode = 1;
    }
}

void main();
