// The Talos calls of an apply, for one node reached through the talosconfig's endpoint, each
// retried with backoff while the node cannot answer and bounded by the command's deadline:
// wait until it answers, read its config, send a config, read it back. Failures that waiting
// cannot fix (a refused config, TLS, RBAC) end the command at once. No config text, diff or
// value is ever printed: a config is named by the paths where it differs.

import { formatDuration } from "../../model/duration";
import type { ApplyMode, ApplyResult, TalosApi } from "../../talos/api";
import { TalosApiError } from "../../talos/api";
import { changedConfigPaths, ConfigPathsInputError } from "../../talos/configpaths";
import { Backoff, DEFAULT_BACKOFF, type BackoffPolicy } from "../backoff";
import type { Clock } from "../context";
import { CliError, ExitCode } from "../exitcodes";
import { logAdvice } from "../logadvice";
import type { Progress } from "../progress";
import { DeadlineReached, retryUntil, type StepResult } from "../retry";

/**
 * How long a node that answers may go on reporting another config than the one it took before
 * the apply fails: machined stores an applied config before it answers (`SetConfig` in
 * talos@v1.8.3 and v1.13.9:internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go
 * `ApplyConfiguration`), and loads it at boot before apid serves it, so a node that reports
 * another one for this long did not take it.
 */
export const READBACK_SETTLE_MS = 30_000;

/** The gRPC status of a resource that does not exist (yet, while a node boots). */
const NOT_FOUND = 5;

export interface NodeTarget {
    /** the node's address on the cluster network, as apid routes to it */
    node: string;
    /** its container, for the advice on failure */
    container: string;
}

export interface NodeSessionOptions extends NodeTarget {
    /** the whole command, from start */
    timeoutMs: number;
    /** one call at most (bounded by what is left of the timeout) */
    callTimeoutMs: number;
    backoff?: BackoffPolicy;
}

/** What sending a config came to. */
export type Sent =
    /** the node answered the apply */
    | { kind: "answered"; result: ApplyResult }
    /** an earlier attempt's answer was lost, and the node already reports the config */
    | { kind: "already-reported" };

export class NodeSession {
    readonly node: string;
    readonly container: string;
    readonly deadline: number;
    private readonly backoff: Backoff;

