// The Talos side of Talos' default cluster checks, judged from one TalosObservation (pure):
// talos@v1.8.3 and v1.13.9:pkg/cluster/check/default.go `PreBootSequenceChecks`, in its order —
// etcd healthy on every control plane (service.go `ServiceHealthAssertion`), etcd members
// consistent across the control planes and all of them control planes (etcd.go), apid answering
// for every node through the endpoint (apid.go), the kubelet healthy on every control plane, and
// every node through its boot sequence (events.go `AllNodesBootedAssertion`: stage running; we
// also want the stage's conditions met, the machine status' `ready`). Talos' memory-size and
// disk-size checks skip container nodes (nodes.go `getNonContainerNodes`) and are left out; so is
// its diagnostics check, which only warns. The checks are the same in every minor v1.8 – v1.13.

import { RUNNING_STAGE, type MachineStatus } from "../../talos/api/runtime";
import { ETCD_SERVICE, KUBELET_SERVICE } from "./components";
import { ipOrPlaceholder, type ExpectedNode } from "./expected";
import { clip, ok, pending, skipped, TALOS_CHECK_IDS, waiting, type CheckResult, type Problem } from "./result";
import { serviceNotHealthy } from "./services";
import type { EtcdMemberView, Read, TalosNodeReads, TalosObservation } from "./talosread";


export type TalosCheckId = (typeof TALOS_CHECK_IDS)[number];

/** What each waits for, in the words of Talos' conditions. */
export const TALOS_TITLES: Readonly<Record<TalosCheckId, string>> = {
    "etcd-healthy": "etcd to be healthy",
    "etcd-consistent": "etcd members to be consistent across nodes",
    "etcd-control-planes": "etcd members to be control plane nodes",
    "apid-ready": "apid to be ready",
    "kubelet-healthy": "kubelet to be healthy",
    "nodes-booted": "all nodes to finish boot sequence",
};

/** Every Talos-side check skipped for one reason (no talosconfig, no addresses). */
export function talosChecksSkipped(why: string): CheckResult[] {
    return TALOS_CHECK_IDS.map((id) => skipped(id, TALOS_TITLES[id], why));
}

/**
 * The Talos-side checks. `controlPlanes` are the known control planes (undefined: the roles are
 * not known, and the control-plane checks are skipped).
 */
/** `leaving`: a node being removed (expected.ts isLeaving), whose etcd member is not waited for. */
export function judgeTalos(
    obs: TalosObservation,
    controlPlanes: readonly ExpectedNode[] | undefined,
    leaving: (name: string) => boolean = () => false,
): CheckResult[] {
    const cpNames = controlPlanes === undefined ? undefined : new Set(controlPlanes.map((n) => n.name));
    const cps = obs.nodes.filter((n) => cpNames?.has(n.node.name) === true);
    const unknownRoles = "the control planes are not known (wait --control-planes names them)";
    return [
        cpNames === undefined
            ? skipped("etcd-healthy", TALOS_TITLES["etcd-healthy"], unknownRoles)
            : serviceCheck("etcd-healthy", ETCD_SERVICE, cps),
        ...etcdChecks(cps, cpNames === undefined ? unknownRoles : undefined, leaving),
        apidCheck(obs),
        cpNames === undefined
            ? skipped("kubelet-healthy", TALOS_TITLES["kubelet-healthy"], unknownRoles)
            : serviceCheck("kubelet-healthy", KUBELET_SERVICE, cps),
        bootedCheck(obs),
    ];
}

function talosctl(node: TalosNodeReads["node"], ...args: string[]): string {
    return `talosctl -n ${ipOrPlaceholder(node)} ${args.join(" ")}`;
}

function at(node: TalosNodeReads["node"]): string {
    return `${node.name} (${node.ip})`;
}

/** ServiceHealthAssertion: the service Running and healthy on every control plane. */
function serviceCheck(id: "etcd-healthy" | "kubelet-healthy", service: string, cps: readonly TalosNodeReads[]): CheckResult {
    const title = TALOS_TITLES[id];
    if (cps.length === 0) return pending(id, title, "no control plane address is known");
    const problems: Problem[] = [];
    let unread = 0;
    for (const n of cps) {
        const read = [talosctl(n.node, "service", service), talosctl(n.node, "logs", service)];
        if (n.services === undefined) {
            unread++;
            continue;
        }
        if (!n.services.ok) {
            problems.push({
                text: `the Talos services of ${at(n.node)} could not be listed: ${n.services.reason}`,
                node: n.node.name,
                read: [`docker logs ${n.node.name}`],
            });
            continue;
        }
        const why = serviceNotHealthy(n.services.value, service);
        if (why !== undefined) problems.push({ text: `${at(n.node)}: ${clip(why)}`, node: n.node.name, read });
    }
    if (problems.length > 0) return waiting(id, title, problems);
    if (unread > 0) return pending(id, title, "not read");
    return ok(id, title, `${service} healthy on ${cps.length}/${cps.length} control planes`);
}

