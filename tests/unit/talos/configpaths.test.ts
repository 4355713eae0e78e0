// The path-level diff of two machine configs: every document, paths and never values.

import { describe, expect, it } from "vitest";

import { changedConfigPaths, ConfigPathsInputError } from "../../../talos/configpaths";

const SECRET = "s3cret.t0kenvalue000000";

const v1 = (extra = "") => `version: v1alpha1\nmachine:\n    type: worker\n    token: ${SECRET}\n${extra}cluster:\n    clusterName: a\n`;

describe("changedConfigPaths", () => {
    it("names the deepest fields that differ, sorted, and no value", () => {
        const before = v1("    nodeLabels:\n        tier: a\n    sysctls:\n        vm.max_map_count: \"0\"\n");
        const after = v1("    nodeLabels:\n        tier: b\n        zone: z\n    sysctls:\n        vm.max_map_count: \"1\"\n").replace(SECRET, "0ther.t0kenvalue000000");
        const paths = changedConfigPaths(before, after);
        expect(paths).toEqual(["machine.nodeLabels.tier", "machine.nodeLabels.zone", 'machine.sysctls["vm.max_map_count"]', "machine.token"]);
        // A map only one side has is named whole.
        expect(changedConfigPaths(v1(), v1("    env:\n        A: x\n"))).toEqual(["machine.env"]);
        expect(paths.join(" ")).not.toContain("t0kenvalue");
    });

    it("is empty when only layout, comments or quoting differ; null is as absent", () => {
        const before = v1();
        const after = `# a comment\nversion: "v1alpha1"\nmachine: {type: worker, token: '${SECRET}', env: null}\ncluster:\n  clusterName: a\n`;
        expect(changedConfigPaths(before, after)).toEqual([]);
    });

    it("names list elements by index, and a list of another length whole", () => {
        const a = v1("    certSANs:\n        - 1.1.1.1\n        - 2.2.2.2\n");
        expect(changedConfigPaths(a, v1("    certSANs:\n        - 1.1.1.1\n        - 3.3.3.3\n"))).toEqual(["machine.certSANs[1]"]);
        expect(changedConfigPaths(a, v1("    certSANs:\n        - 1.1.1.1\n"))).toEqual(["machine.certSANs"]);
    });

    it("compares the typed documents by kind and name, and names one that comes or goes", () => {
        const hostname = (auto: string) => `---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: ${auto}\n`;
        const mirror = `---\napiVersion: v1alpha1\nkind: RegistryMirrorConfig\nname: ghcr.io\nendpoints:\n    - url: http://10.5.0.1:5000\n`;
        expect(changedConfigPaths(v1() + hostname("stable"), v1() + hostname("off"))).toEqual(["HostnameConfig.auto"]);
        expect(changedConfigPaths(v1() + hostname("stable"), v1() + hostname("stable") + mirror)).toEqual(['RegistryMirrorConfig["ghcr.io"]']);
        expect(changedConfigPaths(v1() + hostname("stable"), hostname("stable"))).toEqual(["(v1alpha1 document)"]);
    });

    it("refuses text that is not YAML, quoting none of it", () => {
        expect(() => changedConfigPaths(v1(), `machine: [${SECRET}`)).toThrow(ConfigPathsInputError);
        expect(() => changedConfigPaths(v1(), `machine: [${SECRET}`)).toThrow(/^the new config is not valid YAML at line \d+ \([A-Z_]+\)$/);
    });
});
