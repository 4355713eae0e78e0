// Whether etcd keeps its quorum when one member leaves (pure). etcd needs a majority of its
// voting members to agree on anything, a member removal included: a cluster of n voters has
// quorum ⌊n/2⌋+1, and etcd itself refuses to remove a voting member when the other voters still
// started would be fewer than the quorum of the cluster after the removal — which refuses the
// last voter's removal too (go.etcd.io/etcd/server/v3@v3.5.13 etcdserver/server.go
// `mayRemoveMember`, etcdserver/api/membership/cluster.go `IsReadyToRemoveVotingMember`).
// Learners do not vote. We refuse before asking, say why, and count only the members that answer
// as healthy, not merely started.

import { formatMemberId, type EtcdMember } from "../../talos/api";

/** A member other than the leaving one, and whether it answers as a healthy member. */
export interface MemberHealth {
    member: EtcdMember;
    /** undefined: healthy; else why not */
    problem?: string;
}

export type RemovalVerdict =
    /** the leaving member is the only voter: etcd, and the cluster, end with it */
    | { kind: "last-member" }
    /** enough healthy voters stay; `unhealthy` lists the ones that do not count */
    | { kind: "keeps-quorum"; voters: number; quorum: number; healthy: number; unhealthy: MemberHealth[] }
    | { kind: "loses-quorum"; voters: number; quorum: number; healthy: number; unhealthy: MemberHealth[] };

/** The quorum of `voters` voting members. */
export function quorumOf(voters: number): number {
    return Math.floor(voters / 2) + 1;
}

/** What removing `leaving` does to etcd, given the health of every other member. */
export function removalVerdict(leaving: EtcdMember, others: readonly MemberHealth[]): RemovalVerdict {
    const voters = others.filter((o) => !o.member.isLearner);
    if (voters.length === 0 && !leaving.isLearner) return { kind: "last-member" };
    const unhealthy = others.filter((o) => o.problem !== undefined);
    const healthy = voters.filter((o) => o.problem === undefined).length;
    const quorum = quorumOf(voters.length);
    const kind = healthy >= quorum ? "keeps-quorum" : "loses-quorum";
    return { kind, voters: voters.length, quorum, healthy, unhealthy };
}

/** "talos-cp-02 (8e1f…): why" for each member, for messages. */
export function describeMembers(members: readonly MemberHealth[]): string {
    return members.map((m) => `${memberLabel(m.member)}${m.problem === undefined ? "" : `: ${m.problem}`}`).join("; ");
}

/** A member as talosctl lists it: hostname and hex ID. */
export function memberLabel(member: EtcdMember): string {
    const name = member.hostname === "" ? "(not started)" : member.hostname;
    return `${name} (member ${formatMemberId(member.id)})`;
}
