// A subcommand of the CLI: its name, its help, the exit codes it can return, and what it runs.
// Commands are listed in cli/commands.ts; adding one is a file and a line there.

import type { CliContext } from "./context";
import { EXIT_CODE_MEANINGS, type ExitCode } from "./exitcodes";

export interface Command {
    name: string;
    /** one line for the command list */
    summary: string;
    /** the help without the exit codes: usage, flags, environment (commandHelp adds the codes) */
    usage: string;
    /**
     * Every code `run` can end with, ascending. The help lists exactly these; the CLI tests
     * check that each is reached and that no run ends with another.
     */
    exitCodes: readonly ExitCode[];
    /** Resolves when done (exit 0); throws CliError for any other exit code. */
    run(args: string[], ctx: CliContext): Promise<void>;
}

/** The full help of a command: its usage, then the exit codes it returns and what each means. */
export function commandHelp(command: Pick<Command, "usage" | "exitCodes">): string {
    return `${command.usage}\n\n${exitCodesHelp(command.exitCodes)}`;
}

export function exitCodesHelp(codes: readonly ExitCode[], title = "Exit codes:"): string {
    return [title, ...[...codes].sort((a, b) => a - b).map((code) => `  ${code}  ${EXIT_CODE_MEANINGS[code]}`)].join("\n");
}
