// `logs <node>`: which container a node name means. The full container name always works;
// shorter forms are what people type: `cp-01`, `cp-1`, `cp`, `worker-2` (within the cluster).
// Pure, so every form is tested without Docker.

import type { ContainerSummary } from "../docker/api";
import { LABELS, OWNED_FILTER } from "../../model/dockerlabels";

export type Resolved = { container: string } | { error: string };

/** `cp` → `cp-01`, `worker-2` → `worker-02`; anything else unchanged. */
export function normalizeShortName(query: string): string {
    const m = /^(cp|worker)(?:-?0*(\d+))?$/.exec(query);
    if (m === null) return query;
    return `${m[1]}-${String(Number(m[2] ?? "1")).padStart(2, "0")}`;
}

export function resolveNode(query: string, containers: readonly ContainerSummary[]): Resolved {
    const exact = containers.find((c) => c.name === query);
    if (exact !== undefined) return { container: exact.name };
    const short = normalizeShortName(query);
    const matches = containers.filter((c) => {
        const cluster = c.labels[LABELS.cluster];
        return cluster !== undefined && c.name === `${cluster}-${short}`;
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
