// Whether a leaving node and its cluster still run, as Docker sees them, asked before any API is:
// the Talos and Kubernetes APIs of a cluster that is down can only be waited for until the
// deadline, and a node whose container is gone has no kubelet to confirm its pods stopped. The
// node container's labels (model/dockerlabels.ts, those Talos' provisioner sets) name its cluster
// and, with talos.type, the cluster's control planes; a container that is gone has no labels, so
// then the cluster named by the kubeconfig is looked at.
//
// Docker's own states: a container "runs" while Docker says State.Running, which is true when it
// is running, paused or restarting (moby@v27.3.1 container/state.go `StateString`: "paused" and
// "restarting" are reported only while Running is set). Created, exited, dead and removing do not.

import { clusterFilter, LABELS, OWNED_FILTER, roleFilter } from "../../model/dockerlabels";
import { DockerError, type DockerApi } from "../docker/api";

/** The states of a container whose processes exist (Docker's State.Running). */
const RUNNING_STATES: ReadonlySet<string> = new Set(["running", "paused", "restarting"]);

export function containerRuns(state: string): boolean {
    return RUNNING_STATES.has(state);
}

/** The whole Docker judgement's bound, at most: Docker answers such questions in milliseconds. */
export const DOCKER_JUDGEMENT_MS = 3_000;

/** A quarter of the command's time at most, so a Docker that does not answer leaves it the rest. */
export function judgementBound(timeoutMs: number): number {
    return Math.max(1, Math.min(DOCKER_JUDGEMENT_MS, Math.floor(timeoutMs / 4)));
}

export type DockerVerdict =
    /** the node's container runs: it is taken out of the cluster through its APIs as it is */
    | { kind: "node-runs" }
    /** neither the node nor any control plane of its cluster runs */
    | { kind: "cluster-down"; why: string; cluster?: string }
    /** the node does not run, a control plane of its cluster does (`controlPlanes`: their names) */
    | { kind: "node-down"; why: string; cluster?: string; controlPlanes: string[] }
    /** Docker did not answer, or not usefully: `reason` says why */
    | { kind: "unknown"; reason: string };

/** The node's container as Docker has it; undefined when it has none of that name. */
export interface NodeContainerState {
    state: string;
    labels: Record<string, string>;
}

/** Why a node that does not run cannot answer, for messages: "its container is exited". */
export function describeNodeState(node: NodeContainerState | undefined): string {
    return node === undefined ? "it has no container" : `its container is ${node.state}`;
}

/**
 * The verdict (pure), from the node's container and the control-plane containers of its cluster
 * (of every Talos cluster when its name is unknown).
 */
export function judge(
    node: NodeContainerState | undefined,
    cluster: string | undefined,
    controlPlanes: readonly { name: string; state: string }[],
): DockerVerdict {
    if (node !== undefined && containerRuns(node.state)) return { kind: "node-runs" };
    const why = describeNodeState(node);
    const running = controlPlanes.filter((c) => containerRuns(c.state)).map((c) => c.name).sort();
    if (running.length === 0) return { kind: "cluster-down", why, cluster };
    return { kind: "node-down", why, cluster, controlPlanes: running };
}

/**
 * Asks Docker about the node's container, then (only when it does not run) about its cluster's
 * control planes; both calls within `boundMs` of real time together. `clusterHint` names the
 * cluster when the container is gone.
 */
export async function judgeFromDocker(
    docker: DockerApi,
    container: string,
    clusterHint: string | undefined,
    boundMs: number,
): Promise<DockerVerdict> {
    const started = Date.now();
    try {
        // The first call gets the whole bound, the second what is left of it.
        const node = await inspectNode(docker, container, boundMs);
        if (node !== undefined && containerRuns(node.state)) return { kind: "node-runs" };
        const cluster = node?.labels[LABELS.cluster] ?? clusterHint;
        const filter = cluster === undefined ? OWNED_FILTER : clusterFilter(cluster);
        const left = Math.max(1, boundMs - (Date.now() - started));
        const controlPlanes = await docker.listContainers([filter, roleFilter("controlplane")], left);
        return judge(node, cluster, controlPlanes);
    } catch (err) {
        if (err instanceof DockerError) return { kind: "unknown", reason: err.message };
        throw err;
    }
}

async function inspectNode(
    docker: DockerApi,
    container: string,
    timeoutMs: number,
): Promise<NodeContainerState | undefined> {
    try {
        const details = await docker.inspectContainer(container, timeoutMs);
        return { state: details.status, labels: details.labels };
    } catch (err) {
        if (err instanceof DockerError && err.kind === "notfound") return undefined;
        throw err;
    }
}
