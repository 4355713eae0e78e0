// How many nodes status judges Kubernetes against, and where that number comes from: the nodes
// the stack declares, else the node containers Docker has, else the Node objects the API lists.
// The last cannot notice a node that never registered, so the report says which it was.

import type { Node } from "../kube/api";

export type ExpectedFrom = "stack" | "containers" | "api";

export interface ExpectedNodes {
    count: number;
    from: ExpectedFrom;
}

/** What each source is, as the report names it. */
export const EXPECTED_FROM: Readonly<Record<ExpectedFrom, string>> = {
    stack: "the nodes the stack declares",
    containers: "the node containers Docker has",
    api: "the Node objects the API lists (no stack outputs, no node containers)",
};

/** `listed` is what the API answered for nodes: the list, or why there is none. */
export function expectedNodes(declared: number, containers: number, listed: Node[] | string | undefined): ExpectedNodes {
    if (declared > 0) return { count: declared, from: "stack" };
    if (containers > 0) return { count: containers, from: "containers" };
    return { count: Array.isArray(listed) ? listed.length : 0, from: "api" };
}
