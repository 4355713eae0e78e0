// The Talos side of readiness: what is read of each node through the talosconfig's endpoint, as
// Talos' checks read it (talosctl -n: apid proxies to the node's cluster-network address) —
// Version for apid, ServiceList for etcd and the kubelet on the control planes, the machine
// status for the boot sequence, and each control plane's etcd member list. Each read is bounded
// and settles on its own, so one node that does not answer leaves the others' answers.

import type { MachineStatus, ServiceInfo, TalosApi, VersionMessage } from "../../talos/api";
import { isCredentialFailure, TalosApiError } from "../../talos/api";
import type { ExpectedNode } from "./expected";

/**
 * One etcd member as a control plane lists it: what Talos' consistency checks compare
 * (talos@v1.8.3:pkg/cluster/check/etcd.go: hostname, ID and learner flag; the peer URLs' hosts).
 */
export interface EtcdMemberView {
    /** the member ID: a decimal string of an unsigned 64-bit number */
    id: string;
    hostname: string;
    peerUrls: string[];
    isLearner: boolean;
}

/** The calls readiness makes; `node` is the cluster-network address, reached through the endpoint. */
export interface TalosReader {
    readonly endpoint: string;
    version(timeoutMs: number, node: string): Promise<VersionMessage>;
    serviceList(timeoutMs: number, node: string): Promise<ServiceInfo[]>;
    machineStatus(timeoutMs: number, node: string): Promise<MachineStatus>;
    /** `node`'s etcd member list (`talosctl -n <node> etcd members`) */
    etcdMemberList(timeoutMs: number, node: string): Promise<EtcdMemberView[]>;
}

/** The reader over a Talos API client (its etcd members carry all EtcdMemberView asks). */
export function talosReader(api: TalosApi): TalosReader {
    return {
        endpoint: api.endpoint,
        version: (timeoutMs, node) => api.version(timeoutMs, node),
        serviceList: (timeoutMs, node) => api.serviceList(timeoutMs, node),
        machineStatus: (timeoutMs, node) => api.machineStatus(timeoutMs, node),
        etcdMemberList: (timeoutMs, node) => api.etcdMemberList(timeoutMs, { node }),
    };
}

/** A read's outcome: the value, or why not (fatal: the credentials fail, which waiting cannot help). */
export type Read<T> = { ok: true; value: T } | { ok: false; reason: string; message: string; fatal: boolean };

/** A node Talos' checks can reach: its address is known. */
export type ReachableNode = ExpectedNode & { ip: string };

export interface TalosNodeReads {
    node: ReachableNode;
    /** the Talos version apid reports for it */
    version?: Read<string>;
    services?: Read<ServiceInfo[]>;
    machine?: Read<MachineStatus>;
    etcdMembers?: Read<EtcdMemberView[]>;
}

export interface TalosObservation {
    endpoint: string;
    nodes: TalosNodeReads[];
    /** nodes whose address is not known: nothing can be asked of them */
    unaddressed: string[];
}

/** Which reads to make (a check that has passed needs its reads no more). */
export interface TalosReadSet {
    version: boolean;
    /** on the control planes */
    services: boolean;
    machine: boolean;
    /** on the control planes */
    etcdMembers: boolean;
}

export const ALL_TALOS_READS: TalosReadSet = { version: true, services: true, machine: true, etcdMembers: true };

export async function observeTalos(
    reader: TalosReader,
    nodes: readonly ExpectedNode[],
    timeoutMs: number,
    reads: TalosReadSet = ALL_TALOS_READS,
): Promise<TalosObservation> {
    const reachable = nodes.filter((n): n is ReachableNode => n.ip !== undefined);
    const observed = await Promise.all(reachable.map(async (node): Promise<TalosNodeReads> => {
        const controlPlane = node.role === "controlplane";
        const [version, services, machine, etcdMembers] = await Promise.all([
            reads.version ? read(reader.version(timeoutMs, node.ip).then((v) => v.version?.tag ?? "unknown")) : undefined,
            reads.services && controlPlane ? read(reader.serviceList(timeoutMs, node.ip)) : undefined,
            reads.machine ? read(reader.machineStatus(timeoutMs, node.ip)) : undefined,
            reads.etcdMembers && controlPlane ? read(reader.etcdMemberList(timeoutMs, node.ip)) : undefined,
        ]);
        return { node, version, services, machine, etcdMembers };
    }));
    return {
        endpoint: reader.endpoint,
        nodes: observed,
        unaddressed: nodes.filter((n) => n.ip === undefined).map((n) => n.name),
    };
}

async function read<T>(call: Promise<T>): Promise<Read<T>> {
    try {
        return { ok: true, value: await call };
    } catch (err) {
        if (err instanceof TalosApiError) return { ok: false, reason: err.reason, message: err.message, fatal: isCredentialFailure(err) };
        const message = err instanceof Error ? err.message : String(err);
        return { ok: false, reason: message, message, fatal: false };
    }
}

/** The first read that failed in a way waiting cannot fix, if any. */
export function fatalRead(obs: TalosObservation): string | undefined {
    for (const n of obs.nodes) {
        for (const r of [n.version, n.services, n.machine, n.etcdMembers]) {
            if (r !== undefined && !r.ok && r.fatal) return r.message;
        }
    }
    return undefined;
}
