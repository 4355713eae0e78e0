// Virtual time for the CLI's loops: `sleep` moves the clock forward at once (after letting other
// callbacks run), so a ten-minute wait runs in milliseconds and its output is exact. Real work
// done between sleeps (requests to a fake server) can be counted in too (`realTime`), which keeps
// a bench honest: only the waiting is skipped, never the time a request takes.

import { performance } from "node:perf_hooks";
import { setImmediate as nextTurn } from "node:timers/promises";

import type { Clock } from "../../../cli/context";

export class FakeClock implements Clock {
    private virtual = 0;
    private readonly realStart = performance.now();
    readonly sleeps: number[] = [];

    constructor(private readonly opts: { realTime?: boolean; random?: () => number } = {}) {}

    now(): number {
        return this.virtual + (this.opts.realTime ? performance.now() - this.realStart : 0);
    }

    async sleep(ms: number): Promise<void> {
        this.sleeps.push(ms);
        await nextTurn();
        this.virtual += Math.max(0, ms);
    }

    random(): number {
        return this.opts.random?.() ?? 0;
    }

    /** move time without a sleep, as a slow call would */
    advance(ms: number): void {
        this.virtual += ms;
    }
}
