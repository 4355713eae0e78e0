// etcd membership behind the fake apid (fake-talos.ts), as machined answers the etcd calls
// (talos@v1.8.3 and v1.13.9:internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go
// EtcdMemberList, EtcdLeaveCluster, EtcdRemoveMemberByID; internal/pkg/etcd/etcd.go LeaveCluster):
// only a control plane answers them (Unimplemented "… is only available on control plane
// nodes"); a member list asked with query_local comes from the node's own etcd, so a node whose
// etcd is unhealthy or stopped (it left) cannot answer it; a leave removes the node's own member
// (matched by its peer URL's address); a removal by ID answers NotFound for an unknown member;
// and etcd's strict reconfiguration check refuses a removal that would leave fewer started
// voters than the quorum after it (go.etcd.io/etcd/server/v3@v3.5.13 etcdserver/api/membership/
// cluster.go IsReadyToRemoveVotingMember). Errors are thrown as gRPC statuses.

import * as grpc from "@grpc/grpc-js";

import type { EtcdMemberMessage } from "../../talos/api/messages";

/** One etcd member, as the cluster lists it. */
export interface FakeEtcdMember {
    /** decimal uint64 */
    id: string;
    hostname: string;
    /** the node's address: its peer URL is https://<ip>:2380 */
    ip: string;
    isLearner?: boolean;
}

/** What a node's etcd side can show. */
export interface FakeEtcdNode {
    /** a control plane (runs etcd and answers the etcd calls) */
    controlPlane?: boolean;
    /** fault: its etcd does not answer (query_local fails with this reason) */
    etcdUnhealthy?: string;
    /** fault: EtcdLeaveCluster fails with this reason (machined's "failed to leave cluster: …") */
    leaveRefusal?: string;
}

/** A member as machined lists it. */
export function memberMessage(m: FakeEtcdMember): EtcdMemberMessage {
    return {
        id: m.id,
        hostname: m.hostname,
        peer_urls: [`https://${m.ip}:2380`],
        client_urls: [`https://${m.ip}:2379`],
        is_learner: m.isLearner ?? false,
    };
}

/** An etcd cluster of control planes, as the test states it: every member on its node's address. */
export class FakeEtcd {
    constructor(public members: FakeEtcdMember[]) {}

    /** EtcdMemberList on `node` (the node at `ip`). */
    memberList(node: FakeEtcdNode, ip: string, queryLocal: boolean, started: (m: FakeEtcdMember) => boolean): object {
        controlPlaneOnly(node, "member list");
        if (queryLocal) {
            const own = this.members.find((m) => m.ip === ip);
            if (own === undefined) throw status(grpc.status.UNAVAILABLE, `dial tcp 127.0.0.1:2379: connect: connection refused`);
            if (node.etcdUnhealthy !== undefined) throw status(grpc.status.UNAVAILABLE, node.etcdUnhealthy);
        } else if (!this.hasQuorum(started)) {
            throw status(grpc.status.UNAVAILABLE, "etcdserver: no leader");
        }
        return { members: this.members.map(memberMessage) };
    }

    /** EtcdLeaveCluster on the node at `ip`. */
    leave(node: FakeEtcdNode, ip: string, started: (m: FakeEtcdMember) => boolean): object {
        controlPlaneOnly(node, "etcd leave");
        if (node.leaveRefusal !== undefined) throw status(grpc.status.UNKNOWN, `failed to leave cluster: ${node.leaveRefusal}`);
        const own = this.members.find((m) => m.ip === ip);
        if (own === undefined) throw status(grpc.status.UNKNOWN, "failed to leave cluster: etcdserver: member not found");
        this.remove(own, started, "failed to leave cluster: ");
        return {};
    }

    /** EtcdRemoveMemberByID through the control plane `node`. */
    removeById(node: FakeEtcdNode, id: string, started: (m: FakeEtcdMember) => boolean): object {
        controlPlaneOnly(node, "etcd remove member");
        const member = this.members.find((m) => m.id === id);
        if (member === undefined) throw status(grpc.status.NOT_FOUND, `failed to remove member ${id}: etcdserver: member not found`);
        this.remove(member, started, "failed to remove member: ");
        return {};
    }

    private remove(member: FakeEtcdMember, started: (m: FakeEtcdMember) => boolean, prefix: string): void {
        const voters = this.members.filter((m) => m !== member && !(m.isLearner ?? false));
        if (!(member.isLearner ?? false) && voters.filter(started).length < Math.floor(voters.length / 2) + 1) {
            throw status(grpc.status.UNKNOWN, `${prefix}etcdserver: re-configuration failed due to not enough started members`);
        }
        this.members = this.members.filter((m) => m !== member);
    }

    private hasQuorum(started: (m: FakeEtcdMember) => boolean): boolean {
        const voters = this.members.filter((m) => !(m.isLearner ?? false));
        return voters.filter(started).length >= Math.floor(voters.length / 2) + 1;
    }
}

function controlPlaneOnly(node: FakeEtcdNode, api: string): void {
    if (node.controlPlane !== true) throw status(grpc.status.UNIMPLEMENTED, `${api} is only available on control plane nodes`);
}

function status(code: grpc.status, details: string): Partial<grpc.ServiceError> {
    return { code, details };
}
