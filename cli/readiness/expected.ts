// The nodes the cluster should have, as the caller knows them: always how many; where known,
// each node's name (node containers are named after their nodes), its cluster-network address
// and its role. Talos' checks know every node's address and role (pkg/cluster ClusterInfo);
// what is not known here is judged from what the cluster shows, and said so.

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
