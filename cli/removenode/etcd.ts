// A leaving control plane's etcd member, taken out of etcd before its container goes, as talosctl
// does it (talos@v1.8.3 and v1.13.9:cmd/talosctl/cmd/talos/etcd.go): `etcd leave` on the node
// itself (EtcdLeaveCluster with `nodes` metadata: machined removes its own member, stops etcd and
// wipes its data), or, when the node does not answer (at once when its container does not run:
// presence.ts), `etcd remove-member <id>` through another control plane (EtcdRemoveMemberByID;
// talosctl: "Use this command only if … there is no access to the node"). Container nodes never leave by themselves: a Talos container's shutdown skips
// the leave (talos@v1.8.3:internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_sequencer.go).
//
// First the members are read (EtcdMemberList through the talosconfig's endpoint, as Talos' own
// checks read them: pkg/cluster/check/etcd.go), and every other member is asked for its own view
// (EtcdMemberList with query_local, as `talosctl etcd members` asks): a member that answers with
// the same members is healthy (EtcdConsistentAssertion's rule). A removal that would leave fewer
// healthy voters than the quorum of those left is refused before anything changes (quorum.ts).

import { formatMemberId, peerHosts, TalosApiError, type EtcdMember, type TalosApi } from "../../talos/api";
import { Backoff, DEFAULT_BACKOFF } from "../backoff";
import { CliError, ExitCode } from "../exitcodes";
import { MIN_ATTEMPT_MS } from "../retry";
import { describeMembers, memberLabel, removalVerdict, type MemberHealth } from "./quorum";
import type { RemovalSession } from "./session";

/**
 * left: the node left by itself; removed: another control plane removed its member; not-a-member:
 * it had left already; last-member: it is etcd's only voter, which only the end of the whole
 * cluster removes, so nothing was done.
 */
export type LeaveOutcome = "left" | "removed" | "not-a-member" | "last-member";

/** At most this much of the time left is kept from the leave for the removal through another member. */
const LEAVE_FALLBACK_RESERVE_MS = 60_000;

/**
 * The leave's bound: machined retries etcd's refusals for up to 5 minutes itself, so the call gets
 * the time left but a reserve (a quarter, at most a minute), and a node that hangs still leaves
 * time to remove its member through another control plane.
 */
export function leaveCallTimeout(remainingMs: number): number {
    const reserve = Math.min(remainingMs / 4, LEAVE_FALLBACK_RESERVE_MS);
    return Math.max(MIN_ATTEMPT_MS, Math.floor(remainingMs - reserve));
}

/** Tries per member when asking for its own view, while it cannot be reached. */
const HEALTH_ATTEMPTS = 3;

/**
 * Takes the node's member out of etcd. `nodeDown`: its container does not run, so it is not asked
 * to leave; its member is removed through another control plane at once.
 */
export async function leaveEtcd(api: TalosApi, session: RemovalSession, nodeDown = false): Promise<LeaveOutcome> {
    const { progress, node } = session;
    const members = await readMembers(api, session);
    const leaving = memberOf(members, session);
    if (leaving === undefined) {
        progress.note(`${node} is not an etcd member (of ${members.length}): it has left etcd already`);
        return "not-a-member";
    }
    progress.note(`${node} is etcd member ${memberLabel(leaving)}, one of ${members.length}`);

    const others = await Promise.all(
        members.filter((m) => m.id !== leaving.id).map((m) => memberHealth(api, session, m, members)),
    );
    const verdict = removalVerdict(leaving, others);
    switch (verdict.kind) {
        case "last-member":
            progress.note(
                `warning: ${node} is etcd's only voting member, so it neither leaves etcd nor is drained: the cluster ends ` +
                    "with it (its last control plane goes only when the whole stack is destroyed)",
            );
            return "last-member";
        case "loses-quorum":
            throw new CliError(
                ExitCode.UNHEALTHY,
                `removing ${node} from etcd would leave ${verdict.voters} voting member${verdict.voters === 1 ? "" : "s"} of which ` +
                    `${verdict.healthy} answer${verdict.healthy === 1 ? "s" : ""} as healthy, fewer than the ${verdict.quorum} a ` +
                    `quorum needs (${describeMembers(verdict.unhealthy)}). Nothing was changed: ${node} is still a member. ` +
                    "Bring the other members back (docker start <container>; talosctl -n <ip> service etcd) and run " +
                    "`pulumi up` again.",
            );
        case "keeps-quorum":
            if (verdict.unhealthy.length > 0) {
                progress.note(`warning: not healthy, and not counted: ${describeMembers(verdict.unhealthy)}`);
            }
            progress.note(
                `etcd keeps its quorum without ${node}: ${verdict.healthy} of ${verdict.voters} voting members ` +
                    `healthy, ${verdict.quorum} needed`,
            );
            break;
        default: {
            const unreachable: never = verdict;
            throw new Error(`unknown verdict ${JSON.stringify(unreachable)}`);
        }
    }
    // A healthy voter, to remove the member through and to read the members back from.
    const through = others.find((o) => o.problem === undefined && !o.member.isLearner);
    const throughHost = through === undefined ? undefined : peerHosts(through.member)[0];
    if (throughHost === undefined) throw new Error("a quorum was counted without a healthy voting member");

    const outcome = nodeDown
        ? await removeThrough(api, session, leaving, throughHost)
        : await leaveOrRemove(api, session, leaving, throughHost);
    await confirmGone(api, session, leaving, throughHost);
    return outcome;
}

