import { beforeAll, describe, expect, it } from "vitest";
import {
    changeProblems, ConfigChangeError, readScheduling, readSecretsIdentity, readVersions, refuseChanges, schedulingRecord,
    secretsIdentity, selfReferenceName, type PreviousRun,
} from "../../model/clusterchange";
import { etcdQuorum, lowestControlPlaneStep, readNodes, type NodeRecord } from "../../model/nodechange";
import { planCluster } from "../../model/plan";
import { parseClusterSpec, type ClusterSpec } from "../../model/config";
import { describeProblem } from "../../model/configproblems";
import type { SecretsBundle } from "../../talos/secretsbundle";
import { makeSecretsBundle } from "../support/pki";
import { asRawConfig } from "../support/stack";

const spec = (values: Record<string, unknown> = {}) => parseClusterSpec(asRawConfig(values));
const found = (previous: PreviousRun, s: ClusterSpec) => changeProblems(previous, s).map((p) => [describeProblem(p), p.fix]);
const running = (talos: string, kubernetes: string): PreviousRun => ({ versions: { talos, kubernetes } });

let bundle: SecretsBundle;
let other: SecretsBundle;

beforeAll(async () => {
    [bundle, other] = await Promise.all([makeSecretsBundle({ rsaBits: 2048 }), makeSecretsBundle({ rsaBits: 2048 })]);
});

/** The spec of a stack whose secretsFile holds `b`. */
function withFile(b: SecretsBundle): ClusterSpec {
    return { ...spec(), importedSecrets: { path: "secrets.yaml", bundle: b } };
}

describe("versions", () => {
    it("a new stack, or one made before versions were recorded, is not checked", () => {
        expect(changeProblems({}, spec({ talosVersion: "v1.13.9", kubernetesVersion: "1.36.3" }))).toEqual([]);
    });

    it.each([
        ["the same versions", "v1.8.3", "1.31.1", {}],
        ["a Talos patch", "v1.8.3", "1.31.1", { talosVersion: "v1.8.4" }],
        ["a Talos minor up, skipping one", "v1.8.3", "1.31.1", { talosVersion: "v1.10.9", kubernetesVersion: "1.31.1" }],
        ["a Kubernetes minor up", "v1.8.3", "1.30.4", {}],
        ["both at once, where the new Talos runs the old Kubernetes", "v1.8.3", "1.30.4", { talosVersion: "v1.9.6", kubernetesVersion: "1.31.1" }],
    ])("%s passes", (_name, talos, kubernetes, values) => {
        expect(changeProblems(running(talos, kubernetes), spec(values))).toEqual([]);
    });

    it("Talos skipping two minors: refused, with the release to go to first", () => {
        expect(found(running("v1.8.3", "1.31.1"), spec({ talosVersion: "v1.11.6", kubernetesVersion: "1.31.1" }))).toEqual([[
            'talos-docker:talosVersion = "v1.11.6": the nodes run Talos v1.8.3, and Talos v1.11 upgrades only from v1.9 or later: ' +
                "move to v1.9 (or the minor after it) first",
            "pulumi config set talos-docker:talosVersion v1.10.9, pulumi up, then set v1.11.6 again",
        ]]);
    });

    it("Talos down two minors: refused, one minor at a time", () => {
        expect(found(running("v1.10.9", "1.31.1"), spec())).toEqual([[
            'talos-docker:talosVersion = "v1.8.3": the nodes run Talos v1.10.9, and Talos v1.8 can be downgraded to only from ' +
                "releases before v1.10: go down one minor at a time",
            "pulumi config set talos-docker:talosVersion v1.9.6, pulumi up, then set v1.8.3 again",
        ]]);
    });

    it("Kubernetes skipping a minor: refused, with the minor to go to first", () => {
        expect(found(running("v1.8.3", "1.29.1"), spec())).toEqual([[
            'talos-docker:kubernetesVersion = "1.31.1": the cluster runs Kubernetes 1.29.1: it moves one minor at a time, so 1.31.1 needs 1.30.x first',
            "pulumi config set talos-docker:kubernetesVersion 1.30.0, pulumi up, then set 1.31.1 again",
        ]]);
    });

    it("Kubernetes down a minor: refused, keeping the running version", () => {
        expect(found(running("v1.8.3", "1.31.1"), spec({ kubernetesVersion: "1.30.1" }))).toEqual([[
            'talos-docker:kubernetesVersion = "1.30.1": the cluster runs Kubernetes 1.31.1: a downgrade to another minor (1.30.1) ' +
                "is not supported; recreate the cluster (pulumi destroy, then pulumi up) to run an older Kubernetes",
            "pulumi config set talos-docker:kubernetesVersion 1.31.1 to keep the running version",
        ]]);
    });

    it("a new Talos that does not run the nodes' Kubernetes: refused, Kubernetes first", () => {
        expect(found(running("v1.8.3", "1.27.1"), spec({ talosVersion: "v1.10.9", kubernetesVersion: "1.28.0" }))).toEqual([[
            'talos-docker:talosVersion = "v1.10.9": the nodes run Kubernetes 1.27.1 until the new config reaches them, and ' +
                "Talos v1.10 runs Kubernetes 1.28 to 1.33 only: change kubernetesVersion first, in a pulumi up of its own",
            "pulumi config set talos-docker:talosVersion v1.8.3, pulumi up (Kubernetes 1.28.0 on Talos v1.8.3), then set v1.10.9 again",
        ]]);
    });

    it("every refused change at once, the Kubernetes step taken on the running Talos", () => {
        const problems = found(running("v1.8.3", "1.26.1"), spec({ talosVersion: "v1.10.9", kubernetesVersion: "1.28.0" }));
        expect(problems.map(([text]) => text.split(":")[1])).toEqual(["kubernetesVersion = \"1.28.0\"", "talosVersion = \"v1.10.9\""]);
        expect(problems[0][1]).toBe("pulumi config set talos-docker:talosVersion v1.8.3 and " +
            "pulumi config set talos-docker:kubernetesVersion 1.27.0, pulumi up, then set 1.28.0 again");
    });
});

