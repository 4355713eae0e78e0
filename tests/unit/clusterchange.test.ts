import { beforeAll, describe, expect, it } from "vitest";
import {
    changeProblems, ConfigChangeError, readSecretsIdentity, readVersions, refuseChanges, secretsIdentity, selfReferenceName,
    type PreviousRun,
} from "../../model/clusterchange";
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
