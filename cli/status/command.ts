// `status`: the cluster at a glance (the seed's status-talos.sh), from the stack's outputs or the
// files given, and Docker.

import { LABELS } from "../../model/dockerlabels";
import type { TalosApi } from "../../talos/api";
import { findClientConfigs } from "../cluster/target";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { DEFAULT_DOCKER_HOST } from "../docker/api";
import { CliError, ExitCode } from "../exitcodes";
import { durationFlag, parseFlags } from "../flags";
import type { KubeApi } from "../kube/api";
import { renderStatus } from "./render";

const NAME = "status";

/** The deadline of each probe unless --timeout says otherwise. */
const PROBE_TIMEOUT = "3s";

export const statusCommand: Command = {
    name: NAME,
    summary: "containers, network, Talos API, Kubernetes, resources and ports, with the next step for each problem",
    usage: `Usage: status [flags]

Checks the cluster in seven sections: the node containers (state, IP, health, uptime), the Docker
network, the Talos API of every node (version and services, through the first control plane),
Kubernetes (API, nodes Ready, kube-system pods), resource usage per container, the published
ports (reachable from the host?), and a summary with the next step for each problem; when this
machine has registry caches (registryCache), a section for them too: each one's state, whether its
registry API answers on 127.0.0.1, what it holds, and whether it is on this cluster's network. All
probes run at once, each with its own deadline, so even a dead cluster reports in about --timeout.

The client configs come from \`pulumi stack output\` (or --talosconfig/--kubeconfig files); the
containers from Docker, by their ${LABELS.cluster} label. Nodes and per-node pods are judged
against the nodes the stack declares, else the node containers Docker has, else the Node objects
the API lists; the report says which.

Flags:
  --stack NAME          the Pulumi stack (default: the selected one)
  --cluster NAME        the cluster's name (default: from the client configs, or the only one in Docker)
  --talosconfig FILE    use this talosconfig instead of the stack's
  --kubeconfig FILE     use this kubeconfig instead of the stack's
  --timeout DURATION    deadline of each probe (default ${PROBE_TIMEOUT})
  --json                print the report as JSON
  --sequential          one probe at a time (the baseline npm run bench compares against)

Environment:
  DOCKER_HOST           the Docker Engine (default ${DEFAULT_DOCKER_HOST})`,
        exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.UNHEALTHY],

    async run(args, ctx) {
        const flags = parseFlags(NAME, args, {
            stack: { type: "string" },
            cluster: { type: "string" },
            talosconfig: { type: "string" },
            kubeconfig: { type: "string" },
            timeout: { type: "string" },
            json: { type: "boolean" },
            sequential: { type: "boolean" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        const probeTimeoutMs = durationFlag(NAME, "timeout", flags.timeout as string | undefined, PROBE_TIMEOUT);
        const target = await findClientConfigs({
            stack: flags.stack as string | undefined,
            cluster: flags.cluster as string | undefined,
            talosconfigFile: flags.talosconfig as string | undefined,
            kubeconfigFile: flags.kubeconfig as string | undefined,
        }, ctx);

        // Loaded here, not at the top: gRPC, the Kubernetes client and dockerode cost every other
        // command (bootstrap runs in `pulumi up`) a second of start-up.
        const [{ parseTalosconfig, TalosApiError, TalosClient, TalosconfigError }, { KubeconfigError, kubeClientFromKubeconfig }, { dockerFromEnv }, { collectStatus }] =
            await Promise.all([import("../../talos/api"), import("../kube/client"), import("../docker/client"), import("./collect")]);
        let talos: TalosApi | undefined;
        let kube: KubeApi | undefined;
        try {
            if (target.talosconfig !== undefined) {
                talos = (ctx.clients?.talos ?? ((c) => TalosClient.fromContext(c)))(parseTalosconfig(target.talosconfig));
            }
            if (target.kubeconfig !== undefined) kube = await (ctx.clients?.kube ?? kubeClientFromKubeconfig)(target.kubeconfig);
        } catch (err) {
            talos?.close();
            if (err instanceof TalosconfigError || err instanceof TalosApiError || err instanceof KubeconfigError) throw new CliError(ExitCode.USAGE, err.message);
            throw err;
        }
        const docker = (ctx.clients?.docker ?? dockerFromEnv)(ctx.env);
        try {
            const report = await collectStatus(target, { docker, talos, kube, clock: ctx.clock }, { probeTimeoutMs, sequential: flags.sequential === true });
            if (flags.json) ctx.out(JSON.stringify(report, null, 2));
            else for (const line of renderStatus(report)) ctx.out(line);
            if (!report.healthy) {
                const problems = report.findings.filter((f) => f.severity === "problem").length;
                throw new CliError(ExitCode.UNHEALTHY, `${problems} problem${problems === 1 ? "" : "s"} found (the summary says what to do)`);
            }
        } finally {
            talos?.close();
            kube?.close();
            docker.close();
        }
    },
};