async function readMembers(api: TalosApi, session: RemovalSession): Promise<EtcdMember[]> {
    return session.talos(
        `the etcd members from ${api.endpoint}`,
        `reading the etcd members through ${api.endpoint}`,
        (t) => api.etcdMemberList(t),
    );
}

/** The member whose peer URL is the node's address, else the one named after its container. */
function memberOf(members: readonly EtcdMember[], session: RemovalSession): EtcdMember | undefined {
    return members.find((m) => peerHosts(m).includes(session.node)) ?? members.find((m) => m.hostname === session.container);
}

/** Asks `member`'s node for its own member list; healthy when it answers with the same members. */
async function memberHealth(
    api: TalosApi,
    session: RemovalSession,
    member: EtcdMember,
    cluster: readonly EtcdMember[],
): Promise<MemberHealth> {
    // "If the member is not started, the name will be an empty string."
    // (talos@v1.8.3:internal/pkg/etcd/etcd.go ValidateForUpgrade)
    if (member.hostname === "") return { member, problem: "not started" };
    const host = peerHosts(member)[0];
    if (host === undefined) return { member, problem: "no peer URL to reach it by" };
    const backoff = new Backoff(DEFAULT_BACKOFF, () => session.clock.random());
    let problem = "no answer";
    for (let attempt = 1; attempt <= HEALTH_ATTEMPTS; attempt++) {
        const remaining = session.remaining();
        if (remaining < MIN_ATTEMPT_MS) break;
        try {
            const view = await api.etcdMemberList(session.callTimeout(remaining), { node: host, queryLocal: true });
            return { member, ...consistency(view, cluster) };
        } catch (err) {
            if (!(err instanceof TalosApiError)) throw err;
            problem = `its etcd does not answer (${err.reason})`;
            if (err.kind !== "retryable") break;
        }
        if (attempt < HEALTH_ATTEMPTS) await session.clock.sleep(backoff.next());
    }
    return { member, problem };
}

/** Talos' consistency rule: the member sees exactly the members the cluster lists. */
function consistency(view: readonly EtcdMember[], cluster: readonly EtcdMember[]): { problem?: string } {
    const ids = (list: readonly EtcdMember[]) => list.map((m) => m.id).sort().join(",");
    if (ids(view) === ids(cluster)) return {};
    const seen = view.map((m) => (m.hostname === "" ? formatMemberId(m.id) : m.hostname));
    return { problem: `it sees other members (${seen.join(", ")})` };
}

/** EtcdLeaveCluster on the node; when it cannot be reached, EtcdRemoveMemberByID through a healthy member. */
async function leaveOrRemove(
    api: TalosApi,
    session: RemovalSession,
    leaving: EtcdMember,
    through: string,
): Promise<"left" | "removed"> {
    const { progress, node } = session;
    progress.waiting(`${node} leaving etcd (talosctl -n ${node} etcd leave)`);
    try {
        await api.etcdLeaveCluster(leaveCallTimeout(session.remaining()), node);
        progress.note(`${node} left etcd; its etcd is stopped and its data removed`);
        return "left";
    } catch (err) {
        if (!(err instanceof TalosApiError)) throw err;
        if (err.kind !== "retryable") {
            throw new CliError(
                ExitCode.FATAL,
                `${err.message}\n${node} is still an etcd member. If its etcd is broken, remove the member through another ` +
                    `control plane (talosctl -n ${through} etcd remove-member ${formatMemberId(leaving.id)}), then run \`pulumi up\` again.`,
            );
        }
        progress.note(`${node} does not answer (${err.reason}): removing its member through ${through} instead`);
    }
    return removeThrough(api, session, leaving, through);
}

/** EtcdRemoveMemberByID through a healthy member, as `talosctl -n <through> etcd remove-member <id>`. */
async function removeThrough(api: TalosApi, session: RemovalSession, leaving: EtcdMember, through: string): Promise<"removed"> {
    const { progress } = session;
    const removed = await session.talos(
        `${through} to remove member ${formatMemberId(leaving.id)}`,
        `removing member ${formatMemberId(leaving.id)} through ${through} (talosctl -n ${through} etcd remove-member)`,
        (t) => api.etcdRemoveMemberById(t, leaving.id, through),
    );
    const id = formatMemberId(leaving.id);
    progress.note(removed === "removed" ? `${through} removed member ${id}` : `member ${id} was removed already`);
    return "removed";
}

/** Reads the members through a healthy member until the leaving one is not among them. */
async function confirmGone(api: TalosApi, session: RemovalSession, leaving: EtcdMember, through: string): Promise<void> {
    await session.retry(`etcd on ${through} to no longer list ${memberLabel(leaving)}`, undefined, async (remaining) => {
        try {
            const members = await api.etcdMemberList(session.callTimeout(remaining), { node: through });
            if (members.some((m) => m.id === leaving.id)) return session.notYet(undefined, "it is still listed");
            return { done: true, value: undefined };
        } catch (err) {
            if (err instanceof TalosApiError && err.kind === "retryable") return session.notYet(undefined, err.reason);
            if (err instanceof TalosApiError) throw new CliError(ExitCode.FATAL, err.message);
            throw err;
        }
    });
    session.progress.note(`etcd no longer lists ${memberLabel(leaving)}`);
}