describe("a stack without kubernetesVersion that raises talosVersion", () => {
    // Its Kubernetes is the Talos minor's default, so it moves with talosVersion, and the
    // Kubernetes rule applies to that implied version.
    it("one Talos minor up: Kubernetes follows to the new minor's default, a change both allow", () => {
        const next = spec({ talosVersion: "v1.14.1" });
        expect([next.kubernetesVersion, next.kubernetesFollowsTalos]).toEqual(["1.37.0", true]);
        expect(changeProblems(running("v1.13.9", "1.36.3"), next)).toEqual([]);
    });

    it("two Talos minors up: the implied Kubernetes skips a minor, refused, saying where it comes from", () => {
        expect(found(running("v1.12.11", "1.35.4"), spec({ talosVersion: "v1.14.1" }))).toEqual([[
            'talos-docker:kubernetesVersion = "1.37.0": the cluster runs Kubernetes 1.35.4: it moves one minor at a time, ' +
                "so 1.37.0 needs 1.36.x first (kubernetesVersion is not set, so it is Talos v1.14.1's default)",
            "pulumi config set talos-docker:kubernetesVersion 1.35.4 to keep the running version",
        ]]);
        // Pinning the running Kubernetes, as the fix says, lets the Talos change through.
        expect(changeProblems(running("v1.12.11", "1.35.4"), spec({ talosVersion: "v1.14.1", kubernetesVersion: "1.35.4" }))).toEqual([]);
    });

    it("a kubernetesVersion the stack sets is named as its own", () => {
        const set = spec({ talosVersion: "v1.14.1", kubernetesVersion: "1.37.0" });
        expect(set.kubernetesFollowsTalos).toBeUndefined();
        expect(found(running("v1.12.11", "1.35.4"), set)[0][0]).toBe(
            'talos-docker:kubernetesVersion = "1.37.0": the cluster runs Kubernetes 1.35.4: it moves one minor at a time, ' +
                "so 1.37.0 needs 1.36.x first",
        );
    });
});

