// What a change of the counts, the addresses or the name does to the nodes the last run left
// (its `nodes` output, read back by model/clusterchange.ts): a node that stays keeps its address,
// the bootstrap node stays, and control planes leave only as etcd can take it. Pure.

import type { MachineRole } from "../talos/machineconfig";
import { isPlainObject } from "../talos/yaml";
import type { ClusterSpec } from "./config";
import type { Problems } from "./configproblems";
import { cidrContains, parseIPv4 } from "./ipv4";
import { nodeSubnet, nodeSuffix, planCluster, type NodePlan } from "./plan";

/** A node as output `nodes` lists it (which also names its container, after the node). */
export interface NodeRecord {
    name: string;
    role: MachineRole;
    ip: string;
}

/** The `nodes` output as read back; undefined when absent or not of this shape. */
export function readNodes(value: unknown): NodeRecord[] | undefined {
    if (!Array.isArray(value)) return undefined;
    const nodes: NodeRecord[] = [];
    for (const item of value) {
        if (!isPlainObject(item) || typeof item.name !== "string" || typeof item.ip !== "string") return undefined;
        if (item.role !== "controlplane" && item.role !== "worker") return undefined;
        nodes.push({ name: item.name, role: item.role, ip: item.ip });
    }
    return nodes;
}

/** The members etcd needs for a quorum among `members`. */
export function etcdQuorum(members: number): number {
    return Math.floor(members / 2) + 1;
}

/**
 * The lowest control-plane count one `pulumi up` may take a cluster of `running` to: one member
 * fewer is always possible (it leaves etcd before its container goes), several at once only while
 * a majority of the running members remains (so etcd keeps its quorum should a leaving member stop
 * before it has left).
 */
export function lowestControlPlaneStep(running: number): number {
    return Math.max(1, Math.min(running - 1, etcdQuorum(running)));
}

const POOL_KEYS: Readonly<Record<MachineRole, "controlPlanes.count" | "workers.count">> = {
    controlplane: "controlPlanes.count",
    worker: "workers.count",
};

function countOf(spec: ClusterSpec, role: MachineRole): number {
    switch (role) {
        case "controlplane":
            return spec.controlPlanes.count;
        case "worker":
            return spec.workers.count;
        default: {
            const never: never = role;
            throw new Error(`unknown role ${String(never)}`);
        }
    }
}

/** `a, b and c`, the first few of them and how many more. */
function listNames(names: string[]): string {
    const shown = names.length > 4 ? [...names.slice(0, 3), `${names.length - 3} more`] : names;
    return shown.length === 1 ? shown[0] : `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`;
}

/**
 * Adds to `p` what the plan of `spec` would do to the `running` nodes that they cannot take.
 * `hasRemovalSteps`: the nodes' resources in the state have their removal step (a stack made
 * before it has none, and cannot lower a count until one run has stored it).
 */
export function nodeProblems(p: Problems, running: NodeRecord[], hasRemovalSteps: boolean, spec: ClusterSpec): void {
    const planned = new Map(planCluster(spec).nodes.map((n) => [n.name, n]));
    // The output lists the nodes as the plan does: the bootstrap node first.
    const bootstrap = running.find((n) => n.role === "controlplane");
    if (bootstrap !== undefined && !planned.has(bootstrap.name)) {
        bootstrapProblem(p, running, bootstrap, spec);
        return;
    }
    addressProblems(p, running, planned, spec);
    const leaving = running.filter((n) => !planned.has(n.name));
    if (leaving.length === 0) return;
    if (!hasRemovalSteps) {
        removalStepProblems(p, running, leaving, spec);
        return;
    }
    quorumProblems(p, running, leaving, spec);
}

/**
 * The counts never remove the bootstrap node (a count is at least 1, and lowering one removes the
 * last nodes), but a new cluster name renames every node: the plan would remove the running
 * cluster, its bootstrap node with it (it runs etcd's first member and publishes both APIs), and
 * create another at the same addresses and under the same Docker network name, which Docker
 * refuses while the old one runs.
 */
function bootstrapProblem(p: Problems, running: NodeRecord[], bootstrap: NodeRecord, spec: ClusterSpec): void {
    const suffix = `-${nodeSuffix("controlplane", 1)}`;
    const runningName = bootstrap.name.endsWith(suffix) ? bootstrap.name.slice(0, -suffix.length) : undefined;
    const keep = runningName === undefined
        ? "set clusterName back to the running cluster's name"
        : p.set("clusterName", runningName);
    p.add("clusterName", spec.clusterName,
        `would remove the running cluster's bootstrap node ${bootstrap.name} (the first control plane: etcd's first ` +
            `member, and the APIs' endpoint) with all ${running.length} of its nodes, and create a new cluster at ` +
            "their addresses; a running cluster cannot be renamed",
        `${keep} to keep it, or npm run destroy, then pulumi up for a cluster under the new name`);
}

