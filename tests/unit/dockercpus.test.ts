import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cpusReadBack, declaredCpus, nanoCpus, nearestDeclarableCpus, parseCpus } from "../../model/dockercpus";

/** Hundredths of a CPU, from 0.01 to 512, as the stack config takes them. */
const hundredths = fc.integer({ min: 1, max: 51_200 });

describe("cpusReadBack: the provider's nanoInt64ToDecimalString", () => {
    // terraform-provider-docker@v4.5.0:internal/provider/helpers_test.go TestNanoInt64ToDecimalString
    it.each([[1e9, "1.0"], [1.5e9, "1.5"], [2e9, "2.0"], [2.25e9, "2.25"]])("its own cases: %d → %s", (nano, text) => {
        expect(cpusReadBack(BigInt(nano))).toBe(text);
    });

    it("its quirks: every \"0\" of the string is counted, not the decimals'", () => {
        expect(cpusReadBack(10_000_000_000n)).toBe("10.");
        expect(cpusReadBack(101_000_000_000n)).toBe("101.");
        expect(cpusReadBack(50_000_000n)).toBe("0.1");
        expect(cpusReadBack(10_050_000_000n)).toBe("10.1");
        expect(cpusReadBack(10_010_000_000n)).toBe("10.0");
        expect(cpusReadBack(100_050_000_000n)).toBe("100.05");
        expect(cpusReadBack(0n)).toBe("0");
    });
});

describe("parseCpus: docker/cli opts.ParseCPUs on decimal text", () => {
    it("reads plain decimals, with or without digits after the point", () => {
        expect(parseCpus("2")).toBe(2_000_000_000n);
        expect(parseCpus("2.0")).toBe(2_000_000_000n);
        expect(parseCpus("10.")).toBe(10_000_000_000n);
        expect(parseCpus(".5")).toBe(500_000_000n);
        expect(parseCpus("1.000000001")).toBe(1_000_000_001n);
    });

    it("refuses what is not one, or finer than a nanosecond", () => {
        for (const text of ["", ".", "1.0000000001", "-1", "1e3", "two"]) expect(parseCpus(text), text).toBeUndefined();
    });
});

describe("declaredCpus", () => {
    it("whole CPUs whose digits have no zero read back as N.0, others as the provider writes them", () => {
        expect(declaredCpus(2)).toBe("2.0");
        expect(declaredCpus(1.5)).toBe("1.5");
        expect(declaredCpus(2.25)).toBe("2.25");
        expect(declaredCpus(10)).toBe("10.");
        expect(declaredCpus(1.15)).toBe("1.15");
    });

    it("a declared value is what the provider stores, and means the CPUs asked for", () => {
        fc.assert(fc.property(hundredths, (h) => {
            const declared = declaredCpus(h / 100);
            if (declared === undefined) return;
            expect(parseCpus(declared)).toBe(nanoCpus(h / 100));
            // Stored, it reads back as itself: the second `pulumi up` sees no change.
            expect(cpusReadBack(parseCpus(declared)!)).toBe(declared);
        }), { numRuns: 2000 });
    });

    // The rule written out from the code's reading: nine decimals of N.ab hold seven zeros, plus
    // one for a zero a or b; with nine zeros in all the provider rounds to one decimal, which loses
    // b unless it is zero. So N.0b is lost when N has one zero digit, N.ab (a ≠ 0) when it has two.
    it("is refused exactly when the hundredths digit is lost to that rounding", () => {
        fc.assert(fc.property(hundredths, (h) => {
            const zeros = [...String(Math.floor(h / 100))].filter((c) => c === "0").length;
            const tenths = Math.floor((h % 100) / 10);
            const lost = h % 10 !== 0 && zeros + (tenths === 0 ? 1 : 0) === 2;
            expect(declaredCpus(h / 100) === undefined, String(h / 100)).toBe(lost);
        }), { numRuns: 5000 });
    });

    it("nearestDeclarableCpus finds the values on either side that are declarable", () => {
        expect(nearestDeclarableCpus(10.05)).toEqual({ below: 10, above: 10.1 });
        expect(nearestDeclarableCpus(20.01)).toEqual({ below: 20, above: 20.1 });
        fc.assert(fc.property(hundredths, (h) => {
            const { below, above } = nearestDeclarableCpus(h / 100);
            for (const c of [below, above]) if (c !== undefined) expect(declaredCpus(c)).toBeDefined();
        }), { numRuns: 300 });
    });
});
