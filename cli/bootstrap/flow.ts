// Bootstrap as Talos' own client does it (talos@v1.8.3:pkg/cluster/bootstrap.go): wait until
// apid answers Version, then call Bootstrap, retrying while the node is not ready for it
// (FailedPrecondition: "bootstrap is not available yet", "time is not in sync yet") or the
// connection drops. AlreadyExists ("etcd data directory is not empty") means an earlier run
// did it: success, so re-running `pulumi up` is safe. TLS and RBAC failures stop at once.

import type { TalosApi } from "../../talos/api";
import { TalosApiError } from "../../talos/api";
import { formatDuration } from "../../model/duration";
import { Backoff, DEFAULT_BACKOFF, type BackoffPolicy } from "../backoff";
import type { Clock } from "../context";
import { CliError, ExitCode } from "../exitcodes";
import type { NodeRef } from "../invocation";
import { logAdvice } from "../logadvice";
import { Progress } from "../progress";
import { DeadlineReached, retryUntil, type StepResult } from "../retry";

export interface BootstrapOptions {
    /** the whole command, from start */
    timeoutMs: number;
    /** one call at most (bounded by what is left of the timeout) */
    callTimeoutMs: number;
    /** the node containers, for the advice on timeout; the first is the one we bootstrap */
    containers: NodeRef[];
    backoff?: BackoffPolicy;
}

export type BootstrapOutcome = "bootstrapped" | "already-bootstrapped";

export async function runBootstrap(api: TalosApi, opts: BootstrapOptions, out: (line: string) => void, clock: Clock): Promise<BootstrapOutcome> {
    const progress = new Progress("bootstrap", out, clock);
    const deadline = clock.now() + opts.timeoutMs;
    const backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF, () => clock.random());
    const where = api.endpoint;
    const callTimeout = (remaining: number) => Math.min(opts.callTimeoutMs, remaining);

    const waitingApid = `waiting for apid on ${where}`;
    progress.waiting(waitingApid);
    const version = await until(`apid on ${where} to answer`, () =>
        retryUntil(clock, deadline, backoff, async (remaining): Promise<StepResult<string>> => {
            try {
                const v = await api.version(callTimeout(remaining));
                return { done: true, value: v.version?.tag ?? "unknown version" };
            } catch (err) {
                return retryOrThrow(err, progress, waitingApid);
            }
        }),
    );
    progress.note(`apid answered on ${where}: Talos ${version}`);

    backoff.reset();
    const bootstrapping = `bootstrapping etcd on ${where}`;
    progress.waiting(bootstrapping);
    const outcome = await until(`${where} to accept Bootstrap`, () =>
        retryUntil(clock, deadline, backoff, async (remaining): Promise<StepResult<{ outcome: BootstrapOutcome; detail: string }>> => {
            try {
                await api.bootstrap(callTimeout(remaining));
                return { done: true, value: { outcome: "bootstrapped", detail: "" } };
            } catch (err) {
                if (err instanceof TalosApiError && err.kind === "already-done") {
                    return { done: true, value: { outcome: "already-bootstrapped", detail: err.reason } };
                }
                return retryOrThrow(err, progress, bootstrapping);
            }
        }),
    );
    progress.note(
        outcome.outcome === "bootstrapped"
            ? `done: bootstrapped etcd on ${where}`
            : `done: already bootstrapped (${outcome.detail})`,
    );
    return outcome.outcome;

    /** Turn the deadline into the command's timeout error, with what to read next. */
    async function until<T>(what: string, run: () => Promise<T>): Promise<T> {
        try {
            return await run();
        } catch (err) {
            if (!(err instanceof DeadlineReached)) throw err;
            throw new CliError(
                ExitCode.TIMEOUT,
                `timed out after ${formatDuration(opts.timeoutMs)} waiting for ${what}` +
                    `${err.lastReason ? ` (last: ${err.lastReason})` : ""}.\n` +
                    logAdvice(opts.containers.slice(0, 1), [], "the first control plane"),
            );
        }
    }
}

/** A retryable failure becomes a progress line; anything else ends the command. */
function retryOrThrow(err: unknown, progress: Progress, state: string): StepResult<never> {
    if (err instanceof TalosApiError && err.kind === "retryable") {
        progress.waiting(state, err.reason);
        return { done: false, reason: err.reason };
    }
    if (err instanceof TalosApiError) throw new CliError(ExitCode.FATAL, err.message);
    throw err;
}
