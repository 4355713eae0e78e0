import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { nodeMirrors } from "../../model/registries";
import { projectRoot } from "../support/stack";

// The conformance suite's mirror cases (tests/conformance/mirror-cases.yaml) are written out
// literally, for Talos' generator to read too; the "cache" case must stay what our nodes get.
const cases = parse(readFileSync(join(projectRoot, "tests/conformance/mirror-cases.yaml"), "utf8")) as
    { name: string; mirrors: Record<string, string[]> }[];

describe("conformance mirror cases", () => {
    it("the cache case is what a node of the reference subnet gets with the cache and two mirrors of its own", () => {
        const cache = cases.find((c) => c.name === "cache");
        expect(cache).toBeDefined();
        const own = Object.fromEntries(Object.entries(cache?.mirrors ?? {}).filter(([host]) => host === "*" || host.includes(":")));
        expect(Object.keys(own)).toHaveLength(2);
        expect(nodeMirrors({ network: { subnet: "172.30.0.0/24" }, registryCache: { enabled: true }, registryMirrors: own }))
            .toEqual(cache?.mirrors);
    });

    it("has the reference stack's none", () => {
        expect(cases.find((c) => c.name === "none")?.mirrors).toEqual({});
    });
});
