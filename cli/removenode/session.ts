// One node's removal: its deadline, its progress lines, and the calls it makes to the Talos and
// Kubernetes APIs, each retried with backoff while the API cannot answer and bounded by the
// command's deadline. What waiting cannot fix (TLS, authentication, RBAC) ends the command at
// once (exit 3); the deadline ends it with what was waited for and what to do (exit 4).

import { formatDuration } from "../../model/duration";
import { TalosApiError } from "../../talos/api";
import { Backoff, DEFAULT_BACKOFF, type BackoffPolicy } from "../backoff";
import type { Clock } from "../context";
import { CliError, ExitCode } from "../exitcodes";
import { DESTROYING_ENV } from "../invocation";
import { KubeRequestError, type KubeApi, type KubeResponse } from "../kube/api";
import type { Progress } from "../progress";
import { DeadlineReached, retryUntil, type StepResult } from "../retry";

export interface RemovalTarget {
    /** the node's address on the cluster network */
    node: string;
    /** its container */
    container: string;
}

export interface RemovalOptions extends RemovalTarget {
    /** the whole command, from start */
    timeoutMs: number;
    /** one call at most (bounded by what is left of the timeout) */
    callTimeoutMs: number;
    /** clock time the command started (default: now), so what it did before counts in the timeout */
    startedAt?: number;
    backoff?: BackoffPolicy;
}

/** Answers that mean the API server is there but cannot serve yet (starting, behind a proxy). */
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

export class RemovalSession {
    readonly node: string;
    readonly container: string;
    readonly deadline: number;

    constructor(
        private readonly opts: RemovalOptions,
        readonly progress: Progress,
        readonly clock: Clock,
    ) {
        this.node = opts.node;
        this.container = opts.container;
        this.deadline = (opts.startedAt ?? clock.now()) + opts.timeoutMs;
    }

    /** What is left of the command's time. */
    remaining(): number {
        return this.deadline - this.clock.now();
    }

    /** One call's bound: the call timeout, or what is left of the command's. */
    callTimeout(remaining: number): number {
        return Math.min(this.opts.callTimeoutMs, remaining);
    }

    /**
     * A Talos API call, retried while it fails in a way waiting can fix. `state` is the progress
     * line; `what` finishes "timed out waiting for …".
     */
    talos<T>(what: string, state: string, call: (timeoutMs: number) => Promise<T>): Promise<T> {
        return this.retry(what, state, async (remaining) => {
            try {
                return { done: true, value: await call(this.callTimeout(remaining)) };
            } catch (err) {
                if (err instanceof TalosApiError && err.kind === "retryable") return this.notYet(state, err.reason);
                if (err instanceof TalosApiError) throw new CliError(ExitCode.FATAL, err.message);
                throw err;
            }
        });
    }

    /**
     * A Kubernetes API request, retried while the API does not answer or answers that it cannot
     * serve yet (502, 503, 504); any other answer is the caller's to read. Without `state` it
     * prints nothing (requests made side by side report together).
     */
    kube(
        kube: KubeApi,
        what: string,
        state: string | undefined,
        send: (timeoutMs: number) => Promise<KubeResponse>,
    ): Promise<KubeResponse> {
        const quiet = state === undefined;
        const line = state ?? what;
        return this.retry(what, quiet ? undefined : line, async (remaining) => {
            try {
                const res = await send(this.callTimeout(remaining));
                if (UNAVAILABLE_STATUSES.has(res.status)) {
                    return this.notYet(quiet ? undefined : line, `the Kubernetes API answered HTTP ${res.status}`);
                }
                return { done: true, value: res };
            } catch (err) {
                if (err instanceof KubeRequestError && err.kind === "retryable") return this.notYet(quiet ? undefined : line, err.reason);
                if (err instanceof KubeRequestError) throw new CliError(ExitCode.FATAL, err.message);
                throw err;
            }
        }, `, at the Kubernetes API ${kube.server}`);
    }

    /**
     * retryUntil on the deadline, the deadline turned into exit 4. Each call has its own backoff,
     * so calls made side by side do not pace each other.
     */
    async retry<T>(
        what: string,
        state: string | undefined,
        step: (remaining: number) => Promise<StepResult<T>>,
        where = "",
    ): Promise<T> {
        if (state !== undefined) this.progress.waiting(state);
        const backoff = new Backoff(this.opts.backoff ?? DEFAULT_BACKOFF, () => this.clock.random());
        try {
            return await retryUntil(this.clock, this.deadline, backoff, step);
        } catch (err) {
            if (err instanceof DeadlineReached) throw this.timeout(`${what}${where}`, err.lastReason);
            throw err;
        }
    }

    /** A progress line (unless quiet) and a reason to try again. */
    notYet<T>(state: string | undefined, reason: string): StepResult<T> {
        if (state !== undefined) this.progress.waiting(state, reason);
        return { done: false, reason };
    }

    /** A timeout (exit 4) naming what was waited for, the last reason and what to do. */
    timeout(what: string, lastReason: string | undefined, advice = ""): CliError {
        return new CliError(
            ExitCode.TIMEOUT,
            `timed out after ${formatDuration(this.opts.timeoutMs)} waiting for ${what}` +
                `${lastReason ? ` (last: ${lastReason})` : ""}.${advice === "" ? "" : `\n${advice}`}\n` +
                this.clusterGoneAdvice(),
        );
    }

    /** What to do when the cluster cannot be reached because all of it is going away. */
    clusterGoneAdvice(): string {
        return (
            `${this.node} (container ${this.container}) is still in the cluster. If the whole stack is being destroyed, ` +
            `nothing needs to leave it: run \`npm run destroy\`, or \`${DESTROYING_ENV}=1 pulumi destroy\`.`
        );
    }
}
