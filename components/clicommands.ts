// The steps of the graph that act on a running cluster (bootstrap, readiness, a node's config, the
// Kubernetes manifests) as resources. Each is
// a @pulumi/command local command that runs our own CLI (cli/main.ts), rather than a dynamic
// provider, because:
// - a command's output streams to `pulumi up` as it runs (logging), so a person sees the progress
//   lines of a wait that can take minutes; a dynamic provider's stay hidden until it returns;
// - the CLI is the same code `npm run bootstrap`/`npm run wait` run by hand, tested against fake
//   servers, and a dynamic provider would have to serialize its closure instead;
// - secrets reach the CLI through the command's environment, which stays a Pulumi secret, never
//   through its command line.
// Each runs in the project directory, the command provider's default (where `pulumi up` runs the
// program), which is where cliCommandLine's command must run.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import {
    applyArgs, cliCommandLine, formatNodeRefs, KUBECONFIG_ENV, MACHINE_CONFIG_ENV, manifestsArgs, removeNodeArgs,
    TALOSCONFIG_ENV, waitArgs,
} from "../cli/invocation";
import type { NodePlan } from "../model/plan";
import { attachArgs, detachArgs } from "../cli/registrycache/args";
import type { ClusterComponents } from "../talos/config/components";
import type { MachineRole } from "../talos/machineconfig";

/** A node container and its address, for the advice an error gives (`docker logs`, `talosctl -n`). */
export type NodeRef = Pick<NodePlan, "name" | "ip">;

const containerList = (nodes: NodeRef[]) => formatNodeRefs(nodes.map((n) => ({ container: n.name, ip: n.ip })));

export interface BootstrapArgs {
    /** talosconfig YAML (secret): its endpoint is the first control plane's published Talos API. */
    talosconfig: pulumi.Input<string>;
    /** The node bootstrapped: the first control plane. */
    node: NodeRef;
    /** Duration such as "10m". */
    timeout: string;
    /** Changes when the first control plane's container is replaced: bootstrap again (idempotent). */
    trigger: pulumi.Input<string>;
}

export function bootstrapCommand(
    name: string,
    args: BootstrapArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    return new command.local.Command(name, {
        create: cliCommandLine([
            "bootstrap", "--timeout", args.timeout, "--containers", containerList([args.node]),
        ]),
        environment: { [TALOSCONFIG_ENV]: pulumi.secret(args.talosconfig) },
        logging: "stdoutAndStderr",
        triggers: [args.trigger],
    }, opts);
}

export interface ReadyArgs {
    /** Admin kubeconfig YAML (secret), pointing at the published Kubernetes API. */
    kubeconfig: pulumi.Input<string>;
    /** talosconfig YAML (secret): the Talos-side checks ask every node through its endpoint. */
    talosconfig: pulumi.Input<string>;
    /** Duration such as "15m". */
    timeout: string;
    /** Every node with its role: what must be ready, and whose logs an error points to. */
    nodes: Pick<NodePlan, "name" | "ip" | "role">[];
    /** The cluster's name, which its node names start with. */
    clusterName: string;
    /** What the cluster's config deploys (model/readiness.ts): the wait looks only for those. */
    components: ClusterComponents;
    /** Changes whenever a node container is replaced, so the wait runs again. */
    triggers: pulumi.Input<string>[];
}

export function readyCommand(
    name: string,
    args: ReadyArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    return new command.local.Command(name, {
        create: cliCommandLine(waitArgs(
            args.clusterName, args.nodes.map((n) => ({ container: n.name, ip: n.ip, role: n.role })), args.components, args.timeout,
        )),
        environment: {
            [KUBECONFIG_ENV]: pulumi.secret(args.kubeconfig),
            [TALOSCONFIG_ENV]: pulumi.secret(args.talosconfig),
        },
        logging: "stdoutAndStderr",
        triggers: args.triggers,
    }, opts);
}

/**
 * What a config resource and the manifests step run when they are created: nothing. A node that is
 * created boots from the machine config in its environment (USERDATA), and a new cluster's
 * manifests are the ones Talos renders for its version, so the first `pulumi up` applies nothing
 * twice; only a change (an update) runs the CLI.
 */
const NOTHING_TO_DO = "true";

/**
 * The node's container ID, in the config resource's environment: a replaced container (a new
 * image) changes it, so the config is applied again to the node booted from the new image. Only
 * the program sets it; the CLI does not read it.
 */
export const CONTAINER_ID_ENV = "TALOS_DOCKER_CONTAINER_ID";

