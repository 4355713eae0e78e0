// A node leaving the cluster for good, before its container and volumes are removed: a control
// plane first leaves etcd (etcd.ts), then any node is cordoned, drained and its Node object
// deleted (drain.ts), since a control plane runs pods too. A node whose container does not run
// while its cluster does (the command asks Docker first: presence.ts) cannot take part: a control
// plane's member is removed through another control plane, and the Node is deleted without a
// drain. Each step is idempotent: a run after a partial one (a member that left already, a Node
// already gone) finishes the rest.

import type { TalosApi } from "../../talos/api";
import type { Clock } from "../context";
import type { KubeApi } from "../kube/api";
import { Progress } from "../progress";
import { deleteWithoutDrain, drainAndDelete, type DrainOutcome, type DrainPace } from "./drain";
import { leaveEtcd, type LeaveOutcome } from "./etcd";
import { RemovalSession, type RemovalOptions } from "./session";

export const NODE_ROLES = ["controlplane", "worker"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

export interface RemoveNodeOptions extends RemovalOptions {
    role: NodeRole;
    /** kubectl drain's pauses unless a test or bench sets others */
    pace?: DrainPace;
    /** set when Docker says the node's container does not run (its cluster does): why, for messages */
    down?: string;
}

/** The clients a removal uses; the caller opens and closes them. */
export interface RemovalClients {
    /** a control plane's: the Talos API, through the talosconfig's endpoint */
    talos?: TalosApi;
    kube: KubeApi;
}

export interface RemoveNodeOutcome {
    etcd?: LeaveOutcome;
    /** undefined: not drained (the cluster ends with this node) */
    drain?: DrainOutcome;
}

export async function runRemoveNode(
    clients: RemovalClients,
    opts: RemoveNodeOptions,
    out: (line: string) => void,
    clock: Clock,
): Promise<RemoveNodeOutcome> {
    const session = new RemovalSession(opts, new Progress("remove-node", out, clock), clock);
    const who = `${opts.node} (container ${opts.container})`;
    if (opts.down !== undefined) return removeDownNode(clients, opts, opts.down, session);
    switch (opts.role) {
        case "worker": {
            session.progress.note(`removing worker ${who}: cordon, drain, delete its Node`);
            const drain = await drainAndDelete(clients.kube, session, opts.pace);
            session.progress.note(`done: ${opts.container} is out of the cluster; its container can go`);
            return { drain };
        }
        case "controlplane": {
            session.progress.note(`removing control plane ${who}: leave etcd, then cordon, drain, delete its Node`);
            if (clients.talos === undefined) throw new Error("a control plane's removal needs the Talos API");
            const etcd = await leaveEtcd(clients.talos, session);
            if (etcd === "last-member") {
                session.progress.note(`done: nothing to do for ${opts.container}; the cluster goes with it`);
                return { etcd };
            }
            const drain = await drainAndDelete(clients.kube, session, opts.pace);
            session.progress.note(`done: ${opts.container} is out of etcd and of the cluster; its container can go`);
            return { etcd, drain };
        }
        default: {
            const unreachable: never = opts.role;
            throw new Error(`unknown role ${String(unreachable)}`);
        }
    }
}

/** A node that does not run: no drain (no kubelet would confirm its pods gone), no leave. */
async function removeDownNode(
    clients: RemovalClients,
    opts: RemoveNodeOptions,
    why: string,
    session: RemovalSession,
): Promise<RemoveNodeOutcome> {
    const who = `${opts.node} (container ${opts.container})`;
    const noDrain =
        "without a drain (no kubelet would confirm its pods gone; the pod garbage collector deletes them)";
    switch (opts.role) {
        case "worker": {
            session.progress.note(`removing worker ${who}: ${why}, so its Node is deleted ${noDrain}`);
            const drain = await deleteWithoutDrain(clients.kube, session);
            session.progress.note(`done: ${opts.container} is out of the cluster; its container can go`);
            return { drain };
        }
        case "controlplane": {
            session.progress.note(
                `removing control plane ${who}: ${why}, so its etcd member is removed through another control plane ` +
                    `and its Node deleted ${noDrain}`,
            );
            if (clients.talos === undefined) throw new Error("a control plane's removal needs the Talos API");
            const etcd = await leaveEtcd(clients.talos, session, true);
            if (etcd === "last-member") {
                session.progress.note(`done: nothing to do for ${opts.container}; the cluster goes with it`);
                return { etcd };
            }
            const drain = await deleteWithoutDrain(clients.kube, session);
            session.progress.note(`done: ${opts.container} is out of etcd and of the cluster; its container can go`);
            return { etcd, drain };
        }
        default: {
            const unreachable: never = opts.role;
            throw new Error(`unknown role ${String(unreachable)}`);
        }
    }
}
