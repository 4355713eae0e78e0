// `bootstrap`: bootstrap etcd on the first control plane, once, and safely again.

import { DEFAULTS } from "../../model/config";
import type { TalosApi } from "../../talos/api";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { CliError, ExitCode } from "../exitcodes";
import { durationFlag, listFlag, parseFlags } from "../flags";
import { parseNodeRefs, TALOSCONFIG_ENV } from "../invocation";
import { readSecretInput } from "../secretinput";
import { runBootstrap } from "./flow";

const NAME = "bootstrap";

/** How long one Talos API call may take unless --call-timeout says otherwise. */
const CALL_TIMEOUT = "10s";

export const bootstrapCommand: Command = {
    name: NAME,
    summary: "bootstrap etcd on the first control plane (waits for apid; already bootstrapped is success)",
    usage: `Usage: bootstrap [flags]

Waits until apid on the talosconfig's first endpoint answers Version, then calls Bootstrap once.
Retries with backoff while the node is not up or not ready; "already bootstrapped" is success.

Flags:
  --talosconfig FILE     read the talosconfig from FILE (default: the ${TALOSCONFIG_ENV} variable)
  --context NAME         the talosconfig context (default: its current context)
  --timeout DURATION     give up after this long (default ${DEFAULTS.timeouts.bootstrap})
  --call-timeout DURATION  one API call at most (default ${CALL_TIMEOUT})
  --containers A[=IP],…  the node containers, first control plane first, for the advice on timeout

Environment:
  ${TALOSCONFIG_ENV}  the talosconfig YAML itself (keeps keys off the command line)`,
        exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.FATAL, ExitCode.TIMEOUT],

    async run(args, ctx) {
        const flags = parseFlags(NAME, args, {
            talosconfig: { type: "string" },
            context: { type: "string" },
            timeout: { type: "string" },
            "call-timeout": { type: "string" },
            containers: { type: "string" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        // The stack config's default: by hand, it waits as long as `pulumi up` does by default.
        const timeoutMs = durationFlag(NAME, "timeout", flags.timeout as string | undefined,
            DEFAULTS.timeouts.bootstrap);
        const callTimeoutMs = durationFlag(NAME, "call-timeout", flags["call-timeout"] as string | undefined,
            CALL_TIMEOUT);
        const text = readSecretInput(ctx, NAME, { what: "talosconfig", envVar: TALOSCONFIG_ENV, flag: "talosconfig" }, flags.talosconfig as string | undefined);
        // Loaded here, not at the top: grpc-js and protobufjs are only needed by this command.
        const { parseTalosconfig, TalosApiError, TalosClient, TalosconfigError } = await import("../../talos/api");
        let api: TalosApi;
        try {
            const talosContext = parseTalosconfig(text, flags.context as string | undefined);
            api = (ctx.clients?.talos ?? ((c) => TalosClient.fromContext(c)))(talosContext);
        } catch (err) {
            if (err instanceof TalosconfigError || err instanceof TalosApiError) throw new CliError(ExitCode.USAGE, err.message);
            throw err;
        }
        try {
            await runBootstrap(api, { timeoutMs, callTimeoutMs, containers: parseNodeRefs(listFlag(flags.containers as string | undefined)) }, ctx.out, ctx.clock);
        } finally {
            api.close();
        }
    },
};
