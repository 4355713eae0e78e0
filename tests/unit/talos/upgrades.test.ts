import { describe, expect, it } from "vitest";

import { kubernetesChangeProblem, kubernetesStepToward, talosChangeProblem, talosStepToward } from "../../../talos/upgrades";

describe("talosChangeProblem", () => {
    it.each([
        ["v1.8.3", "v1.8.4"], ["v1.8.3", "v1.9.6"], ["v1.8.3", "v1.10.9"], ["v1.11.6", "v1.13.9"],
        ["v1.13.9", "v1.12.11"], ["v1.9.6", "v1.8.3"], ["v1.8.4", "v1.8.0"],
    ])("%s → %s: allowed (one minor may be skipped up, one minor back down)", (from, to) => {
        expect(talosChangeProblem(from, to)).toBeUndefined();
    });

    it("an upgrade that skips two minors is refused, naming the step in between", () => {
        expect(talosChangeProblem("v1.8.3", "v1.11.6")).toBe("the nodes run Talos v1.8.3, and Talos v1.11 upgrades only " +
            "from v1.9 or later: move to v1.9 (or the minor after it) first");
    });

    it("a downgrade of two minors is refused", () => {
        expect(talosChangeProblem("v1.10.9", "v1.8.3")).toBe("the nodes run Talos v1.10.9, and Talos v1.8 can be downgraded " +
            "to only from releases before v1.10: go down one minor at a time");
    });
});

describe("kubernetesChangeProblem", () => {
    it.each([["1.31.1", "1.31.2"], ["1.31.2", "1.31.1"], ["1.31.1", "1.32.0"], ["1.31.1", "1.31.1"]])("%s → %s: allowed", (from, to) => {
        expect(kubernetesChangeProblem(from, to)).toBeUndefined();
    });

    it("skipping a minor is refused", () => {
        expect(kubernetesChangeProblem("1.30.4", "1.32.0"))
            .toBe("the cluster runs Kubernetes 1.30.4: it moves one minor at a time, so 1.32.0 needs 1.31.x first");
    });

    it("a minor downgrade is refused, with what to do instead", () => {
        expect(kubernetesChangeProblem("1.31.1", "1.30.9")).toMatch(/^the cluster runs Kubernetes 1.31.1: a downgrade to another minor/);
    });
});

describe("talosStepToward", () => {
    it.each([
        ["v1.8.3", "v1.11.6", "v1.10.9"], ["v1.8.3", "v1.13.9", "v1.10.9"], ["v1.10.9", "v1.8.3", "v1.9.6"],
        ["v1.12.11", "v1.8.3", "v1.11.6"],
    ])("%s toward %s: %s, the furthest minor the nodes may move to", (from, to, step) => {
        expect(talosStepToward(from, to)).toBe(step);
        expect(talosChangeProblem(from, step)).toBeUndefined();
    });

    it("none between neighbouring minors, nor for versions that do not parse", () => {
        expect(talosStepToward("v1.8.3", "v1.9.6")).toBeUndefined();
        expect(talosStepToward("1.8", "v1.11.6")).toBeUndefined();
    });
});

describe("kubernetesStepToward", () => {
    it("the next minor's .0 when that Talos runs it", () => {
        expect(kubernetesStepToward("1.30.4", "1.32.0", "v1.9.6")).toBe("1.31.0");
        expect(kubernetesChangeProblem("1.30.4", "1.31.0")).toBeUndefined();
    });

    it("none for a downgrade, or when the Talos does not run the next minor", () => {
        expect(kubernetesStepToward("1.31.1", "1.29.0", "v1.9.6")).toBeUndefined();
        expect(kubernetesStepToward("1.26.1", "1.28.0", "v1.10.9")).toBeUndefined();
    });
});
