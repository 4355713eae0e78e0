// `apply`: make a running node run the machine config the stack declares (flow.ts says how).

import { DEFAULTS } from "../../model/config";
import { parseIPv4 } from "../../model/ipv4";
import { describeYamlProblem, parseYamlDocuments } from "../../talos/yaml";
import type { Command } from "../command";
import { commandHelp } from "../command";
import type { CliContext } from "../context";
import { CliError, ExitCode } from "../exitcodes";
import { durationFlag, parseFlags } from "../flags";
import { KUBECONFIG_ENV, MACHINE_CONFIG_ENV, TALOSCONFIG_ENV } from "../invocation";
import type { KubeApi } from "../kube/api";
import { readSecretInput } from "../secretinput";
import { openTalosApi, TALOS_CALL_TIMEOUT, TALOSCONFIG_FLAGS_HELP } from "../talosapi";
import { runApply } from "./flow";
import { READBACK_SETTLE_MS } from "./node";

const NAME = "apply";

export const applyCommand: Command = {
    name: NAME,
    summary: "make a running node run the machine config it is given (in place, or restarting it when Talos must)",
    usage: `Usage: apply --node IP --container NAME [flags]

Reaches the node through the talosconfig's first endpoint (as talosctl -n IP does), reads the
config it runs and, when it is not the one given, applies it in mode auto: Talos changes what it
can in place and restarts the node for the rest (its container ends and Docker starts it again by
its restart policy). A Kubernetes version change goes first, image by image in talosctl
upgrade-k8s' order (kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, kubelet),
each without a reboot; with a kubeconfig it waits for each to run. Then it reads the config back
until the node reports exactly what it was sent. Prints the paths that change, never a value.

Flags:
  --node IP              the node's address on the cluster network (required)
  --container NAME       the node's container, for the advice on failure (required)
${TALOSCONFIG_FLAGS_HELP}
  --machine-config FILE  read the config from FILE (default: the ${MACHINE_CONFIG_ENV} variable)
  --kubeconfig FILE      read the kubeconfig from FILE (default: the ${KUBECONFIG_ENV} variable, if set)
  --timeout DURATION     give up after this long (default ${DEFAULTS.timeouts.apply})
  --call-timeout DURATION  one API call at most (default ${TALOS_CALL_TIMEOUT})

Environment:
  ${TALOSCONFIG_ENV}      the talosconfig YAML itself (keeps keys off the command line)
  ${MACHINE_CONFIG_ENV}   the machine config YAML the node must run
  ${KUBECONFIG_ENV}       the kubeconfig YAML, optional: without it the Kubernetes steps are not waited for

A node that answers with another config than it was sent for ${READBACK_SETTLE_MS / 1000}s did not take it (exit 6).`,
    exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.FATAL, ExitCode.TIMEOUT, ExitCode.NOT_APPLIED],

    async run(args, ctx) {
        const flags = parseFlags(NAME, args, {
            node: { type: "string" },
            container: { type: "string" },
            talosconfig: { type: "string" },
            context: { type: "string" },
            "machine-config": { type: "string" },
            kubeconfig: { type: "string" },
            timeout: { type: "string" },
            "call-timeout": { type: "string" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        const problems: string[] = [];
        if (flags.node === undefined) {
            problems.push("--node IP is required (the node's address on the cluster network)");
        } else if (parseIPv4(flags.node) === undefined) {
            problems.push(`--node "${flags.node}" is not an IPv4 address like 172.30.0.3`);
        }
        if (flags.container === undefined || flags.container === "") {
            problems.push("--container NAME is required (the node's container)");
        }
        if (problems.length > 0) throw new CliError(ExitCode.USAGE, `${NAME}: ${problems.join("; ")}`);
        const node = flags.node ?? "";
        const container = flags.container ?? "";
        const timeoutMs = durationFlag(NAME, "timeout", flags.timeout, DEFAULTS.timeouts.apply);
        const callTimeoutMs = durationFlag(NAME, "call-timeout", flags["call-timeout"], TALOS_CALL_TIMEOUT);
        const desired = readDesiredConfig(ctx, flags["machine-config"]);
        const kube = kubeFactory(ctx, flags.kubeconfig);

        const api = await openTalosApi(ctx, NAME, flags.talosconfig, flags.context);
        try {
            await runApply(api, { node, container, desired, timeoutMs, callTimeoutMs, kube }, ctx.out, ctx.clock);
        } finally {
            api.close();
        }
    },
};

/** The config the node must run: YAML, or a usage error that says where it is not (never what). */
function readDesiredConfig(ctx: CliContext, file: string | undefined): string {
    const source = { what: "machine config", envVar: MACHINE_CONFIG_ENV, flag: "machine-config" };
    const text = readSecretInput(ctx, NAME, source, file);
    const { documents, problems } = parseYamlDocuments(text);
    const where = `${NAME}: the machine config in ${file ?? MACHINE_CONFIG_ENV}`;
    if (problems.length > 0) {
        throw new CliError(ExitCode.USAGE, `${where} is not valid YAML (${describeYamlProblem(problems[0])})`);
    }
    if (documents.length === 0) throw new CliError(ExitCode.USAGE, `${where} has no document`);
    return text;
}

/** Opens the Kubernetes client on first need; none without a kubeconfig. A bad kubeconfig is a usage error. */
function kubeFactory(ctx: CliContext, file: string | undefined): (() => Promise<KubeApi>) | undefined {
    const given = file !== undefined || (ctx.env[KUBECONFIG_ENV] ?? "").trim() !== "";
    if (!given) return undefined;
    const text = readSecretInput(ctx, NAME, { what: "kubeconfig", envVar: KUBECONFIG_ENV, flag: "kubeconfig" }, file);
    return async () => {
        // Loaded only when needed: @kubernetes/client-node takes a while to load.
        const { kubeClientFromKubeconfig, KubeconfigError } = await import("../kube/client");
        try {
            return await (ctx.clients?.kube ?? kubeClientFromKubeconfig)(text);
        } catch (err) {
            if (err instanceof KubeconfigError) throw new CliError(ExitCode.USAGE, err.message);
            throw err;
        }
    };
}