describe("secrets", () => {
    const fingerprint = (b: SecretsBundle) => secretsIdentity(b, "file").caFingerprint;

    it("the identity is a fingerprint of the CA certificates only: no key, no token", () => {
        const identity = secretsIdentity(bundle, "generated");
        expect(identity).toEqual({ source: "generated", caFingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
        expect(fingerprint(other)).not.toBe(identity.caFingerprint);
        // Other tokens with the same CAs are the same identity.
        expect(fingerprint({ ...bundle, trustdInfo: other.trustdInfo })).toBe(identity.caFingerprint);
        expect(fingerprint({ ...bundle, certs: { ...bundle.certs, etcd: other.certs.etcd } })).not.toBe(identity.caFingerprint);
    });

    it("pinning the running cluster's secrets into a file passes", () => {
        expect(changeProblems({ secrets: secretsIdentity(bundle, "generated") }, withFile(bundle))).toEqual([]);
        expect(changeProblems({ secrets: secretsIdentity(bundle, "file") }, withFile(bundle))).toEqual([]);
    });

    it("generated secrets stay the stack's own resources: passes", () => {
        expect(changeProblems({ secrets: secretsIdentity(bundle, "generated") }, spec())).toEqual([]);
    });

    const recreate = "pulumi destroy, then pulumi up (a new cluster with the new secrets); or npm run destroy -- --keep-secrets, " +
        "then pulumi up (a new cluster with the current secrets)";

    it("a file with other CAs than the generated ones: refused, saying why and what to do", () => {
        expect(found({ secrets: secretsIdentity(bundle, "generated") }, withFile(other))).toEqual([[
            'talos-docker:secretsFile = "secrets.yaml": holds other CAs than the cluster runs (generated by the stack); a running ' +
                "cluster cannot change its CAs in place: undo the change, or recreate the cluster (its volumes and workloads are lost)",
            `pulumi config rm talos-docker:secretsFile to keep them; or ${recreate}`,
        ]]);
    });

    it("another file: refused", () => {
        expect(found({ secrets: secretsIdentity(bundle, "file") }, withFile(other))[0]).toEqual([
            expect.stringContaining("holds other CAs than the cluster runs (from another secrets file)"),
            `pulumi config set talos-docker:secretsFile <the file the cluster was made with> to keep them; or ${recreate}`,
        ]);
    });

    it("removing secretsFile, which would generate new CAs: refused", () => {
        expect(found({ secrets: secretsIdentity(bundle, "file") }, spec())).toEqual([[
            'talos-docker:secretsFile = "": is unset, so the stack would generate new secrets, but the cluster runs the CAs of ' +
                "the secrets file it was made with; a running cluster cannot change its CAs in place: undo the change, or " +
                "recreate the cluster (its volumes and workloads are lost)",
            `pulumi config set talos-docker:secretsFile <the file the cluster was made with> to keep them; or ${recreate}`,
        ]]);
    });
});

describe("reading the previous outputs back", () => {
    it("names the stack itself as each backend takes it: bare on a local one, qualified on Pulumi Cloud", () => {
        expect(selfReferenceName("organization", "talos-docker", "dev")).toBe("dev");
        expect(selfReferenceName("acme", "talos-docker", "dev")).toBe("acme/talos-docker/dev");
    });

    it("takes the recorded shapes, and nothing else", () => {
        expect(readVersions({ talos: "v1.8.3", kubernetes: "1.31.1" })).toEqual({ talos: "v1.8.3", kubernetes: "1.31.1" });
        for (const bad of [undefined, null, "v1.8.3", { talos: "v1.8.3" }, [1]]) expect(readVersions(bad)).toBeUndefined();
        expect(readSecretsIdentity({ source: "file", caFingerprint: "sha256:ab" })).toEqual({ source: "file", caFingerprint: "sha256:ab" });
        for (const bad of [undefined, { source: "elsewhere", caFingerprint: "x" }, { source: "file" }]) expect(readSecretsIdentity(bad)).toBeUndefined();
    });

    it("refuseChanges throws every problem as one ConfigChangeError", () => {
        let error: unknown;
        try {
            refuseChanges({ ...running("v1.8.3", "1.29.1"), secrets: secretsIdentity(bundle, "file") }, spec({ talosVersion: "v1.11.6" }));
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(ConfigChangeError);
        const lines = (error as Error).message.split("\n");
        expect(lines[0]).toBe("the stack config asks for a change the running cluster cannot take (3 problems); nothing was changed:");
        expect(lines.filter((l) => l.startsWith("  - ")).map((l) => l.split(" = ")[0])).toEqual([
            "  - talos-docker:talosVersion", "  - talos-docker:kubernetesVersion", "  - talos-docker:secretsFile",
        ]);
    });
});

/** The `nodes` output a run of `values` left, and the `scheduling` record of this version. */
function ran(values: Record<string, unknown>): PreviousRun {
    const nodes: NodeRecord[] = planCluster(spec(values)).nodes.map((n) => ({ name: n.name, role: n.role, ip: n.ip }));
    return { nodes, scheduling: schedulingRecord(spec(values), {}) };
}
const counts = (controlPlanes: number, workers: number) => ({ controlPlanes: { count: controlPlanes }, workers: { count: workers } });

describe("nodes: scaling", () => {
    it("raising either count, or both, passes", () => {
        expect(changeProblems(ran(counts(1, 2)), spec(counts(3, 5)))).toEqual([]);
        expect(changeProblems(ran(counts(3, 5)), spec(counts(5, 5)))).toEqual([]);
        expect(changeProblems(ran(counts(1, 0)), spec(counts(1, 3)))).toEqual([]);
    });

    it("lowering the workers, to none as well, passes", () => {
        expect(changeProblems(ran(counts(3, 5)), spec(counts(3, 0)))).toEqual([]);
    });

    it.each([
        [2, 1], [3, 2], [4, 3], [5, 4], [5, 3], [6, 4], [7, 6], [7, 4],
    ])("control planes %i → %i: one fewer, or a majority of the members remaining, passes", (from, to) => {
        expect(changeProblems(ran(counts(from, 2)), spec(counts(to, 2)))).toEqual([]);
    });

    it.each([
        [3, 1], [4, 2], [5, 2], [6, 3], [7, 3], [7, 1],
    ])("control planes %i → %i: fewer than a majority of the members remaining, refused", (from, to) => {
        const problems = changeProblems(ran(counts(from, 2)), spec(counts(to, 2)));
        expect(problems.map((p) => p.key)).toEqual(["talos-docker:controlPlanes.count"]);
    });

    it("the quorum arithmetic: a majority of the members, and the lowest step down", () => {
        expect([1, 2, 3, 4, 5, 6, 7].map(etcdQuorum)).toEqual([1, 2, 2, 3, 3, 4, 4]);
        expect([2, 3, 4, 5, 6, 7].map(lowestControlPlaneStep)).toEqual([1, 2, 3, 3, 4, 4]);
    });

    it("3 control planes to 1: refused, naming the key, the value, the quorum and the lowest step", () => {
        expect(found(ran(counts(3, 2)), spec(counts(1, 2)))).toEqual([[
            "talos-docker:controlPlanes.count = 1: lowering it from 3 to 1 removes 2 etcd members in one pulumi up: the 1 " +
                "that remains is not a majority of the 3 running (etcd needs 2 for its quorum), so etcd would stop should a " +
                "leaving member stop before it has left; from 3, one pulumi up may go down to 2 (one fewer, or as many fewer " +
                "as leave a majority)",
            "pulumi config set --path 'talos-docker:controlPlanes.count' 2, pulumi up, then set 1 again",
        ]]);
    });

    it("a new cluster name, which would remove the bootstrap node: refused", () => {
        expect(found(ran(counts(3, 2)), spec({ ...counts(3, 2), clusterName: "lab" }))).toEqual([[
            'talos-docker:clusterName = "lab": would remove the running cluster\'s bootstrap node talos-cp-01 (the first ' +
                "control plane: etcd's first member, and the APIs' endpoint) with all 5 of its nodes, and create a new " +
                "cluster at their addresses; a running cluster cannot be renamed",
            "pulumi config set talos-docker:clusterName talos to keep it, or npm run destroy, then pulumi up for a cluster " +
                "under the new name",
        ]]);
    });

    it("every problem at once: a quorum and a version refused together", () => {
        const previous = { ...ran(counts(5, 2)), versions: { talos: "v1.8.3", kubernetes: "1.31.1" } };
        const problems = changeProblems(previous, spec({ ...counts(2, 2), talosVersion: "v1.11.6", kubernetesVersion: "1.31.1" }));
        expect(problems.map((p) => p.key)).toEqual(["talos-docker:talosVersion", "talos-docker:controlPlanes.count"]);
    });

    it("a stack whose nodes have no removal step yet (no scheduling record): lowering a count refused, raising passes", () => {
        const { nodes } = ran(counts(3, 3));
        expect(changeProblems({ nodes }, spec(counts(5, 4)))).toEqual([]);
        expect(found({ nodes }, spec(counts(2, 1)))).toEqual([
            [
                "talos-docker:controlPlanes.count = 2: the running nodes were declared by an earlier version of this " +
                    "program, without the step that takes a node out of the cluster first (a worker's drain, a control " +
                    "plane's etcd leave): lowering it from 3 to 2 now would remove talos-cp-03 without an etcd leave",
                "pulumi config set --path 'talos-docker:controlPlanes.count' 3, pulumi up (it adds that step to every node), " +
                    "then set 2 again",
            ],
            [
                "talos-docker:workers.count = 1: the running nodes were declared by an earlier version of this program, " +
                    "without the step that takes a node out of the cluster first (a worker's drain, a control plane's etcd " +
                    "leave): lowering it from 3 to 1 now would remove talos-worker-02 and talos-worker-03 without a drain",
                "pulumi config set --path 'talos-docker:workers.count' 3, pulumi up (it adds that step to every node), then " +
                    "set 1 again",
            ],
        ]);
    });

    it("nodes placed by the earlier plan (every node from .2 up): refused where a node would move", () => {
        const old: NodeRecord[] = [
            { name: "talos-cp-01", role: "controlplane", ip: "172.30.0.2" },
            { name: "talos-cp-02", role: "controlplane", ip: "172.30.0.3" },
            { name: "talos-cp-03", role: "controlplane", ip: "172.30.0.4" },
            { name: "talos-worker-01", role: "worker", ip: "172.30.0.5" },
        ];
        const problems = found({ nodes: old }, spec(counts(3, 1)));
        expect(problems).toHaveLength(1);
        expect(problems[0][0]).toMatch(/^talos-docker:controlPlanes.count = 3: the running nodes were addressed by an earlier version/);
        expect(problems[0][0]).toContain("would move talos-cp-02 from 172.30.0.3 to 172.30.0.254, talos-cp-03 from 172.30.0.4 to " +
            "172.30.0.253 and talos-worker-01 from 172.30.0.5 to 172.30.0.3");
        // One control plane and its workers sit where they always did.
        expect(changeProblems({ nodes: old.filter((n) => n.name === "talos-cp-01") }, spec(counts(1, 2)))).toEqual([]);
    });

    it("a new subnet, which would move every node: refused on network.subnet", () => {
        const problems = changeProblems(ran(counts(1, 2)), spec({ network: { subnet: "10.9.0.0/24" } }));
        expect(problems.map((p) => p.key)).toEqual(["talos-docker:network.subnet"]);
        expect(problems[0].message).toContain("would move the running nodes (talos-cp-01 from 172.30.0.2 to 10.9.0.2,");
    });
});

describe("scheduling on the control planes", () => {
    it("on without workers, and kept on once it was, so workers joining change no control plane", () => {
        expect(schedulingRecord(spec(counts(1, 0)), {})).toEqual({ controlPlanes: true });
        expect(schedulingRecord(spec(counts(1, 2)), {})).toEqual({ controlPlanes: false });
        expect(schedulingRecord(spec(counts(1, 2)), { scheduling: { controlPlanes: true } })).toEqual({ controlPlanes: true });
        expect(schedulingRecord(spec(counts(1, 2)), { scheduling: { controlPlanes: false } })).toEqual({ controlPlanes: false });
    });

    it("reads back the nodes and scheduling records, and nothing else", () => {
        const nodes = [{ name: "a-cp-01", role: "controlplane", ip: "10.0.0.2", container: "a-cp-01" }];
        expect(readNodes(nodes)).toEqual([{ name: "a-cp-01", role: "controlplane", ip: "10.0.0.2" }]);
        for (const bad of [undefined, {}, [{ name: "x", role: "master", ip: "1.2.3.4" }], [{ name: "x", role: "worker" }]]) {
            expect(readNodes(bad)).toBeUndefined();
        }
        expect(readScheduling({ controlPlanes: true })).toEqual({ controlPlanes: true });
        for (const bad of [undefined, true, { controlPlanes: "yes" }]) expect(readScheduling(bad)).toBeUndefined();
    });
});
