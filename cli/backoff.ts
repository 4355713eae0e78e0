// Retry delays: exponential, capped, jittered. The cap is low on purpose: everything we wait
// for is local (a container on this machine), so the cost of a retry is a few milliseconds,
// and a low cap is what lets us notice a ready API within a second (bench/readiness.ts).
// Jitter keeps several waiters (bootstrap and wait of two stacks) from polling in lockstep.

export interface BackoffPolicy {
    /** the first delay */
    initialMs: number;
    /** growth per retry */
    factor: number;
    /** the largest delay before jitter */
    maxMs: number;
    /** a delay is drawn from [d·(1−jitter), d] */
    jitter: number;
}

/** Talos' own client waits 500 ms between Version polls (talos@v1.8.3:pkg/cluster/bootstrap.go); we start faster and stop at that. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 100, factor: 1.6, maxMs: 500, jitter: 0.2 };

export class Backoff {
    private attempt = 0;

    constructor(
        private readonly policy: BackoffPolicy,
        private readonly random: () => number,
    ) {}

    /** The delay before the next retry. */
    next(): number {
        const { initialMs, factor, maxMs, jitter } = this.policy;
        const base = Math.min(maxMs, initialMs * factor ** this.attempt);
        this.attempt++;
        return base * (1 - jitter * this.random());
    }

    reset(): void {
        this.attempt = 0;
    }
}
