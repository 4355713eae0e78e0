// `remove-node`: take a node out of the cluster before its container goes (flow.ts says how),
// once Docker has said whether the node and its cluster still run (presence.ts): a cluster that
// is down has nothing to leave, and its APIs could only be waited for until the deadline.
// A node's config resource runs it when the node leaves the stack (cli/invocation.ts
// removeNodeArgs), and a plain `pulumi destroy` runs it for every node, with the talosconfig and
// kubeconfig in its environment.

import { parseIPv4 } from "../../model/ipv4";
import type { Command } from "../command";
import { commandHelp } from "../command";
import type { CliContext } from "../context";
import { DEFAULT_DOCKER_HOST, type DockerApi } from "../docker/api";
import { CliError, ExitCode } from "../exitcodes";
import { durationFlag, parseFlags } from "../flags";
import { DESTROYING_ENV, KUBECONFIG_ENV, TALOSCONFIG_ENV } from "../invocation";
import { kubeconfigCluster } from "../cluster/target";
import { KUBECONFIG_SOURCE, openKubeApi } from "../kube/open";
import { readSecretInput } from "../secretinput";
import { openTalosApi, TALOS_CALL_TIMEOUT, TALOSCONFIG_FLAGS_HELP } from "../talosapi";
import { DRAIN_PACE } from "./drain";
import { NODE_ROLES, runRemoveNode, type NodeRole } from "./flow";
import { DOCKER_JUDGEMENT_MS, judgeFromDocker, judgementBound } from "./presence";

const NAME = "remove-node";

/** The bound of a removal run by hand; the node's resource passes its own. */
export const REMOVE_NODE_TIMEOUT = "10m";

