// A Talos API client for a command, from the talosconfig it was given (the --talosconfig file, else
// the variable): one rule for every command that calls the Talos API, and the per-call bound
// they share.

import type { TalosApi } from "../talos/api";
import type { CliContext } from "./context";
import { CliError, ExitCode } from "./exitcodes";
import { TALOSCONFIG_ENV } from "./invocation";
import { readSecretInput } from "./secretinput";

/** How long one Talos API call may take unless --call-timeout says otherwise. */
export const TALOS_CALL_TIMEOUT = "10s";

/** The help lines of the flags `openTalosApi` reads. */
export const TALOSCONFIG_FLAGS_HELP = [
    `  --talosconfig FILE     read the talosconfig from FILE (default: the ${TALOSCONFIG_ENV} variable)`,
    "  --context NAME         the talosconfig context (default: its current context)",
].join("\n");

/**
 * A client for the first endpoint of the talosconfig's context; a talosconfig that is missing or
 * cannot be used is a usage error (exit 2) naming what is wrong, never quoting the file.
 */
export async function openTalosApi(
    ctx: CliContext,
    command: string,
    file: string | undefined,
    contextName: string | undefined,
): Promise<TalosApi> {
    const text = readSecretInput(ctx, command, { what: "talosconfig", envVar: TALOSCONFIG_ENV, flag: "talosconfig" }, file);
    // Loaded here, not at the top: grpc-js and protobufjs are only needed by the commands that call Talos.
    const { parseTalosconfig, TalosApiError, TalosClient, TalosconfigError } = await import("../talos/api");
    try {
        const talosContext = parseTalosconfig(text, contextName);
        return (ctx.clients?.talos ?? ((c) => TalosClient.fromContext(c)))(talosContext);
    } catch (err) {
        if (err instanceof TalosconfigError || err instanceof TalosApiError) {
            throw new CliError(ExitCode.USAGE, err.message);
        }
        throw err;
    }
}
