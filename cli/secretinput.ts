// Client configs hold private keys, so they come in through an environment variable (Pulumi
// passes it as a secret to the command resource) or a file the user names, never as a flag
// value: command lines are visible to every process on the machine and land in logs.

import type { CliContext } from "./context";
import { CliError, ExitCode } from "./exitcodes";

export interface SecretSource {
    /** e.g. "talosconfig" */
    what: string;
    /** the variable holding the YAML text itself */
    envVar: string;
    /** the flag that names a file instead */
    flag: string;
}

/** The YAML text: the file named by the flag if given, else the variable. */
export function readSecretInput(ctx: CliContext, command: string, source: SecretSource, file: string | undefined): string {
    if (file !== undefined) {
        try {
            return ctx.readFile(file);
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
            throw new CliError(ExitCode.USAGE, `${command}: cannot read the ${source.what} file ${file} (${code})`);
        }
    }
    const text = ctx.env[source.envVar];
    if (text === undefined || text.trim() === "") {
        throw new CliError(
            ExitCode.USAGE,
            `${command}: no ${source.what}: set ${source.envVar} to its YAML text or pass --${source.flag} FILE`,
        );
    }
    return text;
}
