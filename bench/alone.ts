// `tsx bench/<name>.ts`: one benchmark on its own, printing the checks that failed; exit 1 then.

export function runAlone(bench: () => Promise<string[]>): void {
    bench().then(
        (failures) => {
            for (const f of failures) console.log(`  - ${f}`);
            process.exitCode = failures.length > 0 ? 1 : 0;
        },
        (err: unknown) => {
            console.error(err);
            process.exitCode = 1;
        },
    );
}