/** EtcdConsistentAssertion and EtcdControlPlaneNodesAssertion, from the control planes' member lists. */
function etcdChecks(
    cps: readonly TalosNodeReads[],
    rolesUnknown: string | undefined,
    leaving: (name: string) => boolean,
): CheckResult[] {
    const consistentTitle = TALOS_TITLES["etcd-consistent"];
    const membersTitle = TALOS_TITLES["etcd-control-planes"];
    if (rolesUnknown !== undefined) {
        return [skipped("etcd-consistent", consistentTitle, rolesUnknown), skipped("etcd-control-planes", membersTitle, rolesUnknown)];
    }
    if (cps.length === 0) {
        const why = "no control plane address is known";
        return [pending("etcd-consistent", consistentTitle, why), pending("etcd-control-planes", membersTitle, why)];
    }
    const lists: { node: TalosNodeReads["node"]; members: EtcdMemberView[] }[] = [];
    const problems: Problem[] = [];
    for (const n of cps) {
        const read: Read<EtcdMemberView[]> | undefined = n.etcdMembers;
        if (read === undefined) continue;
        if (read.ok) lists.push({ node: n.node, members: read.value });
        else {
            problems.push({
                text: `the etcd members of ${at(n.node)} could not be listed: ${read.reason}`,
                node: n.node.name,
                read: [talosctl(n.node, "logs", ETCD_SERVICE)],
            });
        }
    }
    if (problems.length > 0) {
        const notAll = pending("etcd-control-planes", membersTitle, "the member lists are not all read");
        return [waiting("etcd-consistent", consistentTitle, problems), notAll];
    }
    if (lists.length < cps.length) {
        return [pending("etcd-consistent", consistentTitle, "not read"), pending("etcd-control-planes", membersTitle, "not read")];
    }
    return [judgeEtcdConsistent(lists), judgeEtcdMembersAreControlPlanes(lists[0], cps.map((n) => n.node), leaving)];
}

/** A member's name; one that has not started yet has none, only its ID. */
function memberName(m: EtcdMemberView): string {
    return m.hostname === "" ? m.id : m.hostname;
}

/** A member as Talos compares them: hostname, ID and whether it is a learner. */
function memberKey(m: EtcdMemberView): string {
    return `${m.hostname}/${m.id}/${m.isLearner ? "learner" : "voter"}`;
}

/**
 * Every control plane lists the same members (talos@v1.8.3:pkg/cluster/check/etcd.go
 * `EtcdConsistentAssertion`: sorted by node, the first list is the reference). Pure, so it can
 * be given the lists however they were read.
 */
export function judgeEtcdConsistent(lists: readonly { node: ExpectedNode; members: readonly EtcdMemberView[] }[]): CheckResult {
    const id = "etcd-consistent";
    const title = TALOS_TITLES[id];
    if (lists.length === 0) return pending(id, title, "no member list read");
    const sorted = [...lists].sort((a, b) => a.node.name.localeCompare(b.node.name));
    const reference = new Set(sorted[0].members.map(memberKey));
    const names = (members: readonly EtcdMemberView[]) => `[${members.map(memberName).join(" ")}]`;
    const problems: Problem[] = [];
    for (const { node, members } of sorted.slice(1)) {
        const same = members.length === reference.size && members.every((m) => reference.has(memberKey(m)));
        if (same) continue;
        problems.push({
            text: `${node.name} lists etcd members ${names(members)}, ${sorted[0].node.name} lists ${names(sorted[0].members)}`,
            node: node.name,
            read: [`talosctl -n ${ipOrPlaceholder(node)} etcd members`, `talosctl -n ${ipOrPlaceholder(node)} logs ${ETCD_SERVICE}`],
        });
    }
    if (problems.length > 0) return waiting(id, title, problems);
    return ok(id, title, `etcd members consistent (${reference.size} on ${lists.length} control plane${lists.length === 1 ? "" : "s"})`);
}

/**
 * Every member's peer address is a control plane's (talos@v1.8.3:pkg/cluster/check/etcd.go
 * `EtcdControlPlaneNodesAssertion`: the peer URLs' hosts a subset of the control planes' IPs,
 * from the first list). A member left behind by a control plane removed without leaving etcd
 * fails it.
 */
