// `wait`: poll until the cluster is ready as Talos' default checks judge it (cli/readiness/). Polls
// start every 500 ms — a ready cluster is noticed within a second, and a 60 s wait costs at most
// 120 rounds — and each poll is a clock sleep away from the next: no busy loop. A round reads the
// Kubernetes API (/readyz, then the lists) and, with a talosconfig, every node through the Talos
// endpoint, at once. What is not checked, and why, is said once.

import { formatDuration } from "../../model/duration";
import type { Clock } from "../context";
import { CliError, ExitCode } from "../exitcodes";
import type { NodeRef } from "../invocation";
import { KubeRequestError, type KubeApi } from "../kube/api";
import { logAdvice } from "../logadvice";
import { Progress } from "../progress";
import type { ExpectedCluster } from "../readiness/expected";
import { observeKubernetes } from "../readiness/kuberead";
import type { ClusterProfile } from "../readiness/profile";
import { fatalRead, observeTalos, type TalosReader } from "../readiness/talosread";
import { judgeReadiness, type Verdict } from "../readiness/verdict";
import { DeadlineReached, fixedInterval, retryUntil } from "../retry";

export interface WaitClients {
    kube: KubeApi;
    /** absent without a talosconfig: the Talos-side checks are skipped */
    talos?: TalosReader;
}

export interface WaitOptions {
    expected: ExpectedCluster;
    profile: ClusterProfile;
    timeoutMs: number;
    /** one request at most (bounded by what is left of the timeout); default 5 s */
    requestTimeoutMs?: number;
    /** between poll starts; default 500 ms */
    intervalMs?: number;
}

export const DEFAULT_POLL_INTERVAL_MS = 500;

/** Why the Talos side is not checked without a talosconfig. */
export const NO_TALOSCONFIG = "no talosconfig (the Talos-side checks need one)";

/** Why it is not checked when no node's address is known: Talos' checks ask each node by it. */
export const NO_NODE_ADDRESSES = "no node's address is known (--control-planes and --workers NAME=IP give them)";

export async function runWait(
    clients: WaitClients,
    opts: WaitOptions,
    out: (line: string) => void,
    clock: Clock,
): Promise<Verdict> {
    const progress = new Progress("wait", out, clock);
    const deadline = clock.now() + opts.timeoutMs;
    const fullRequestTimeout = opts.requestTimeoutMs ?? 5_000;
    const said = new Set<string>();
    let last: Verdict | undefined;
    try {
        const interval = fixedInterval(opts.intervalMs ?? DEFAULT_POLL_INTERVAL_MS);
        const verdict = await retryUntil(clock, deadline, interval, async (remaining) => {
            const requestTimeout = Math.min(fullRequestTimeout, remaining);
            const { verdict: v, apiTimedOut } = await poll(clients, opts, requestTimeout);
            for (const line of v.notChecked.filter((l) => !said.has(l))) {
                said.add(line);
                progress.note(line);
            }
            if (v.ready) return { done: true, value: v };
            // A poll cut short by the deadline knows less than the one before: keep that one.
            if (remaining < fullRequestTimeout && apiTimedOut && last !== undefined) {
                return { done: false, reason: last.reason ?? last.state };
            }
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

/** One round. Failures that waiting cannot fix (TLS, 401/403, Talos credentials) end the command. */
async function poll(
    clients: WaitClients,
    opts: WaitOptions,
    timeoutMs: number,
): Promise<{ verdict: Verdict; apiTimedOut: boolean }> {
    const asksTalos = clients.talos !== undefined && opts.expected.nodes.some((n) => n.ip !== undefined);
    const [kube, talos] = await Promise.all([
        observeKubernetes(clients.kube, timeoutMs).catch((err: unknown) => {
            if (err instanceof KubeRequestError) throw new CliError(ExitCode.FATAL, err.message);
            throw err;
        }),
        clients.talos === undefined || !asksTalos ? undefined : observeTalos(clients.talos, opts.expected.nodes, timeoutMs),
    ]);
    const fatal = talos === undefined ? undefined : fatalRead(talos);
    if (fatal !== undefined) throw new CliError(ExitCode.FATAL, fatal);
    const verdict = judgeReadiness({
        kube,
        talos: talos ?? { skipped: clients.talos === undefined ? NO_TALOSCONFIG : NO_NODE_ADDRESSES },
        expected: opts.expected,
        profile: opts.profile,
        server: clients.kube.server,
    });
    return { verdict, apiTimedOut: !kube.api.ok && kube.api.timedOut === true };
}

function timeoutMessage(opts: WaitOptions, last: Verdict | undefined): string {
    const problems = last?.problems ?? ["the Kubernetes API was never polled"];
    const suspects = last?.suspects ?? ["*"];
    const all = suspects.includes("*");
    const known: NodeRef[] = opts.expected.nodes.map((n) =>
        n.ip === undefined ? { container: n.name } : { container: n.name, ip: n.ip });
    const refs: NodeRef[] = all
        ? known
        : suspects.map((name) => {
              const ip = known.find((c) => c.container === name)?.ip ?? last?.nodeIps[name];
              return ip ? { container: name, ip } : { container: name };
          });
    return [
        `timed out after ${formatDuration(opts.timeoutMs)} waiting for the cluster to be ready. Not ready:`,
        ...problems.map((p) => `  - ${p}`),
        logAdvice(refs, ["kubelet"], all ? "the control plane" : "the nodes"),
    ].join("\n");
}
