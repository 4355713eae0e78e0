// `wait`: block until the cluster is ready as Talos' default checks judge it (cli/readiness/).

import { DEFAULTS } from "../../model/config";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { CliError, ExitCode } from "../exitcodes";
import { durationFlag, parseFlags } from "../flags";
import { KUBECONFIG_ENV, TALOSCONFIG_ENV } from "../invocation";
import type { KubeApi } from "../kube/api";
import { talosReader } from "../readiness/talosread";
import { readSecretInput } from "../secretinput";
import { openTalosApi } from "../talosapi";
import { runWait } from "./flow";
import { waitTarget } from "./options";

const NAME = "wait";

export const waitCommand: Command = {
    name: NAME,
    summary: "wait until the cluster is ready as Talos' checks judge it: etcd, apid, boot, API, nodes, system pods",
    usage: `Usage: wait (--nodes N | --control-planes A[=IP],… [--workers A[=IP],…]) [flags]

Polls (every 500 ms) until the cluster passes Talos' default cluster checks, as far as they
make sense from the host. With a talosconfig, through its endpoint: etcd healthy on every control
plane, its members consistent and all control planes, apid answering for every node, the kubelet
healthy on the control planes, every node booted. Through the kubeconfig: /readyz, every node
registered, the control-plane static pods on every control plane and ready, every node Ready,
kube-proxy, CoreDNS and flannel ready (each only when the config deploys it, or its DaemonSet or
Deployment exists), no node cordoned. Failed, Succeeded and completed pods are ignored. With
--cni none, nodes are only waited for to register (they stay NotReady until a CNI is installed).
Every line names what it waits for; what is not checked is said once. On timeout, lists what is
not ready and which logs to read.

Flags:
  --nodes N                  how many nodes the cluster has (default: how many the two lists below name)
  --control-planes A[=IP],…  the control planes (node containers are named after their nodes)
  --workers A[=IP],…         the workers
  --containers A[=IP],…      nodes without a role, for the advice on timeout
  --cluster NAME             the cluster's name: a Node or etcd member named as one of its nodes
                             (NAME-cp-NN, NAME-worker-NN) that the lists above leave out is being
                             removed (after this wait, as \`pulumi up\` does): noted, not waited for
  --cni flannel|custom|none  the config's CNI (default: flannel is checked when its DaemonSet exists)
  --kube-proxy on|off        whether the config deploys kube-proxy (default: checked when present)
  --coredns on|off           whether the config deploys CoreDNS (default: checked when present)
  --kubeconfig FILE          read the kubeconfig from FILE (default: the ${KUBECONFIG_ENV} variable)
  --talosconfig FILE         read the talosconfig from FILE (default: the ${TALOSCONFIG_ENV} variable;
                             without either, the Talos-side checks are skipped, and said so)
  --context NAME             the talosconfig context (default: its current context)
  --timeout DURATION         give up after this long (default ${DEFAULTS.timeouts.ready})

Environment:
  ${KUBECONFIG_ENV}   the kubeconfig YAML itself (keeps keys off the command line)
  ${TALOSCONFIG_ENV}  the talosconfig YAML itself`,
    exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.FATAL, ExitCode.TIMEOUT],

    async run(args, ctx) {
        const flags = parseFlags(NAME, args, {
            nodes: { type: "string" },
            "control-planes": { type: "string" },
            workers: { type: "string" },
            containers: { type: "string" },
            cluster: { type: "string" },
            cni: { type: "string" },
            "kube-proxy": { type: "string" },
            coredns: { type: "string" },
            kubeconfig: { type: "string" },
            talosconfig: { type: "string" },
            context: { type: "string" },
            timeout: { type: "string" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        const target = waitTarget(NAME, flags);
        // The stack config's default: by hand, it waits as long as `pulumi up` does by default.
        const timeoutMs = durationFlag(NAME, "timeout", flags.timeout, DEFAULTS.timeouts.ready);
        const kubeconfigSource = { what: "kubeconfig", envVar: KUBECONFIG_ENV, flag: "kubeconfig" };
        const text = readSecretInput(ctx, NAME, kubeconfigSource, flags.kubeconfig);
        const hasTalosconfig = flags.talosconfig !== undefined || (ctx.env[TALOSCONFIG_ENV] ?? "").trim() !== "";
        const talos = hasTalosconfig ? await openTalosApi(ctx, NAME, flags.talosconfig, flags.context) : undefined;
        // Loaded here, not at the top: @kubernetes/client-node takes a while to load, and only
        // the commands that need it load it.
        const { kubeClientFromKubeconfig, KubeconfigError } = await import("../kube/client");
        let api: KubeApi;
        try {
            api = await (ctx.clients?.kube ?? kubeClientFromKubeconfig)(text);
        } catch (err) {
            talos?.close();
            if (err instanceof KubeconfigError) throw new CliError(ExitCode.USAGE, err.message);
            throw err;
        }
        try {
            const clients = talos === undefined ? { kube: api } : { kube: api, talos: talosReader(talos) };
            await runWait(clients, { ...target, timeoutMs }, ctx.out, ctx.clock);
        } finally {
            api.close();
            talos?.close();
        }
    },
};
