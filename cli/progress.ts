// Progress lines a person can follow in `pulumi up` output: what we wait for, for how long, and
// why it is not there yet — `[bootstrap] waiting for apid on 127.0.0.1:50000 (12s, connection
// refused)`. A state that does not change is repeated only every `repeatMs`, so a ten-minute
// wait prints a page, not thousands of lines.

import { formatDuration } from "../model/duration";
import type { Clock } from "./context";

export interface ProgressOptions {
    /** repeat an unchanged line this often; default 5 s */
    repeatMs?: number;
    /** a line whose reason alone changed waits at least this long; default 1 s */
    minGapMs?: number;
}

export class Progress {
    private readonly start: number;
    private readonly repeatMs: number;
    private readonly minGapMs: number;
    private lastState: string | undefined;
    private lastReason: string | undefined;
    private lastAt = -Infinity;

    constructor(
        private readonly tag: string,
        private readonly out: (line: string) => void,
        private readonly clock: Clock,
        opts: ProgressOptions = {},
    ) {
        this.start = clock.now();
        this.repeatMs = opts.repeatMs ?? 5_000;
        this.minGapMs = opts.minGapMs ?? 1_000;
    }

    /** milliseconds since the command started */
    elapsedMs(): number {
        return this.clock.now() - this.start;
    }

    elapsed(): string {
        return formatDuration(this.elapsedMs());
    }

    /** `[tag] <state> (<elapsed>, <reason>)`, unless it would repeat the last line too soon. */
    waiting(state: string, reason?: string): void {
        const now = this.clock.now();
        const since = now - this.lastAt;
        const due =
            state !== this.lastState ||
            (reason !== this.lastReason && since >= this.minGapMs) ||
            since >= this.repeatMs;
        if (!due) return;
        this.lastState = state;
        this.lastReason = reason;
        this.lastAt = now;
        this.out(`[${this.tag}] ${state} (${this.elapsed()}${reason ? `, ${reason}` : ""})`);
    }

    /** A line that is always printed: a step done, the result. */
    note(text: string): void {
        this.lastState = undefined;
        this.out(`[${this.tag}] ${text} (${this.elapsed()})`);
    }
}
