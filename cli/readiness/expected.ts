// The nodes the cluster should have, as the caller knows them: always how many; where known,
// each node's name (node containers are named after their nodes), its cluster-network address
// and its role. Talos' checks know every node's address and role (pkg/cluster ClusterInfo);
// what is not known here is judged from what the cluster shows, and said so.

import { parseNodeName } from "../../model/plan";

export type NodeRole = "controlplane" | "worker";

export interface ExpectedNode {
    name: string;
    ip?: string;
    role?: NodeRole;
}

export interface ExpectedCluster {
    /** how many nodes must register */
    count: number;
    /** the nodes known by name; may be fewer than `count`, or none */
    nodes: ExpectedNode[];
    /** the cluster's name, which its node names start with (model/plan.ts nodeName) */
    clusterName?: string;
}

/**
 * A Node or etcd member named as one of this cluster's nodes that the cluster no longer has: a
 * node being removed. The engine runs a removed node's `remove-node` (the delete of its config
 * resource) after every create and update, so after this wait: it is noted, not waited for.
 * Only when every expected node is known by name; another stranger is waited for, as Talos does.
 */
export function isLeaving(expected: ExpectedCluster, name: string): boolean {
    if (expected.clusterName === undefined || expected.nodes.length !== expected.count) return false;
    if (expected.nodes.some((n) => n.name === name)) return false;
    return parseNodeName(expected.clusterName, name) !== undefined;
}

/** The known control planes: undefined when no node's role is known (judge by the Nodes' label). */
export function knownControlPlanes(expected: ExpectedCluster): ExpectedNode[] | undefined {
    if (!expected.nodes.some((n) => n.role !== undefined)) return undefined;
    return expected.nodes.filter((n) => n.role === "controlplane");
}

/** `<ip of name>` where the address is not known, as the log advice writes it. */
export function ipOrPlaceholder(node: { name: string; ip?: string }): string {
    return node.ip ?? `<ip of ${node.name}>`;
}
