// What the command resources put on the CLI's command line is what the CLI reads back.
import { describe, expect, it } from "vitest";
import { listFlag } from "../../cli/flags";
import { cliCommandLine, formatNodeRefs, parseNodeRefs } from "../../cli/invocation";

describe("--containers", () => {
    it("reads back the nodes it was written from, with and without an address", () => {
        const nodes = [{ container: "talos-cp-01", ip: "172.30.0.2" }, { container: "talos-worker-01" }];
        expect(formatNodeRefs(nodes)).toBe("talos-cp-01=172.30.0.2,talos-worker-01");
        expect(parseNodeRefs(listFlag(formatNodeRefs(nodes)))).toEqual(nodes);
    });
});

describe("cliCommandLine", () => {
    it("runs cli/main.ts through tsx, relative to the project directory", () => {
        expect(cliCommandLine(["wait", "--nodes", "3"])).toBe("node --import tsx cli/main.ts wait --nodes 3");
    });
});
