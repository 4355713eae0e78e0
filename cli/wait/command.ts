// `wait`: block until Kubernetes is usable (API ready, all nodes Ready, kube-system pods ready).

import { DEFAULTS } from "../../model/config";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { CliError, ExitCode } from "../exitcodes";
import { countFlag, durationFlag, listFlag, parseFlags } from "../flags";
import { KUBECONFIG_ENV, parseNodeRefs } from "../invocation";
import type { KubeApi } from "../kube/api";
import { readSecretInput } from "../secretinput";
import { runWait } from "./flow";

const NAME = "wait";

export const waitCommand: Command = {
    name: NAME,
    summary: "wait until Kubernetes is ready: /readyz, all nodes Ready, CoreDNS, kube-proxy and flannel running",
    usage: `Usage: wait --nodes N [flags]

Polls the Kubernetes API of the kubeconfig's current context (every 500 ms) until /readyz
answers, N nodes are Ready, and the kube-system pods of CoreDNS, kube-proxy and flannel are
Running and ready. On timeout, lists what is not ready and which logs to read.

Flags:
  --nodes N              the number of nodes the cluster has (required)
  --kubeconfig FILE      read the kubeconfig from FILE (default: the ${KUBECONFIG_ENV} variable)
  --timeout DURATION     give up after this long (default ${DEFAULTS.timeouts.ready})
  --containers A[=IP],…  the node containers (named after their nodes), for the advice on timeout

Environment:
  ${KUBECONFIG_ENV}  the kubeconfig YAML itself (keeps keys off the command line)`,
        exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.FATAL, ExitCode.TIMEOUT],

    async run(args, ctx) {
        const flags = parseFlags(NAME, args, {
            nodes: { type: "string" },
            kubeconfig: { type: "string" },
            timeout: { type: "string" },
            containers: { type: "string" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        const expectedNodes = countFlag(NAME, "nodes", flags.nodes as string | undefined);
        if (expectedNodes === undefined) throw new CliError(ExitCode.USAGE, `${NAME}: --nodes N is required (the number of nodes the cluster has)`);
        // The stack config's default: by hand, it waits as long as `pulumi up` does by default.
        const timeoutMs = durationFlag(NAME, "timeout", flags.timeout as string | undefined, DEFAULTS.timeouts.ready);
        const containers = parseNodeRefs(listFlag(flags.containers as string | undefined));
        const text = readSecretInput(ctx, NAME, { what: "kubeconfig", envVar: KUBECONFIG_ENV, flag: "kubeconfig" }, flags.kubeconfig as string | undefined);
        // Loaded here, not at the top: @kubernetes/client-node takes a while to load, and only
        // this command needs it.
        const { kubeClientFromKubeconfig, KubeconfigError } = await import("../kube/client");
        let api: KubeApi;
        try {
            api = await (ctx.clients?.kube ?? kubeClientFromKubeconfig)(text);
        } catch (err) {
            if (err instanceof KubeconfigError) throw new CliError(ExitCode.USAGE, err.message);
            throw err;
        }
        try {
            await runWait(api, { expectedNodes, timeoutMs, containers }, ctx.out, ctx.clock);
        } finally {
            api.close();
        }
    },
};
