// A leaving node's Kubernetes side, as `kubectl drain` and then `kubectl delete node` do it
// (k8s.io/kubectl@v0.31.14 pkg/drain/cordon.go, drain.go): cordon the Node (a strategic merge
// patch of spec.unschedulable), evict its pods through the Eviction API (policy/v1, the
// `pods/<name>/eviction` subresource) — every pod at once, each eviction a PodDisruptionBudget
// refuses (429) tried again 5 s later until the deadline —, wait until the evicted pods are gone
// (absent, or another pod under the same name), then delete the Node object, which nothing else
// would delete (no cloud controller runs here). Which pods are evicted: pods.ts. A Node that is
// gone already, or goes during the drain, is success: there is nothing left to do. A node whose
// container does not run is not drained at all: its Node is deleted (deleteWithoutDrain).

import { CliError, ExitCode } from "../exitcodes";
import {
    nodePath, PATHS, podPath, podsOnNodePath, STRATEGIC_MERGE_PATCH,
    type KubeApi, type KubeResponse, type KubeStatus, type List, type Node, type Pod,
} from "../kube/api";
import { fixedInterval, DeadlineReached, retryUntil } from "../retry";
import { planDrain, podName, podNames } from "./pods";
import type { RemovalSession } from "./session";

/**
 * kubectl drain's pauses: 5 s before evicting again a pod a disruption budget protects
 * (drain.go `evictPods`: "will retry after 5s"), 1 s between checks that evicted pods are gone
 * (`waitForDelete` interval).
 */
export const DRAIN_PACE = { evictionRetryMs: 5_000, gonePollMs: 1_000 } as const;

export interface DrainPace {
    evictionRetryMs: number;
    gonePollMs: number;
}

/** drained: cordoned, drained, deleted; deleted: deleted without a drain; already-gone: no Node */
export type DrainOutcome = "drained" | "deleted" | "already-gone";

/** Cordons, drains and deletes the Node of `session.node`. */
export async function drainAndDelete(
    kube: KubeApi,
    session: RemovalSession,
    pace: DrainPace = DRAIN_PACE,
): Promise<DrainOutcome> {
    const { progress } = session;
    const node = await findNode(kube, session);
    if (node === undefined) {
        progress.note(`no Node has address ${session.node} or name ${session.container}: it is gone already, nothing to drain`);
        return "already-gone";
    }
    const name = node.metadata.name;
    if (!(await cordon(kube, session, node))) return gone(session, name);

    const pods = await podsOn(kube, session, name);
    const plan = planDrain(pods);
    const daemonSets = plan.skipped.filter((s) => s.why === "daemonset").map((s) => s.pod);
    const mirrors = plan.skipped.filter((s) => s.why === "mirror").map((s) => s.pod);
    const finished = plan.skipped.filter((s) => s.why === "finished").map((s) => s.pod);
    if (daemonSets.length > 0) progress.note(`leaving DaemonSet pods in place (they go with the Node): ${podNames(daemonSets)}`);
    if (mirrors.length > 0) progress.note(`leaving static (mirror) pods in place: ${podNames(mirrors)}`);
    if (finished.length > 0) progress.note(`leaving finished pods in place (they go with the Node): ${podNames(finished)}`);
    if (plan.unmanaged.length > 0) {
        progress.note(`evicting pods no controller owns (nothing recreates them): ${podNames(plan.unmanaged)}`);
    }
    if (plan.localStorage.length > 0) {
        progress.note(`evicting pods with emptyDir data (it is deleted with them): ${podNames(plan.localStorage)}`);
    }

    if (plan.evict.length === 0) {
        progress.note(`no pod on ${name} to evict`);
    } else {
        progress.note(`evicting ${plan.evict.length} pod${plan.evict.length === 1 ? "" : "s"}: ${podNames(plan.evict)}`);
        const evicted = await evictAll(kube, session, name, plan.evict, pace);
        await waitGone(kube, session, name, evicted, pace);
    }
    await deleteNode(kube, session, name);
    return "drained";
}

/**
 * Deletes the Node of a node whose container does not run, without a drain: an eviction would
 * mark its pods for deletion, and only their kubelet, which is not there, would confirm them gone.
 * With the Node deleted, the pod garbage collector deletes every pod bound to it (pods.ts), and
 * their controllers make new ones elsewhere.
 */
export async function deleteWithoutDrain(kube: KubeApi, session: RemovalSession): Promise<DrainOutcome> {
    const node = await findNode(kube, session);
    if (node === undefined) {
        session.progress.note(`no Node has address ${session.node} or name ${session.container}: it is gone already`);
        return "already-gone";
    }
    const deleted = await deleteNode(kube, session, node.metadata.name);
    return deleted ? "deleted" : "already-gone";
}

function gone(session: RemovalSession, name: string): DrainOutcome {
    session.progress.note(`Node ${name} is gone already`);
    return "already-gone";
}

