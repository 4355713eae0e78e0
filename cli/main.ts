// The operator CLI: `npm run <command> -- [flags]`, `node --import tsx cli/main.ts <command> [flags]`
// (as the Pulumi command resources run it: cli/invocation.ts), or the `talos-docker` bin (cli/talos-docker.cjs).
// `main` takes its context as an argument, so tests run the whole CLI in-process against fakes.

import type { CliContext } from "./context";
import { processContext } from "./context";
import { commandHelp, exitCodesHelp } from "./command";
import { COMMANDS } from "./commands";
import { CliError, ExitCode } from "./exitcodes";
import { didYouMean } from "./suggest";
import { silenceIpServernameWarning } from "./warnings";

/** What main itself answers, before any command runs: the help, the version, unknown commands. */
export const MAIN_EXIT_CODES: readonly ExitCode[] = [ExitCode.OK, ExitCode.USAGE];

const USAGE = `Usage: talos-docker <command> [flags]   (npm run <command> -- [flags])

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join("\n")}

Run \`<command> --help\` or \`help <command>\` for its flags, environment and exit codes, and
\`--version\` for the versions.

${exitCodesHelp(MAIN_EXIT_CODES, "Exit codes of help and --version (each command's help lists its own):")}`;

const HELP_WORDS = ["help", "--help", "-h"];

/** Run the CLI with argv after the program name; resolves with the exit code. */
export async function main(argv: string[], ctx: CliContext): Promise<ExitCode> {
    const [first, ...args] = argv;
    if (first === undefined) {
        ctx.err(USAGE);
        return ExitCode.USAGE;
    }
    if (HELP_WORDS.includes(first)) return help(args[0], ctx);
    const name = first === "--version" ? "version" : first;
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
        ctx.err(unknownCommand(name));
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

/** `help`: the general help; `help <command>`: that command's. */
function help(topic: string | undefined, ctx: CliContext): ExitCode {
    if (topic === undefined || HELP_WORDS.includes(topic)) {
        ctx.out(USAGE);
        return ExitCode.OK;
    }
    const name = topic === "--version" ? "version" : topic;
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
        ctx.err(unknownCommand(name));
        return ExitCode.USAGE;
    }
    ctx.out(commandHelp(command));
    return ExitCode.OK;
}

function unknownCommand(name: string): string {
    const words = [...COMMANDS.map((c) => c.name), "help"];
    return `unknown command "${name}"${didYouMean(name, words)}\n\n${USAGE}`;
}

/**
 * The CLI as a process: run it, then exit with its code once stdout and stderr are flushed. Every
 * command closes its clients, so the process would end by itself; the explicit exit makes sure a
 * handle left open (by us or a library) can never keep it running after it has said it is done,
 * which `pulumi up` would wait for (bootstrap and wait run as its commands).
 */
export async function runAsProcess(argv: string[]): Promise<never> {
    silenceIpServernameWarning();
    let code: ExitCode;
    try {
        code = await main(argv, processContext());
    } catch (err) {
        process.stderr.write(`unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
        code = ExitCode.FAILED;
    }
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
}

/**
 * Resolves once everything written to `stream` so far has been handed to the OS. Writes to a pipe
 * are asynchronous in Node: exiting before they complete cuts the output short at the pipe's
 * buffer (64 KiB on Linux), as a large `status --json` read by a slow reader would be. Writes
 * complete in order, so an empty write's callback runs after all the earlier ones. A reader that
 * went away (EPIPE) ends the wait too.
 */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
    return new Promise((resolve) => {
        if (stream.destroyed || stream.writableLength === 0) {
            resolve();
            return;
        }
        stream.once("error", () => resolve());
        stream.write("", () => resolve());
    });
}

if (require.main === module) {
    void runAsProcess(process.argv.slice(2));
}