    constructor(
        private readonly api: TalosApi,
        private readonly opts: NodeSessionOptions,
        readonly progress: Progress,
        readonly clock: Clock,
    ) {
        this.node = opts.node;
        this.container = opts.container;
        this.deadline = clock.now() + opts.timeoutMs;
        this.backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF, () => clock.random());
    }

    get endpoint(): string {
        return this.api.endpoint;
    }

    /** Waits until the node answers Version through the endpoint; its Talos version tag. */
    async answer(): Promise<string> {
        const state = `waiting for ${this.node} to answer through ${this.endpoint}`;
        this.progress.waiting(state);
        return this.retry(`${this.node} to answer through ${this.endpoint}`, state, async (remaining) => {
            const v = await this.api.version(this.callTimeout(remaining), this.node);
            return { done: true, value: v.version?.tag ?? "unknown version" };
        });
    }

    /** The config the node runs, as it was submitted to it. */
    async readConfig(): Promise<string> {
        const state = `reading the config of ${this.node}`;
        return this.retry(`${this.node} to report its config`, state, async (remaining) => {
            return { done: true, value: await this.api.machineConfig(this.callTimeout(remaining), this.node) };
        });
    }

    /**
     * Sends `config` in `mode`. A retry after a failure that may have hidden an answer (a dropped
     * connection, no answer in time) first reads the node's config: if it already reports
     * `config`, the earlier attempt took it and it is not sent again. A refusal ends the command
     * (exit 3) with Talos' reason, which never quotes the config.
     */
    async send(config: string, mode: ApplyMode, what: string): Promise<Sent> {
        const state = `applying ${what} to ${this.node}`;
        this.progress.waiting(state);
        let readFirst = false;
        return this.retry(`${this.node} to take ${what}`, state, async (remaining): Promise<StepResult<Sent>> => {
            if (readFirst && (await this.api.machineConfig(this.callTimeout(remaining), this.node)) === config) {
                return { done: true, value: { kind: "already-reported" } };
            }
            try {
                const request = { data: config, mode, dryRun: false };
                const result = await this.api.applyConfiguration(this.callTimeout(remaining), this.node, request);
                return { done: true, value: { kind: "answered", result } };
            } catch (err) {
                readFirst = true;
                if (err instanceof TalosApiError && err.kind === "fatal" && err.reason === "refused") {
                    throw new CliError(
                        ExitCode.FATAL,
                        `${err.message}\n${this.node} keeps the config it runs. ` +
                            "Fix the stack's config (its configPatches) and run `pulumi up` again.",
                    );
                }
                if (err instanceof TalosApiError && err.kind === "needs-reboot") {
                    const message = `${err.message}; ${what} was sent in mode ${mode}, which never reboots`;
                    throw new CliError(ExitCode.FATAL, message);
                }
                throw err;
            }
        });
    }

    /**
     * Reads the node's config until it is `config`. After a reboot the node first goes on
     * reporting the config it had until it goes down (its container ends), then answers again
     * with the new one. A node that answers with another config for READBACK_SETTLE_MS did not
     * take it (exit 6); one that does not answer again before the deadline times out (exit 4).
     */
    async readBack(config: string, restarting: boolean): Promise<void> {
        const state = restarting
            ? `waiting for ${this.node} to restart with the new config`
            : `reading back the config of ${this.node}`;
        this.progress.waiting(state);
        let seenDown = !restarting;
        let other: { text: string; since: number } | undefined;
        this.backoff.reset();
        try {
            await retryUntil(this.clock, this.deadline, this.backoff, async (remaining): Promise<StepResult<void>> => {
                let text: string;
                try {
                    text = await this.api.machineConfig(this.callTimeout(remaining), this.node);
                } catch (err) {
                    if (err instanceof TalosApiError && (err.kind === "retryable" || err.code === NOT_FOUND)) {
                        seenDown = true;
                        const reason = err.code === NOT_FOUND ? "it has no config yet" : err.reason;
                        this.progress.waiting(state, reason);
                        return { done: false, reason };
                    }
                    throw fatal(err);
                }
                if (text === config) return { done: true, value: undefined };
                if (!seenDown) {
                    const reason = "it has not restarted yet";
                    this.progress.waiting(state, reason);
                    return { done: false, reason };
                }
                other = other?.text === text ? other : { text, since: this.clock.now() };
                if (this.clock.now() - other.since >= READBACK_SETTLE_MS) throw this.notApplied(config, other);
                const reason = `it reports another config (${describePaths(differences(text, config))})`;
                this.progress.waiting(state, reason);
                return { done: false, reason };
            });
        } catch (err) {
            if (!(err instanceof DeadlineReached)) throw err;
            if (other !== undefined) throw this.notApplied(config, other);
            const what = `${this.node} to ${restarting ? "restart and " : ""}report the config it was sent`;
            const restartAdvice = restarting
                ? `\nIf its container has stopped (docker ps -a --filter name=${this.container}), ` +
                  `it has no restart policy: docker start ${this.container}.`
                : "";
            throw this.timeout(what, err.lastReason, restartAdvice);
        }
    }

    /** A timeout (exit 4) naming what was waited for, the last reason and the logs to read. */
    timeout(what: string, lastReason: string | undefined, extra = ""): CliError {
        return new CliError(
            ExitCode.TIMEOUT,
            `timed out after ${formatDuration(this.opts.timeoutMs)} waiting for ${what}` +
                `${lastReason ? ` (last: ${lastReason})` : ""}.${extra}\n` +
                this.logAdvice(),
        );
    }

    logAdvice(): string {
        return logAdvice([{ container: this.container, ip: this.node }], ["machined"], `the node ${this.node}`);
    }

    /** One call's bound: the call timeout, or what is left of the command's. */
    callTimeout(remaining: number): number {
        return Math.min(this.opts.callTimeoutMs, remaining);
    }

    /** Exit 6: the node has reported `reported.text` since `reported.since` instead of `sent`. */
    private notApplied(sent: string, reported: { text: string; since: number }): CliError {
        return new CliError(
            ExitCode.NOT_APPLIED,
            `${this.node} (container ${this.container}) does not run the config it was sent: for ` +
                `${formatDuration(this.clock.now() - reported.since)} it has reported a config that differs at ` +
                `${describePaths(differences(reported.text, sent))}.\n${this.logAdvice()}`,
        );
    }

    /** retryUntil on the deadline, with progress for each retryable failure and the timeout turned into exit 4. */
    private async retry<T>(
        what: string,
        state: string,
        step: (remaining: number) => Promise<StepResult<T>>,
    ): Promise<T> {
        this.backoff.reset();
        try {
            return await retryUntil(this.clock, this.deadline, this.backoff, async (remaining) => {
                try {
                    return await step(remaining);
                } catch (err) {
                    if (err instanceof TalosApiError && err.kind === "retryable") {
                        this.progress.waiting(state, err.reason);
                        return { done: false, reason: err.reason };
                    }
                    throw fatal(err);
                }
            });
        } catch (err) {
            if (err instanceof DeadlineReached) throw this.timeout(what, err.lastReason);
            throw err;
        }
    }
}

/** A Talos failure waiting cannot fix: exit 3 with its message (which names the call, never a config). */
function fatal(err: unknown): unknown {
    return err instanceof TalosApiError ? new CliError(ExitCode.FATAL, err.message) : err;
}

/** The paths where two config texts differ; one entry when the reported text is not YAML. */
export function differences(from: string, to: string): string[] {
    try {
        return changedConfigPaths(from, to);
    } catch (err) {
        if (err instanceof ConfigPathsInputError) return [`(${err.message})`];
        throw err;
    }
}

/** At most this many paths are listed in a line; the rest are counted. */
const LISTED_PATHS = 12;

/** "machine.nodeLabels.tier, cluster.apiServer.image", "… and 3 more", or "layout only". */
export function describePaths(paths: readonly string[]): string {
    if (paths.length === 0) return "layout and comments only, no field";
    const listed = paths.slice(0, LISTED_PATHS).join(", ");
    const rest = paths.length - LISTED_PATHS;
    return rest > 0 ? `${listed} and ${rest} more` : listed;
}
