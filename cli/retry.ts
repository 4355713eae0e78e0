// The one loop both commands run: try, and if not done, wait (paced by a backoff or a fixed
// interval) and try again until a deadline. A step decides what its failures mean: it returns
// a reason to keep waiting, or throws to stop at once. Waiting is always a clock sleep, never a
// spin, and never past the deadline.

import type { Clock } from "./context";

/** How long to wait before the next attempt, given how long the last one took. */
export interface Pacer {
    next(lastAttemptMs: number): number;
}

/** Attempts start every `intervalMs` (or at once, if an attempt took longer). */
export function fixedInterval(intervalMs: number): Pacer {
    return { next: (lastAttemptMs) => Math.max(0, intervalMs - lastAttemptMs) };
}

export type StepResult<T> = { done: true; value: T } | { done: false; reason: string };

/** The deadline passed; `lastReason` is why the last attempt was not done. */
export class DeadlineReached extends Error {
    constructor(readonly lastReason: string | undefined) {
        super(`deadline reached${lastReason ? ` (last: ${lastReason})` : ""}`);
        this.name = "DeadlineReached";
    }
}

/**
 * An attempt is not started with less time than this left: it could only time out, and its
 * "no answer" would hide the reason the attempts before it gave.
 */
export const MIN_ATTEMPT_MS = 100;

/**
 * Run `step` until it is done or `deadline` (clock time) passes. `step` gets the time left, to
 * bound its own calls.
 */
export async function retryUntil<T>(
    clock: Clock,
    deadline: number,
    pacer: Pacer,
    step: (remainingMs: number) => Promise<StepResult<T>>,
): Promise<T> {
    let lastReason: string | undefined;
    for (;;) {
        const started = clock.now();
        const remaining = deadline - started;
        if (remaining <= 0) throw new DeadlineReached(lastReason);
        const result = await step(remaining);
        if (result.done) return result.value;
        lastReason = result.reason;
        const now = clock.now();
        const wait = pacer.next(now - started);
        if (now + wait + MIN_ATTEMPT_MS > deadline) {
            // The next attempt would start too close to the deadline to get an answer: wait out
            // the time that was asked for, and stop.
            await clock.sleep(deadline - now);
            throw new DeadlineReached(lastReason);
        }
        if (wait > 0) await clock.sleep(wait);
    }
}