/** The Node with the node's address (InternalIP), else the one named after its container. */
async function findNode(kube: KubeApi, session: RemovalSession): Promise<Node | undefined> {
    const res = await session.kube(kube, "the Kubernetes API to list the nodes", `finding the Node of ${session.node}`, (t) =>
        kube.get(PATHS.nodes, t));
    const nodes = json<List<Node>>(res, "listing the nodes", 200).items ?? [];
    return (
        nodes.find((n) => n.status?.addresses?.some((a) => a.type === "InternalIP" && a.address === session.node)) ??
        nodes.find((n) => n.metadata.name === session.container)
    );
}

/** Marks the Node unschedulable, as `kubectl cordon` does; false when it is gone. */
async function cordon(kube: KubeApi, session: RemovalSession, node: Node): Promise<boolean> {
    const name = node.metadata.name;
    if (node.spec?.unschedulable === true) {
        session.progress.note(`Node ${name} is cordoned already`);
        return true;
    }
    const body = JSON.stringify({ spec: { unschedulable: true } });
    const res = await session.kube(kube, `the Kubernetes API to cordon Node ${name}`, `cordoning Node ${name}`, (t) =>
        kube.patch(nodePath(name), body, STRATEGIC_MERGE_PATCH, t));
    if (res.status === 404) return false;
    json<Node>(res, `cordoning Node ${name}`, 200);
    session.progress.note(`cordoned Node ${name}: no new pod is scheduled on it`);
    return true;
}

/** Every pod bound to the Node, page by page. */
async function podsOn(kube: KubeApi, session: RemovalSession, name: string): Promise<Pod[]> {
    const pods: Pod[] = [];
    let token: string | undefined;
    do {
        const path = podsOnNodePath(name, token);
        const res = await session.kube(kube, `the Kubernetes API to list the pods on ${name}`, `listing the pods on ${name}`, (t) =>
            kube.get(path, t));
        const page = json<List<Pod>>(res, `listing the pods on ${name}`, 200);
        pods.push(...(page.items ?? []));
        // The last page has no continue token (or an empty one).
        const next = page.metadata?.continue;
        token = next === undefined || next === "" ? undefined : next;
    } while (token !== undefined);
    return pods;
}

/** Why each pod a budget protects cannot be evicted yet, by pod name: the API's own words. */
type Blocked = Map<string, string>;

/**
 * Evicts every pod side by side; resolves with the pods whose eviction the API accepted (the
 * ones already gone left out). A pod a disruption budget protects is tried again every
 * `evictionRetryMs`; at the deadline the command fails naming every pod still blocked and why.
 */
async function evictAll(kube: KubeApi, session: RemovalSession, name: string, pods: Pod[], pace: DrainPace): Promise<Pod[]> {
    const blocked: Blocked = new Map();
    const state = `waiting for PodDisruptionBudgets to allow evicting pods of ${name}`;
    const stop: { failed?: unknown } = {};
    const results = await Promise.all(pods.map(async (pod) => {
        try {
            return await evictOne(kube, session, pod, pace, { blocked, state, stop });
        } catch (err) {
            stop.failed ??= err;
            return "stopped" as const;
        }
    }));
    if (stop.failed !== undefined) throw stop.failed;
    if (results.includes("blocked")) throw blockedError(session, name, blocked);
    return pods.filter((_, i) => results[i] === "evicted");
}

interface EvictionShared {
    blocked: Blocked;
    state: string;
    /** set by the first pod whose eviction failed for good: the others stop */
    stop: { failed?: unknown };
}

type EvictionResult = "evicted" | "gone" | "blocked" | "stopped";

async function evictOne(
    kube: KubeApi,
    session: RemovalSession,
    pod: Pod,
    pace: DrainPace,
    shared: EvictionShared,
): Promise<EvictionResult> {
    const { progress, clock } = session;
    const who = podName(pod);
    const namespace = pod.metadata.namespace ?? "default";
    const path = `${podPath(namespace, pod.metadata.name)}/eviction`;
    // policy/v1 Eviction with empty delete options: the pod's own grace period (kubectl drain.go `EvictPod`).
    const body = JSON.stringify({
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: pod.metadata.name, namespace },
        deleteOptions: {},
    });
    for (;;) {
        if (shared.stop.failed !== undefined) return "stopped";
        const res = await session.kube(kube, `the Kubernetes API to evict ${who}`, undefined, (t) => kube.post(path, body, t));
        if (res.status === 200 || res.status === 201) {
            shared.blocked.delete(who);
            progress.note(`evicted ${who}`);
            return "evicted";
        }
        if (res.status === 404) {
            shared.blocked.delete(who);
            progress.note(`${who} is gone already`);
            return "gone";
        }
        if (res.status !== 429) {
            const why = `HTTP ${res.status}: ${statusMessage(res)}`;
            throw new CliError(ExitCode.FATAL, `the Kubernetes API refused to evict ${who}: ${why}`);
        }
        shared.blocked.set(who, budgetCause(res));
        progress.waiting(shared.state, describeBlocked(shared.blocked));
        if (clock.now() + pace.evictionRetryMs >= session.deadline) {
            await clock.sleep(Math.max(0, session.deadline - clock.now()));
            return "blocked";
        }
        await clock.sleep(pace.evictionRetryMs);
    }
}