export interface NodeConfigArgs {
    /** The node the config is applied to: its container and cluster-network address. */
    node: NodeRef;
    /** talosconfig YAML (secret): the apply goes through its endpoint, to the node by its address. */
    talosconfig: pulumi.Input<string>;
    /** Admin kubeconfig YAML (secret): a Kubernetes version change waits for each component on it. */
    kubeconfig: pulumi.Input<string>;
    /** The machine config YAML of the node's role (secret). */
    machineConfig: pulumi.Input<string>;
    /**
     * The config as a reviewer reads it (talos/configview.ts: dotted path → value, secrets only as
     * fingerprints), as JSON text: plain, so `pulumi preview --diff` shows the fields that change.
     */
    configView: pulumi.Input<string>;
    /** Changes when the node's container is replaced. */
    containerId: pulumi.Input<string>;
    /** Duration such as "10m": the bound of one apply, and of the node's removal. */
    timeout: string;
    /**
     * How the node leaves the cluster when its resource is deleted (`remove-node`): a worker is
     * cordoned, drained and its Node deleted, a control plane leaves etcd. Unset for the first
     * control plane, which leaves only with the whole cluster.
     */
    removal?: MachineRole;
}

/**
 * A node's removal, as its config resource's `delete`: `remove-node`, which does nothing when
 * `npm run destroy` says the whole cluster goes (DESTROYING_ENV). The delete runs the command and
 * environment the resource's last update stored, talosconfig and kubeconfig included.
 */
export function removalCommand(node: NodeRef, role: MachineRole, timeout: string): string {
    return cliCommandLine(removeNodeArgs({ container: node.name, ip: node.ip }, role, timeout));
}

/**
 * The node's machine config as a resource: created with the node (nothing to run), updated when
 * the config of its role changes or its container is replaced, which applies the config through
 * the Talos API (`apply`: the mode Talos would choose, then the config read back from the node).
 * Deleted before the node's container (it depends on it), which first takes the node out of the
 * cluster (`removal`); control planes one after the other, in the reverse of their chain.
 */
export function nodeConfigCommand(
    name: string,
    args: NodeConfigArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    return new command.local.Command(name, {
        create: NOTHING_TO_DO,
        update: cliCommandLine(applyArgs({ container: args.node.name, ip: args.node.ip }, args.timeout)),
        ...(args.removal === undefined ? {} : { delete: removalCommand(args.node, args.removal, args.timeout) }),
        environment: {
            [TALOSCONFIG_ENV]: pulumi.secret(args.talosconfig),
            [MACHINE_CONFIG_ENV]: pulumi.secret(args.machineConfig),
            [KUBECONFIG_ENV]: pulumi.secret(args.kubeconfig),
            [CONTAINER_ID_ENV]: args.containerId,
        },
        // The CLI does not read stdin: the view is here for the preview's diff alone. Pulumi shows a
        // JSON string input as an object diff, field by field.
        stdin: args.configView,
        logging: "stdoutAndStderr",
    }, opts);
}

export interface ManifestsArgs {
    /** Admin kubeconfig YAML (secret). */
    kubeconfig: pulumi.Input<string>;
    /** The Kubernetes version the bootstrap manifests are brought to; a change runs the update. */
    kubernetesVersion: string;
    /** Duration such as "10m". */
    timeout: string;
}

/**
 * The bootstrap manifests Talos does not update by itself (kube-proxy's image), brought to
 * `kubernetesVersion` after the nodes took the version's config, as talosctl upgrade-k8s does
 * last. Created with the cluster (nothing to run); updated when the version changes.
 */
export function manifestsCommand(
    name: string,
    args: ManifestsArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    return new command.local.Command(name, {
        create: NOTHING_TO_DO,
        update: cliCommandLine(manifestsArgs(args.kubernetesVersion, args.timeout)),
        environment: { [KUBECONFIG_ENV]: pulumi.secret(args.kubeconfig) },
        logging: "stdoutAndStderr",
    }, opts);
}

export interface RegistryCacheArgs {
    /** The cluster's Docker network, which the caches join. */
    network: pulumi.Input<string>;
    /** Its subnet: the caches take addresses near its top (model/registries.ts cacheAddresses). */
    subnet: string;
    /** Changes when the network is replaced, so the caches join the new one. */
    networkId: pulumi.Input<string>;
}

/**
 * The cluster's use of the pull-through caches, which no stack owns: created, it makes or starts
 * the caches and attaches them to the cluster network (`registry-cache attach`); deleted (by
 * `pulumi destroy`, or when registryCache is turned off), it only detaches them, so their
 * containers and volumes stay for every other cluster and the next one. Docker resources would
 * not do: a second stack declaring the same container names would fail to create them, and
 * retainOnDelete would leave them owned by whichever stack came first.
 */
export function registryCacheCommand(
    name: string,
    args: RegistryCacheArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    return new command.local.Command(name, {
        create: pulumi.output(args.network).apply((network) => cliCommandLine(attachArgs(network, args.subnet))),
        delete: pulumi.output(args.network).apply((network) => cliCommandLine(detachArgs(network))),
        logging: "stdoutAndStderr",
        triggers: [args.networkId],
    }, {
        ...opts,
        // The old resource's detach would undo the new one's attach of the same network.
        deleteBeforeReplace: true,
    });
}
