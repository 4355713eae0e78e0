// A subcommand of the CLI: its name, its help, and what it runs. Commands are listed in
// cli/commands.ts; adding one is a file and a line there.

import type { CliContext } from "./context";

export interface Command {
    name: string;
    /** one line for the command list */
    summary: string;
    /** the full help: usage, flags, environment, exit codes */
    help: string;
    /** Resolves when done (exit 0); throws CliError for any other exit code. */
    run(args: string[], ctx: CliContext): Promise<void>;
}

/** The exit codes as every command's help lists them (cli/exitcodes.ts). */
export const EXIT_CODES_HELP = `Exit codes:
  0  done
  1  unexpected failure
  2  bad usage or input (flags, talosconfig/kubeconfig)
  3  refused for good: TLS verification, authentication or authorization failed
  4  timed out: the message lists what is not ready and which logs to read`;

/** For the commands that judge: status and doctor. */
export const UNHEALTHY_HELP = "  5  unhealthy: a problem was found; each comes with its next step";
