// The loop machinery in virtual time: backoff bounds, no busy loop, progress rate limiting.

import { describe, expect, it } from "vitest";

import { Backoff, DEFAULT_BACKOFF } from "../../cli/backoff";
import { Progress } from "../../cli/progress";
import { DeadlineReached, fixedInterval, retryUntil } from "../../cli/retry";
import { FakeClock } from "./support/fakeclock";

describe("Backoff", () => {
    it("grows from 100 ms to a 500 ms cap, jittered down by at most 20%", () => {
        const top = new Backoff(DEFAULT_BACKOFF, () => 0);
        expect(Array.from({ length: 6 }, () => Math.round(top.next()))).toEqual([100, 160, 256, 410, 500, 500]);
        const bottom = new Backoff(DEFAULT_BACKOFF, () => 0.999999);
        expect(Array.from({ length: 6 }, () => Math.round(bottom.next()))).toEqual([80, 128, 205, 328, 400, 400]);
    });

    it("starts over after reset", () => {
        const b = new Backoff(DEFAULT_BACKOFF, () => 0);
        b.next();
        b.next();
        b.reset();
        expect(b.next()).toBe(100);
    });
});

describe("retryUntil", () => {
    it("polls a never-ready target 120 times in 60 s at a 500 ms interval, sleeping between polls", async () => {
        const clock = new FakeClock();
        let attempts = 0;
        const run = retryUntil(clock, 60_000, fixedInterval(500), async () => {
            attempts++;
            return { done: false, reason: "not yet" };
        });
        await expect(run).rejects.toEqual(new DeadlineReached("not yet"));
        expect(attempts).toBe(120);
        expect(clock.now()).toBe(60_000);
        expect(clock.sleeps.every((ms) => ms > 0)).toBe(true);
    });

    it("starts the next attempt at once when one took longer than the interval", async () => {
        const clock = new FakeClock();
        let attempts = 0;
        const value = await retryUntil(clock, 10_000, fixedInterval(500), async () => {
            clock.advance(700);
            return ++attempts === 3 ? { done: true, value: "ok" } : { done: false, reason: "slow" };
        });
        expect(value).toBe("ok");
        expect(clock.sleeps).toEqual([]);
        expect(clock.now()).toBe(2100);
    });

    it("does not start an attempt it has no time to finish, but waits out the timeout", async () => {
        const clock = new FakeClock();
        const remaining: number[] = [];
        await expect(
            retryUntil(clock, 1_050, fixedInterval(500), async (r) => {
                remaining.push(r);
                return { done: false, reason: "no" };
            }),
        ).rejects.toBeInstanceOf(DeadlineReached);
        expect(remaining).toEqual([1_050, 550]);
        expect(clock.now()).toBe(1_050);
    });
});

describe("Progress", () => {
    it("prints a new state at once, a new reason after a second, and the same line every 5 s", () => {
        const clock = new FakeClock();
        const out: string[] = [];
        const p = new Progress("t", (l) => out.push(l), clock);
        p.waiting("waiting for a");
        clock.advance(400);
        p.waiting("waiting for a", "refused"); // new reason, too soon
        clock.advance(700);
        p.waiting("waiting for a", "refused"); // 1.1 s after the last line
        clock.advance(2_000);
        p.waiting("waiting for a", "refused"); // same line, 2 s later: quiet
        clock.advance(3_000);
        p.waiting("waiting for a", "refused"); // 5 s: repeat
        clock.advance(100);
        p.waiting("waiting for b"); // new state: at once
        p.note("done");
        expect(out).toEqual([
            "[t] waiting for a (0s)",
            "[t] waiting for a (1s, refused)",
            "[t] waiting for a (6s, refused)",
            "[t] waiting for b (6s)",
            "[t] done (6s)",
        ]);
    });
});