export function judgeEtcdMembersAreControlPlanes(
    list: { node: ExpectedNode; members: readonly EtcdMemberView[] },
    controlPlanes: readonly ExpectedNode[],
    leaving: (name: string) => boolean = () => false,
): CheckResult {
    const id = "etcd-control-planes";
    const title = TALOS_TITLES[id];
    const cpIps = new Set(controlPlanes.map((n) => n.ip).filter((ip): ip is string => ip !== undefined));
    const outside = list.members.filter((m) => peerHosts(m).some((host) => !cpIps.has(host)));
    const removed = outside.filter((m) => m.hostname !== "" && leaving(m.hostname));
    const strangers = outside.filter((m) => !removed.includes(m));
    if (strangers.length === 0) {
        const note = removed.length === 0 ? "" : `; leaving, removed after this wait: ${removed.map(memberName).join(", ")}`;
        return ok(id, title, `etcd members are the control planes${note}`);
    }
    return waiting(id, title, strangers.map((m) => ({
        text: `etcd member ${memberName(m)} (${peerHosts(m).join(", ")}) is not a control plane of this cluster`,
        read: [
            `talosctl -n ${ipOrPlaceholder(list.node)} etcd members`,
            `talosctl -n ${ipOrPlaceholder(list.node)} etcd remove-member <id>`,
        ],
    })));
}

/** The hosts of a member's peer URLs (`https://172.30.0.3:2380` → 172.30.0.3). */
function peerHosts(m: EtcdMemberView): string[] {
    return m.peerUrls.flatMap((raw) => {
        try {
            return [new URL(raw).hostname.replace(/^\[(.*)\]$/, "$1")];
        } catch {
            return [];
        }
    });
}

/** ApidReadyAssertion: Version answers for every node through the endpoint. */
function apidCheck(obs: TalosObservation): CheckResult {
    const id = "apid-ready";
    const title = TALOS_TITLES[id];
    const problems: Problem[] = [];
    let unread = 0;
    for (const n of obs.nodes) {
        if (n.version === undefined) {
            unread++;
            continue;
        }
        if (n.version.ok) continue;
        problems.push({
            text: `apid of ${at(n.node)} does not answer through ${obs.endpoint}: ${n.version.reason}`,
            node: n.node.name,
            read: [`docker logs ${n.node.name}`, talosctl(n.node, "dmesg")],
        });
    }
    problems.push(...unaddressed(obs));
    if (problems.length > 0) return waiting(id, title, problems);
    if (unread > 0 || obs.nodes.length === 0) return pending(id, title, obs.nodes.length === 0 ? "no node address is known" : "not read");
    return ok(id, title, `apid ${obs.nodes.length}/${obs.nodes.length}`);
}

function unaddressed(obs: TalosObservation): Problem[] {
    return obs.unaddressed.map((name) => ({
        text: `${name}: its address is not known, so Talos cannot be asked about it (wait --containers ${name}=IP)`,
        node: name,
        read: [`docker inspect ${name}`],
    }));
}

/** AllNodesBootedAssertion: every node's machine stage is running (and its conditions met). */
function bootedCheck(obs: TalosObservation): CheckResult {
    const id = "nodes-booted";
    const title = TALOS_TITLES[id];
    const problems: Problem[] = [];
    let unread = 0;
    for (const n of obs.nodes) {
        if (n.machine === undefined) {
            unread++;
            continue;
        }
        const read = [`docker logs ${n.node.name}`, talosctl(n.node, "dmesg")];
        if (!n.machine.ok) {
            problems.push({ text: `the machine status of ${at(n.node)} could not be read: ${n.machine.reason}`, node: n.node.name, read });
            continue;
        }
        const why = notBooted(n.machine.value);
        if (why !== undefined) problems.push({ text: `${at(n.node)} ${why}`, node: n.node.name, read });
    }
    problems.push(...unaddressed(obs));
    if (problems.length > 0) return waiting(id, title, problems);
    if (unread > 0 || obs.nodes.length === 0) return pending(id, title, obs.nodes.length === 0 ? "no node address is known" : "not read");
    return ok(id, title, `${obs.nodes.length}/${obs.nodes.length} nodes booted`);
}

/** Why a machine status is not that of a booted node, or undefined when it is. */
export function notBooted(status: MachineStatus): string | undefined {
    const unmet = status.unmetConditions.map((c) => (c.reason === "" ? c.name : `${c.name}: ${c.reason}`)).join("; ");
    if (status.stage !== RUNNING_STAGE) return `is ${status.stage}${unmet === "" ? "" : ` (${clip(unmet, 160)})`}`;
    if (!status.ready) return `is running, not ready${unmet === "" ? "" : ` (${clip(unmet, 160)})`}`;
    return undefined;
}
