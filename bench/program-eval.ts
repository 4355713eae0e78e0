// One measurement in a fresh process (Pulumi's runtime is per process): evaluate index.ts under
// mocks for a cluster of N nodes and print {nodes, resources, ms} as JSON.
import { loadProgram } from "../tests/program/harness";

async function main(): Promise<void> {
    const nodes = Number(process.argv[2]);
    const controlPlanes = Math.min(3, nodes);
    const program = await loadProgram({
        controlPlanes: { count: controlPlanes },
        workers: { count: nodes - controlPlanes },
    });
    if (program.error) throw program.error;
    process.stdout.write(`${JSON.stringify({ nodes, resources: program.resources.length, ms: program.evaluationMs })}\n`);
}

main().then(() => process.exit(0), (err) => {
    console.error(err);
    process.exit(1);
});