/** A node that stays keeps its address: it would otherwise be a new container with its old volumes. */
function addressProblems(p: Problems, running: NodeRecord[], planned: Map<string, NodePlan>, spec: ClusterSpec): void {
    const moved = running.flatMap((n) => {
        const to = planned.get(n.name)?.ip;
        return to === undefined || to === n.ip ? [] : [{ ...n, to }];
    });
    if (moved.length === 0) return;
    const moves = listNames(moved.map((n) => `${n.name} from ${n.ip} to ${n.to}`));
    const why = "a running node cannot change its address: its container would be replaced at the new one on its " +
        "old volumes, while etcd and the machine configs know the control planes by the addresses they have";
    const recreate = "or recreate the cluster: npm run destroy -- --keep-secrets, then pulumi up (the same CAs, " +
        "so your kubeconfig and talosconfig keep working; the volumes and workloads are lost)";
    const cidr = nodeSubnet(spec.network.subnet);
    const leftSubnet = moved.some((n) => {
        const address = parseIPv4(n.ip);
        return address === undefined || !cidrContains(cidr, address);
    });
    if (leftSubnet) {
        p.add("network.subnet", spec.network.subnet, `would move the running nodes (${moves}); ${why}`,
            `set network.subnet back to the subnet the nodes run in (it holds ${running[0].ip}), ${recreate}`);
        return;
    }
    // The same subnet, other addresses: the nodes were placed by an earlier version of the plan,
    // which gave every node the next address after the ones before it, control planes first.
    p.add("controlPlanes.count", spec.controlPlanes.count,
        "the running nodes were addressed by an earlier version of this program (every node from .2 up, control " +
            "planes first); this one keeps the control planes after the first at the top of the subnet, so that no " +
            `count change moves a node, and would move ${moves}; ${why}`,
        `keep the earlier version of the program for this cluster, ${recreate}`);
}

/**
 * Nodes declared by an earlier version have no removal step in the state (a node's steps are
 * those its last update stored), so lowering a count now would stop them without a drain or an
 * etcd leave: one `pulumi up` at the running counts stores the step for every node first.
 */
function removalStepProblems(p: Problems, running: NodeRecord[], leaving: NodeRecord[], spec: ClusterSpec): void {
    for (const role of ["controlplane", "worker"] as const) {
        const gone = leaving.filter((n) => n.role === role).map((n) => n.name);
        if (gone.length === 0) continue;
        const key = POOL_KEYS[role];
        const count = countOf(spec, role);
        const runningCount = running.filter((n) => n.role === role).length;
        const step = role === "worker" ? "a drain" : "an etcd leave";
        p.add(key, count,
            `the running nodes were declared by an earlier version of this program, without the step that takes a ` +
                `node out of the cluster first (a worker's drain, a control plane's etcd leave): lowering it from ` +
                `${runningCount} to ${count} now would remove ${listNames(gone)} without ${step}`,
            `${p.set(key, runningCount)}, pulumi up (it adds that step to every node), then set ${count} again`);
    }
}

/**
 * The control planes that leave in one `pulumi up` go one at a time, each leaving etcd before its
 * container goes; more than one at once only while a majority of the running members remains, so
 * that etcd keeps its quorum should a leaving member stop before it has left.
 */
function quorumProblems(p: Problems, running: NodeRecord[], leaving: NodeRecord[], spec: ClusterSpec): void {
    const members = running.filter((n) => n.role === "controlplane").length;
    const count = spec.controlPlanes.count;
    if (count >= lowestControlPlaneStep(members)) return;
    const gone = leaving.filter((n) => n.role === "controlplane").length;
    const quorum = etcdQuorum(members);
    const remain = count === 1 ? "the 1 that remains is" : `the ${count} that remain are`;
    p.add("controlPlanes.count", count,
        `lowering it from ${members} to ${count} removes ${gone} etcd members in one pulumi up: ${remain} not a ` +
            `majority of the ${members} running (etcd needs ${quorum} for its quorum), so etcd would stop should a ` +
            `leaving member stop before it has left; from ${members}, one pulumi up may go down to ` +
            `${lowestControlPlaneStep(members)} (one fewer, or as many fewer as leave a majority)`,
        `${p.set("controlPlanes.count", lowestControlPlaneStep(members))}, pulumi up, then set ${count} again`);
}
