// `wait`: poll the Kubernetes API until the cluster is usable (readiness.ts says when). Polls
// start every 500 ms — a ready cluster is noticed within a second, and a 60 s wait costs at most
// 120 polls of three GETs on one kept-alive connection — and each poll is a clock sleep away
// from the next: no busy loop. /readyz first; nodes and pods only once it answers.

import { formatDuration } from "../../model/duration";
import type { Clock } from "../context";
import { CliError, ExitCode } from "../exitcodes";
import { KubeRequestError, PATHS, type KubeApi, type List, type Node, type Pod } from "../kube/api";
import type { NodeRef } from "../invocation";
import { logAdvice } from "../logadvice";
import { Progress } from "../progress";
import { DeadlineReached, fixedInterval, retryUntil } from "../retry";
import { judge, type Observation, type Verdict } from "./readiness";

export interface WaitOptions {
    expectedNodes: number;
    timeoutMs: number;
    /** one request at most (bounded by what is left of the timeout); default 5 s */
    requestTimeoutMs?: number;
    /** between poll starts; default 500 ms */
    intervalMs?: number;
    /** the node containers, for missing nodes and the advice on timeout */
    containers: NodeRef[];
}

export const DEFAULT_POLL_INTERVAL_MS = 500;

export async function runWait(api: KubeApi, opts: WaitOptions, out: (line: string) => void, clock: Clock): Promise<Verdict> {
    const progress = new Progress("wait", out, clock);
    const deadline = clock.now() + opts.timeoutMs;
    const fullRequestTimeout = opts.requestTimeoutMs ?? 5_000;
    const names = opts.containers.map((c) => c.container);
    let last: Verdict | undefined;
    try {
        const verdict = await retryUntil(clock, deadline, fixedInterval(opts.intervalMs ?? DEFAULT_POLL_INTERVAL_MS), async (remaining) => {
            const obs = await observe(api, Math.min(fullRequestTimeout, remaining));
            const v = judge(obs, opts.expectedNodes, api.server, names);
            if (v.ready) return { done: true, value: v };
            // A poll cut short by the deadline knows less than the one before: keep that one.
            const cutShort = remaining < fullRequestTimeout && !obs.api.ok && obs.api.timedOut === true;
            if (cutShort && last !== undefined) return { done: false, reason: last.reason ?? last.state };
            last = v;
            progress.waiting(v.state, v.reason);
            return { done: false, reason: v.reason ?? v.state };
        });
        progress.note(`done: ${verdict.summary}`);
        return verdict;
    } catch (err) {
        if (!(err instanceof DeadlineReached)) throw err;
        throw new CliError(ExitCode.TIMEOUT, timeoutMessage(opts, last));
    }
}

/** One poll. Failures that waiting cannot fix (TLS, 401/403) end the command. */
export async function observe(api: KubeApi, timeoutMs: number): Promise<Observation> {
    try {
        const readyz = await api.get(PATHS.readyz, timeoutMs);
        if (readyz.status !== 200) return { api: { ok: false, reason: `readyz ${readyz.status}${failedChecks(readyz.body)}` } };
        const [nodes, pods] = await Promise.all([list<Node>(api, PATHS.nodes, timeoutMs), list<Pod>(api, PATHS.kubeSystemPods, timeoutMs)]);
        return { api: { ok: true }, nodes, pods };
    } catch (err) {
        if (err instanceof KubeRequestError && err.kind === "retryable") return { api: { ok: false, reason: err.reason, timedOut: err.timedOut } };
        if (err instanceof KubeRequestError) throw new CliError(ExitCode.FATAL, err.message);
        throw err;
    }
}

/** The items, or why there are none. */
async function list<T>(api: KubeApi, path: string, timeoutMs: number): Promise<T[] | string> {
    try {
        const res = await api.get(path, timeoutMs);
        if (res.status !== 200) return `HTTP ${res.status}`;
        return (JSON.parse(res.body) as List<T>).items ?? [];
    } catch (err) {
        if (err instanceof KubeRequestError && err.kind === "retryable") return err.reason;
        if (err instanceof SyntaxError) return "not JSON";
        throw err;
    }
}

/** kube-apiserver lists failed checks as "[-]etcd failed: reason withheld". */
function failedChecks(body: string): string {
    const failed = body.split("\n").filter((l) => l.startsWith("[-]")).map((l) => l.slice(3).replace(/ failed.*$/, ""));
    return failed.length > 0 ? ` (failing: ${failed.join(", ")})` : "";
}

function timeoutMessage(opts: WaitOptions, last: Verdict | undefined): string {
    const problems = last?.problems ?? ["the Kubernetes API was never polled"];
    const suspects = last?.suspects ?? ["*"];
    const all = suspects.includes("*");
    const refs: NodeRef[] = all
        ? opts.containers
        : suspects.map((name) => {
              const known = opts.containers.find((c) => c.container === name);
              const ip = known?.ip ?? last?.nodeIps[name];
              return ip ? { container: name, ip } : { container: name };
          });
    return [
        `timed out after ${formatDuration(opts.timeoutMs)} waiting for the cluster to be ready. Not ready:`,
        ...problems.map((p) => `  - ${p}`),
        logAdvice(refs, ["kubelet"], all ? "the control plane" : "the nodes"),
    ].join("\n");
}
