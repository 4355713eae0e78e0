// etcd membership as the Talos API shows it (talos@v1.8.3 and v1.13.9:api/machine/machine.proto
// EtcdMember; machined fills it from etcd's MemberList in
// internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go `EtcdMemberList`), and the
// member ID forms: etcd's IDs are unsigned 64-bit, carried as decimal strings here (they do not
// fit a JavaScript number) and printed as talosctl prints them, 16 hex digits
// (talos@v1.8.3:pkg/machinery/resources/etcd/etcd.go `FormatMemberID`).

import type { EtcdMemberMessage } from "./messages";

/** One etcd member. */
export interface EtcdMember {
    /** the member ID, a decimal string of an unsigned 64-bit number */
    id: string;
    /** the member's name: Talos names it after the node's hostname; empty while it has not started */
    hostname: string;
    peerUrls: string[];
    clientUrls: string[];
    /** a learner does not vote and counts for no quorum */
    isLearner: boolean;
}

const UINT64_MAX = (1n << 64n) - 1n;

/** The ID as talosctl prints it (`etcd members`, `etcd remove-member`): 16 hex digits. */
export function formatMemberId(id: string): string {
    return BigInt(id).toString(16).padStart(16, "0");
}

/** Whether `id` is a member ID this client can send: a decimal unsigned 64-bit number, not 0 (etcd never issues 0). */
export function isMemberId(id: string): boolean {
    if (!/^[0-9]{1,20}$/.test(id)) return false;
    const value = BigInt(id);
    return value > 0n && value <= UINT64_MAX;
}

/** A member from the wire message. */
export function memberOf(message: EtcdMemberMessage): EtcdMember {
    return {
        id: message.id,
        hostname: message.hostname,
        peerUrls: message.peer_urls,
        clientUrls: message.client_urls,
        isLearner: message.is_learner,
    };
}

/**
 * The hosts of the member's peer URLs (`https://172.30.0.3:2380` → 172.30.0.3): a Talos node's
 * member advertises its node address there, which is how Talos' own checks match members to
 * nodes (talos@v1.8.3:pkg/cluster/check/etcd.go `EtcdControlPlaneNodesAssertion`).
 */
export function peerHosts(member: EtcdMember): string[] {
    return member.peerUrls.flatMap((raw) => {
        try {
            return [new URL(raw).hostname.replace(/^\[(.*)\]$/, "$1")];
        } catch {
            return [];
        }
    });
}
