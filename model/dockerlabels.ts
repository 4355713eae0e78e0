// The Docker labels of a cluster's network, volumes and containers: those Talos' own provisioner
// sets (talos@v1.8.3:pkg/provision/providers/docker/network.go and node.go), so talosctl and our
// CLI find a cluster by them, with or without Pulumi. The program writes them, the CLI reads them.
import type { MachineRole } from "../talos/machineconfig";

/** The label keys. */
export const LABELS = { owned: "talos.owned", cluster: "talos.cluster.name", role: "talos.type" } as const;

/** The labels of everything a cluster owns. */
export function clusterLabels(clusterName: string): Record<string, string> {
    return { [LABELS.owned]: "true", [LABELS.cluster]: clusterName };
}

/** A node container's labels: its cluster's, and its role (Talos' machine type name). */
export function nodeLabels(clusterName: string, role: MachineRole): Record<string, string> {
    return { ...clusterLabels(clusterName), [LABELS.role]: role };
}

/** A Docker `label` filter for whatever Talos' provisioner owns, of any cluster. */
export const OWNED_FILTER = `${LABELS.owned}=true`;

/** A Docker `label` filter for one cluster's objects. */
export function clusterFilter(clusterName: string): string {
    return `${LABELS.cluster}=${clusterName}`;
}

/** A Docker `label` filter for the node containers of one role (Talos' machine type name). */
export function roleFilter(role: MachineRole): string {
    return `${LABELS.role}=${role}`;
}

/** The docker provider takes labels as a list of {label, value}; sorted so diffs stay stable. */
export function toDockerLabels(labels: Record<string, string>): { label: string; value: string }[] {
    return Object.keys(labels).sort().map((label) => ({ label, value: labels[label] }));
}
