// `logs <node>`: which container a node name means. The full container name always works;
// shorter forms are what people type: `cp-01`, `cp-1`, `cp`, `worker-2` (within the cluster).
// Pure, so every form is tested without Docker.

import { LABELS, OWNED_FILTER } from "../../model/dockerlabels";
import { nodeNameIn, nodeSuffix, ROLE_NAME_PARTS } from "../../model/plan";
import { MACHINE_ROLES } from "../../talos/machineconfig";
import type { ContainerSummary } from "../docker/api";

export type Resolved = { container: string } | { error: string };

/** A role's part of a node name, then any index: `cp`, `cp1`, `worker-007`. */
const SHORT_NAME = new RegExp(`^(${MACHINE_ROLES.map((role) => ROLE_NAME_PARTS[role]).join("|")})(?:-?0*(\\d+))?$`);

/** `cp` → `cp-01`, `worker-2` → `worker-02`; anything else unchanged. */
export function normalizeShortName(query: string): string {
    const m = SHORT_NAME.exec(query);
    const role = MACHINE_ROLES.find((r) => ROLE_NAME_PARTS[r] === m?.[1]);
    if (m === null || role === undefined) return query;
    return nodeSuffix(role, Number(m[2] ?? "1"));
}

export function resolveNode(query: string, containers: readonly ContainerSummary[]): Resolved {
    const exact = containers.find((c) => c.name === query);
    if (exact !== undefined) return { container: exact.name };
    const short = normalizeShortName(query);
    const matches = containers.filter((c) => {
        const cluster = c.labels[LABELS.cluster];
        return cluster !== undefined && c.name === nodeNameIn(cluster, short);
    });
    if (matches.length === 1) return { container: matches[0].name };
    const known = containers.map((c) => c.name).sort();
    if (matches.length > 1) {
        return { error: `"${query}" is a node of several clusters (${matches.map((c) => c.name).sort().join(", ")}): give the container name, or --cluster NAME` };
    }
    return {
        error: known.length === 0
            ? `no node "${query}": Docker has no Talos node containers (docker ps --filter label=${OWNED_FILTER})`
            : `no node "${query}"; the node containers are: ${known.join(", ")}`,
    };
}
