// `bootstrap`: bootstrap etcd on the first control plane, once, and safely again.

import { DEFAULTS } from "../../model/config";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { ExitCode } from "../exitcodes";
import { durationFlag, listFlag, parseFlags } from "../flags";
import { parseNodeRefs, TALOSCONFIG_ENV } from "../invocation";
import { openTalosApi, TALOS_CALL_TIMEOUT, TALOSCONFIG_FLAGS_HELP } from "../talosapi";
import { runBootstrap } from "./flow";

const NAME = "bootstrap";

export const bootstrapCommand: Command = {
    name: NAME,
    summary: "bootstrap etcd on the first control plane (waits for apid; already bootstrapped is success)",
    usage: `Usage: bootstrap [flags]

Waits until apid on the talosconfig's first endpoint answers Version, then calls Bootstrap once.
Retries with backoff while the node is not up or not ready; "already bootstrapped" is success.

Flags:
${TALOSCONFIG_FLAGS_HELP}
  --timeout DURATION     give up after this long (default ${DEFAULTS.timeouts.bootstrap})
  --call-timeout DURATION  one API call at most (default ${TALOS_CALL_TIMEOUT})
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
            TALOS_CALL_TIMEOUT);
        const api = await openTalosApi(ctx, NAME, flags.talosconfig as string | undefined, flags.context as string | undefined);
        try {
            await runBootstrap(api, { timeoutMs, callTimeoutMs, containers: parseNodeRefs(listFlag(flags.containers as string | undefined)) }, ctx.out, ctx.clock);
        } finally {
            api.close();
        }
    },
};