/** The disruption budget's words from a 429 (its Status cause of type DisruptionBudget), else the message. */
function budgetCause(res: KubeResponse): string {
    const status = parseStatus(res);
    // policy/v1 DisruptionBudgetCause (k8s.io/kubernetes@v1.31.1 pkg/registry/core/pod/storage/eviction.go).
    const cause = status?.details?.causes?.find((c) => c.reason === "DisruptionBudget")?.message;
    return cause ?? status?.message ?? `HTTP ${res.status}`;
}

function describeBlocked(blocked: Blocked): string {
    return [...blocked].map(([pod, why]) => `${pod}: ${why}`).join("; ");
}

/**
 * Exit 4 naming the pods still protected and their budgets, as the eviction API names them
 * ("The disruption budget web needs 2 healthy pods and has 2 currently").
 */
function blockedError(session: RemovalSession, name: string, blocked: Blocked): CliError {
    const budgets = [...new Set([...blocked.values()].flatMap((why) => /disruption budget (\S+)/.exec(why)?.[1] ?? []))];
    const pods = [...blocked.keys()];
    const namespaces = [...new Set(pods.map((p) => p.split("/")[0]))];
    const advice =
        `PodDisruptionBudgets${budgets.length > 0 ? ` ${budgets.join(", ")}` : ""} ` +
        `(kubectl -n ${namespaces.join(",")} get poddisruptionbudgets) forbid evicting ` +
        `${pods.length === 1 ? "this pod" : "these pods"}: give the workload more ready replicas elsewhere, or relax the budget, ` +
        `then run \`pulumi up\` again. Node ${name} stays cordoned.`;
    const what = `PodDisruptionBudgets to allow evicting ${pods.join(", ")} (${describeBlocked(blocked)})`;
    return session.timeout(what, undefined, advice);
}

/** Polls the pods on the Node until none of the evicted ones is there (kubectl: absent, or a new pod of that name). */
async function waitGone(kube: KubeApi, session: RemovalSession, name: string, evicted: Pod[], pace: DrainPace): Promise<void> {
    if (evicted.length === 0) return;
    const { progress, clock } = session;
    const state = `waiting for ${evicted.length} evicted pod${evicted.length === 1 ? "" : "s"} to terminate on ${name}`;
    progress.waiting(state);
    let left = evicted;
    try {
        await retryUntil(clock, session.deadline, fixedInterval(pace.gonePollMs), async () => {
            const there = new Set((await podsOn(kube, session, name)).map((p) => p.metadata.uid));
            left = left.filter((p) => there.has(p.metadata.uid));
            if (left.length === 0) return { done: true, value: undefined };
            return session.notYet(state, `still there: ${podNames(left)}`);
        });
    } catch (err) {
        if (!(err instanceof DeadlineReached)) throw err;
        const advice =
            `A pod with a deletionTimestamp is gone once its kubelet confirms it stopped: is ${session.container} running ` +
            `(docker ps --filter name=${session.container})? See kubectl get pods -A --field-selector spec.nodeName=${name}.`;
        throw session.timeout(`the evicted pods to terminate on ${name}`, `still there: ${podNames(left)}`, advice);
    }
    progress.note(`the evicted pods are gone from ${name}`);
}

/** Deletes the Node object; one gone already is as good (false). */
async function deleteNode(kube: KubeApi, session: RemovalSession, name: string): Promise<boolean> {
    const res = await session.kube(kube, `the Kubernetes API to delete Node ${name}`, `deleting Node ${name}`, (t) =>
        kube.delete(nodePath(name), t));
    if (res.status === 404) {
        session.progress.note(`Node ${name} is gone already`);
        return false;
    }
    if (res.status !== 200 && res.status !== 202) {
        const why = `HTTP ${res.status}: ${statusMessage(res)}`;
        throw new CliError(ExitCode.FAILED, `deleting Node ${name}: the Kubernetes API answered ${why}`);
    }
    session.progress.note(`deleted Node ${name}`);
    return true;
}

/** The body of an answer with status `ok`, as JSON; any other answer fails the command. */
function json<T>(res: KubeResponse, what: string, ok: number): T {
    if (res.status !== ok) {
        throw new CliError(ExitCode.FAILED, `${what}: the Kubernetes API answered HTTP ${res.status}: ${statusMessage(res)}`);
    }
    try {
        return JSON.parse(res.body) as T;
    } catch {
        throw new CliError(ExitCode.FAILED, `${what}: the Kubernetes API answered with something that is not JSON`);
    }
}

function parseStatus(res: KubeResponse): KubeStatus | undefined {
    try {
        const parsed = JSON.parse(res.body) as unknown;
        return typeof parsed === "object" && parsed !== null ? (parsed as KubeStatus) : undefined;
    } catch {
        return undefined;
    }
}

/** A Status' message, else the start of the body. */
function statusMessage(res: KubeResponse): string {
    const message = parseStatus(res)?.message;
    if (message !== undefined) return message;
    return res.body === "" ? "(no body)" : res.body.slice(0, 200);
}
