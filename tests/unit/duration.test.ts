import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../model/duration";

describe("parseDuration", () => {
    it.each([["10m", 600_000], ["90s", 90_000], ["1h30m", 5_400_000], ["500ms", 500], ["1.5s", 1500]])("%s", (text, ms) => {
        expect(parseDuration(text)).toBe(ms);
    });
    it.each(["", "10", "10 m", "-5s", "5d", "m10"])("rejects %j", (text) => {
        expect(parseDuration(text)).toBeUndefined();
    });
});

describe("formatDuration", () => {
    it.each([[0, "0s"], [4_400, "4s"], [59_600, "1m00s"], [125_000, "2m05s"]])("%d ms", (ms, text) => {
        expect(formatDuration(ms)).toBe(text);
    });
});
