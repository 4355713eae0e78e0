#!/usr/bin/env -S node --import tsx
// The operator CLI: `npm run <command> -- [flags]` or `tsx cli/main.ts <command> [flags]`.
// `main` takes its context as an argument, so tests run the whole CLI in-process against fakes.

import type { CliContext } from "./context";
import { processContext } from "./context";
import { COMMANDS } from "./commands";
import { CliError, ExitCode } from "./exitcodes";
import { silenceIpServernameWarning } from "./warnings";

const USAGE = `Usage: talos-docker <command> [flags]   (npm run <command> -- [flags])

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join("\n")}

Run \`<command> --help\` for its flags, environment and exit codes.`;

/** Run the CLI with argv after the program name; resolves with the exit code. */
export async function main(argv: string[], ctx: CliContext): Promise<ExitCode> {
    const [name, ...args] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
        (name === undefined ? ctx.err : ctx.out)(USAGE);
        return name === undefined ? ExitCode.USAGE : ExitCode.OK;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
        ctx.err(`unknown command "${name}"\n\n${USAGE}`);
        return ExitCode.USAGE;
    }
    try {
        await command.run(args, ctx);
        return ExitCode.OK;
    } catch (err) {
        if (err instanceof CliError) {
            ctx.err(`[${name}] error: ${err.message}`);
            return err.code;
        }
        // Not ours: say what, without a stack full of internals (and never an object dump that could hold a key).
        ctx.err(`[${name}] unexpected error: ${err instanceof Error ? err.message : String(err)}`);
        return ExitCode.FAILED;
    }
}

if (require.main === module) {
    silenceIpServernameWarning();
    main(process.argv.slice(2), processContext()).then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            process.stderr.write(`unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exitCode = ExitCode.FAILED;
        },
    );
}
