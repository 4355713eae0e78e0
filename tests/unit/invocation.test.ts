// What the command resources put on the CLI's command line is what the CLI reads back.
import { parseArgs } from "node:util";
import { describe, expect, it } from "vitest";
import { listFlag } from "../../cli/flags";
import { cliCommandLine, formatNodeRefs, parseNodeRefs, waitArgs } from "../../cli/invocation";
import { waitTarget } from "../../cli/wait/options";

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

describe("waitArgs", () => {
    it("is read back by wait as the nodes by role and the config's components", () => {
        const nodes = [
            { container: "talos-cp-01", ip: "172.30.0.2", role: "controlplane" as const },
            { container: "talos-worker-01", ip: "172.30.0.3", role: "worker" as const },
        ];
        const args = waitArgs("talos", nodes, { cni: "none", kubeProxy: false, coreDns: true }, "15m");
        const flags = ["nodes", "timeout", "control-planes", "workers", "cni", "kube-proxy", "coredns", "cluster"];
        const { values } = parseArgs({ args: args.slice(1), options: Object.fromEntries(flags.map((f) => [f, { type: "string" as const }])) });
        expect(waitTarget("wait", values)).toEqual({
            expected: { count: 2, nodes: [{ name: "talos-cp-01", ip: "172.30.0.2", role: "controlplane" }, { name: "talos-worker-01", ip: "172.30.0.3", role: "worker" }], clusterName: "talos" },
            profile: { cni: "none", kubeProxy: false, coreDns: true },
        });
    });
});
