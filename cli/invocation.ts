// How the Pulumi command resources (components/clicommands.ts) run this CLI: the command line, the
// nodes it names, and the variables that carry the client configs to it, so no secret is ever on
// a command line. The program loads this module without the CLI's commands and clients.

import type { ClusterComponents } from "../talos/config/components";
import { formatListFlag } from "./flags";

/** The CLI's entry point, relative to the project directory (where `pulumi up` runs the program). */
export const CLI_ENTRY = "cli/main.ts";

/** The variable holding the talosconfig YAML itself, read by `bootstrap` (and `talosconfig`). */
export const TALOSCONFIG_ENV = "TALOS_DOCKER_TALOSCONFIG";

/** The variable holding the kubeconfig YAML itself, read by `wait` (and `kubeconfig`). `wait` also reads TALOSCONFIG_ENV. */
export const KUBECONFIG_ENV = "TALOS_DOCKER_KUBECONFIG";

/** The variable holding the machine config YAML a node must run, read by `apply`. */
export const MACHINE_CONFIG_ENV = "TALOS_DOCKER_MACHINE_CONFIG";

/**
 * Set to 1 while the whole stack is destroyed (`destroy` sets it for its `pulumi destroy`): a
 * leaving node's `remove-node` then neither drains it nor takes it out of etcd, since every node
 * goes and there is nowhere for its pods to go. It reaches the command through the process
 * environment, which the command provider hands to every command it runs, with the resource's
 * own variables after it (pulumi/pulumi-command@v1.2.1 provider/pkg/provider/local/commandOutputs.go:
 * `cmd.Env = os.Environ()`): the program must not set it.
 */
export const DESTROYING_ENV = "TALOS_DOCKER_DESTROYING";

/**
 * `apply`'s flags, as the per-node config resource passes them: the node's cluster-network
 * address (reached through the talosconfig's endpoint with `nodes` metadata, as talosctl does),
 * its container (for the advice an error gives), and the bound of the whole apply.
 */
export function applyArgs(node: { container: string; ip: string }, timeout: string): string[] {
    return ["apply", "--node", node.ip, "--container", node.container, "--timeout", timeout];
}

/**
 * `remove-node`'s flags, as a node's config resource runs them when the node leaves the stack
 * (its delete runs before its container's): a worker is cordoned, drained and its Node object
 * deleted; a control plane leaves etcd first. The talosconfig and kubeconfig come in their
 * variables.
 */
export function removeNodeArgs(node: { container: string; ip: string }, role: "controlplane" | "worker", timeout: string): string[] {
    return ["remove-node", "--node", node.ip, "--container", node.container, "--role", role, "--timeout", timeout];
}

/**
 * `manifests`' flags: bring the bootstrap manifests Talos does not update on its own (the
 * kube-proxy DaemonSet's image) to `kubernetesVersion`, as talosctl upgrade-k8s does last.
 */
export function manifestsArgs(kubernetesVersion: string, timeout: string): string[] {
    return ["manifests", "--kubernetes-version", kubernetesVersion, "--timeout", timeout];
}

/** `on`/`off`: how `wait`'s switches are written. */
export const SWITCH_VALUES = { on: true, off: false } as const;

function switchValue(on: boolean): keyof typeof SWITCH_VALUES {
    return on ? "on" : "off";
}

/**
 * `wait`'s flags, as the readiness resource passes them: every node by role with its address (the
 * Talos-side checks ask each through the talosconfig's endpoint; the control planes carry etcd
 * and the static pods), and what the cluster's config deploys (`components`: the CNI, kube-proxy,
 * CoreDNS), so the wait looks only for what the config implies. The cluster's name marks the
 * nodes a scale-down removes, whose removal the engine runs after this wait. The talosconfig and
 * kubeconfig come in their variables.
 */
export function waitArgs(
    clusterName: string,
    nodes: readonly { container: string; ip: string; role: "controlplane" | "worker" }[],
    components: ClusterComponents,
    timeout: string,
): string[] {
    const of = (role: "controlplane" | "worker") => nodes.filter((n) => n.role === role).map((n) => ({ container: n.container, ip: n.ip }));
    const workers = of("worker");
    return [
        "wait", "--nodes", String(nodes.length), "--timeout", timeout,
        "--control-planes", formatNodeRefs(of("controlplane")),
        ...(workers.length > 0 ? ["--workers", formatNodeRefs(workers)] : []),
        "--cluster", clusterName,
        "--cni", components.cni, "--kube-proxy", switchValue(components.kubeProxy), "--coredns", switchValue(components.coreDns),
    ];
}

/** A node container, with its cluster-network IP when the caller knows it. */
export interface NodeRef {
    container: string;
    ip?: string;
}

/** The `--containers` value naming `nodes`: `a,b=172.30.0.3`, the IP where known. */
export function formatNodeRefs(nodes: readonly NodeRef[]): string {
    return formatListFlag(nodes.map((n) => (n.ip === undefined ? n.container : `${n.container}=${n.ip}`)));
}

/** `--containers a,b=172.30.0.3`, as listFlag splits it → refs; the IP is optional. */
export function parseNodeRefs(items: string[]): NodeRef[] {
    return items.map((item) => {
        const [container, ip] = item.split("=", 2);
        return ip ? { container, ip } : { container };
    });
}

/**
 * The shell command that runs the CLI with `args`. `node --import tsx` finds tsx in the project's
 * node_modules when it runs in the project directory, and keeps this host's checkout path out of
 * the command (and so out of the state).
 */
export function cliCommandLine(args: readonly string[]): string {
    return ["node", "--import", "tsx", CLI_ENTRY, ...args].join(" ");
}