export const removeNodeCommand: Command = {
    name: NAME,
    summary: "take a leaving node out of the cluster: a control plane leaves etcd; cordon, drain, delete its Node",
    usage: `Usage: remove-node --node IP --container NAME --role controlplane|worker [flags]

Before a node's container is removed for good. A control plane first leaves etcd, as
\`talosctl -n IP etcd leave\` does (or, when it does not answer, its member is removed through
another control plane, as \`etcd remove-member\`), after checking that the other members answer
and keep a quorum without it. Then, as \`kubectl drain\` with --ignore-daemonsets,
--delete-emptydir-data and --force, and \`kubectl delete node\`: the Node is cordoned, every pod
on it but DaemonSet, static (mirror) and finished pods is evicted through the Eviction API (a
PodDisruptionBudget that refuses is asked again every ${DRAIN_PACE.evictionRetryMs / 1000}s), the evicted pods are
waited for until they are gone, and the Node object is deleted. A member that left already or a
Node that is gone is success. etcd's only voting member is left alone: the cluster ends with it.

Docker is asked first (for ${DOCKER_JUDGEMENT_MS / 1000}s at most, and a quarter of --timeout), by the node
container's labels: when neither it nor any control-plane container of its cluster runs, the
cluster is down (stopped, removed, or the Docker host restarted) and the command says so and ends
at once: nothing can leave the cluster and nothing needs to; its Node object and etcd member, if
any, go with the cluster. When the node's container does not run (or is gone) but the cluster
runs, the node is not drained (no kubelet would confirm its pods gone) and not asked to leave: a
control plane's member is removed through another control plane, then the Node object is deleted
and the pod garbage collector deletes its pods. When Docker does not answer, the command says so
and goes on as if the node ran.

With ${DESTROYING_ENV}=1 (set by \`destroy\` while the whole stack goes) it does nothing: every
node goes, so none needs to leave.

Flags:
  --node IP              the node's address on the cluster network (required)
  --container NAME       the node's container, named after it (required)
  --role ROLE            controlplane or worker (required)
${TALOSCONFIG_FLAGS_HELP}
  --kubeconfig FILE      read the kubeconfig from FILE (default: the ${KUBECONFIG_ENV} variable)
  --timeout DURATION     give up after this long (default ${REMOVE_NODE_TIMEOUT})
  --call-timeout DURATION  one API call at most (default ${TALOS_CALL_TIMEOUT})

Environment:
  DOCKER_HOST               the Docker Engine (default ${DEFAULT_DOCKER_HOST}), as for the docker CLI
  ${TALOSCONFIG_ENV}  the talosconfig YAML itself (a control plane's removal only)
  ${KUBECONFIG_ENV}   the kubeconfig YAML itself
  ${DESTROYING_ENV}   1 while the whole stack is destroyed: nothing to do

A removal that would leave etcd without a quorum of healthy members is refused before anything
changes (exit 5). Pods a disruption budget still protects at the timeout are named with their
budgets (exit 4); the Node stays cordoned.`,
    exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.FATAL, ExitCode.TIMEOUT, ExitCode.UNHEALTHY],

    async run(args, ctx) {
        const flags = parseFlags(NAME, args, {
            node: { type: "string" },
            container: { type: "string" },
            role: { type: "string" },
            talosconfig: { type: "string" },
            context: { type: "string" },
            kubeconfig: { type: "string" },
            timeout: { type: "string" },
            "call-timeout": { type: "string" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        const { node, container, role } = requiredFlags(flags);
        const timeoutMs = durationFlag(NAME, "timeout", flags.timeout, REMOVE_NODE_TIMEOUT);
        const callTimeoutMs = durationFlag(NAME, "call-timeout", flags["call-timeout"], TALOS_CALL_TIMEOUT);
        if (destroying(ctx)) {
            ctx.out(
                `[${NAME}] the whole stack is being destroyed (${DESTROYING_ENV}=1): ${container} (${node}) is neither drained ` +
                    "nor taken out of etcd; it goes with every other node",
            );
            return;
        }
        // Both clients are opened (and their configs checked) before anything changes.
        const talos = role === "controlplane" ? await openTalosApi(ctx, NAME, flags.talosconfig, flags.context) : undefined;
        try {
            const kube = await openKubeApi(ctx, NAME, flags.kubeconfig);
            try {
                // Loaded here, as the other commands load it: dockerode takes a while.
                const { dockerFromEnv } = await import("../docker/client");
                // The bound runs from here, every client ready: Docker's answer counts in it.
                const startedAt = ctx.clock.now();
                const clusterHint = kubeconfigCluster(readSecretInput(ctx, NAME, KUBECONFIG_SOURCE, flags.kubeconfig));
                const docker = (ctx.clients?.docker ?? dockerFromEnv)(ctx.env);
                const down = await askDocker(ctx, docker, { node, container }, clusterHint, timeoutMs);
                if (down === CLUSTER_DOWN) return;
                const opts = { node, container, role, timeoutMs, callTimeoutMs, startedAt, down };
                await runRemoveNode({ talos, kube }, opts, ctx.out, ctx.clock);
            } finally {
                kube.close();
            }
        } finally {
            talos?.close();
        }
    },
};

/** askDocker's answer when the whole cluster is down: it has said so, and nothing is left to do. */
const CLUSTER_DOWN = Symbol("cluster down");

/**
 * What Docker says of the node and its cluster (presence.ts), said where it changes what is done:
 * CLUSTER_DOWN; why the node does not run while its cluster does; undefined to go on as today (it
 * runs, or Docker cannot tell). Closes `docker`.
 */
async function askDocker(
    ctx: CliContext,
    docker: DockerApi,
    target: { node: string; container: string },
    clusterHint: string | undefined,
    timeoutMs: number,
): Promise<string | typeof CLUSTER_DOWN | undefined> {
    const who = `${target.container} (${target.node})`;
    try {
        const verdict = await judgeFromDocker(docker, target.container, clusterHint, judgementBound(timeoutMs));
        switch (verdict.kind) {
            case "node-runs":
                return undefined;
            case "unknown":
                ctx.out(`[${NAME}] warning: Docker cannot tell whether ${who} runs (${verdict.reason}); ` +
                    "going on as if it does");
                return undefined;
            case "cluster-down":
                ctx.out(
                    `[${NAME}] ${who}: ${verdict.why}, and no control plane of ${clusterLabel(verdict.cluster)} runs: ` +
                        "the cluster is down, so nothing can leave it and nothing needs to; its Node object and etcd " +
                        "member, if any, go with the cluster",
                );
                return CLUSTER_DOWN;
            case "node-down": {
                const cluster = verdict.cluster === undefined ? "a Talos cluster" : `cluster ${verdict.cluster}`;
                return `${verdict.why} while ${cluster} runs (${verdict.controlPlanes.join(", ")})`;
            }
            default: {
                const unreachable: never = verdict;
                throw new Error(`unknown verdict ${JSON.stringify(unreachable)}`);
            }
        }
    } finally {
        docker.close();
    }
}

function clusterLabel(cluster: string | undefined): string {
    return cluster === undefined ? "any Talos cluster" : `cluster ${cluster}`;
}

/** --node, --container and --role, or one usage error naming every problem. */
function requiredFlags(flags: { node?: string; container?: string; role?: string }): {
    node: string;
    container: string;
    role: NodeRole;
} {
    const problems: string[] = [];
    if (flags.node === undefined) {
        problems.push("--node IP is required (the node's address on the cluster network)");
    } else if (parseIPv4(flags.node) === undefined) {
        problems.push(`--node "${flags.node}" is not an IPv4 address like 172.30.0.3`);
    }
    if (flags.container === undefined || flags.container === "") {
        problems.push("--container NAME is required (the node's container)");
    }
    const role = NODE_ROLES.find((r) => r === flags.role);
    if (flags.role === undefined) {
        problems.push(`--role is required (${NODE_ROLES.join(" or ")})`);
    } else if (role === undefined) {
        problems.push(`--role "${flags.role}" is not ${NODE_ROLES.join(" or ")}`);
    }
    if (problems.length > 0 || role === undefined) throw new CliError(ExitCode.USAGE, `${NAME}: ${problems.join("; ")}`);
    return { node: flags.node ?? "", container: flags.container ?? "", role };
}

/** ${DESTROYING_ENV}: 1 or true; unset, empty, 0 or false: not destroying; anything else is a usage error. */
function destroying(ctx: CliContext): boolean {
    const value = (ctx.env[DESTROYING_ENV] ?? "").trim().toLowerCase();
    if (value === "1" || value === "true") return true;
    if (value === "" || value === "0" || value === "false") return false;
    throw new CliError(
        ExitCode.USAGE,
        `${NAME}: ${DESTROYING_ENV}="${ctx.env[DESTROYING_ENV]}" is not 1 (the whole stack is being destroyed) or unset`,
    );
}
