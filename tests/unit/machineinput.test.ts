// The machine-config input is made in one place, for the program and for the parser's patch check:
// what the parser accepts is what the nodes boot, and the endpoint is the plan's.
import { parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, describeProblem, parseClusterSpec } from "../../model/config";
import { machineConfigInput, rolePatches } from "../../model/machineinput";
import { controlPlaneEndpoint, planCluster } from "../../model/plan";
import { renderMachineConfig } from "../../talos/machineconfig";
import { parsePatch } from "../../talos/patches";
import type { SecretsBundle } from "../../talos/secretsbundle";
import { makeSecretsBundle } from "../support/pki";
import { asRawConfig } from "../support/stack";

function spec(overrides: Record<string, unknown> = {}) {
    return parseClusterSpec(asRawConfig(overrides));
}

function problems(raw: Record<string, unknown>): string[] {
    try {
        parseClusterSpec(asRawConfig(raw));
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.problems.map(describeProblem);
        throw err;
    }
}

// Removes the SAN that only a specific bind address adds (container mode's own 127.0.0.1 is first).
const REMOVE_SECOND_SAN = "- op: remove\n  path: /machine/certSANs/1\n";

describe("machineConfigInput", () => {
    it("uses the plan's endpoint: the first control plane's address on the in-container API port", () => {
        for (const subnet of ["172.30.0.0/24", "10.20.0.0/16", "192.168.7.64/26"]) {
            const s = spec({ network: { subnet }, controlPlanes: { count: 3 } });
            const plan = planCluster(s);
            const input = machineConfigInput(s, "worker", []);
            expect(input.controlPlaneEndpoint).toBe(plan.controlPlaneEndpoint);
            expect(input.controlPlaneEndpoint).toBe(`https://${plan.bootstrapNode.ip}:6443`);
            expect(controlPlaneEndpoint(subnet)).toBe(plan.controlPlaneEndpoint);
        }
    });

    it("adds the bind address as a SAN only when it is a specific address", () => {
        expect(machineConfigInput(spec(), "controlplane", []).additionalSANs).toEqual([]);
        const everywhere = spec({ ports: { bindAddress: "0.0.0.0" } });
        expect(machineConfigInput(everywhere, "worker", []).additionalSANs).toEqual([]);
        expect(machineConfigInput(spec({ ports: { bindAddress: "192.168.1.10" } }), "worker", []).additionalSANs)
            .toEqual(["192.168.1.10"]);
    });

    it("mounts the storage path only when storage is enabled", () => {
        expect(machineConfigInput(spec(), "worker", []).storagePath).toBe("/var/local-path-provisioner");
        expect(machineConfigInput(spec({ storage: { enabled: false } }), "worker", []).storagePath).toBeUndefined();
    });

    it("carries the role, the versions and the patches it is given, in order", () => {
        const patches = ["a: b", "c: d"].map((label) => parsePatch(`machine:\n  nodeLabels:\n    ${label}\n`));
        const versions = { talosVersion: "v1.13.9", kubernetesVersion: "1.36.3" };
        const input = machineConfigInput(spec(versions), "controlplane", patches);
        expect(input).toMatchObject({ role: "controlplane", clusterName: "talos", ...versions });
        expect(input.patches).toEqual(patches);
    });
});

describe("rolePatches", () => {
    const lists = { all: ["a1", "a2"], controlPlane: ["c1"], worker: ["w1", "w2"] };

    it("applies the patches for every node first, then the role's own", () => {
        expect(rolePatches(lists, "controlplane")).toEqual(["a1", "a2", "c1"]);
        expect(rolePatches(lists, "worker")).toEqual(["a1", "a2", "w1", "w2"]);
    });
});

describe("the parser checks a patch on the config the nodes get", () => {
    it("a patch of the SAN a specific bind address adds applies when that address is set", () => {
        expect(problems({ ports: { bindAddress: "192.168.1.10" }, configPatches: { worker: [REMOVE_SECOND_SAN] } }))
            .toEqual([]);
    });

    it("and is refused without it, since that config has one SAN only", () => {
        expect(problems({ configPatches: { worker: [REMOVE_SECOND_SAN] } })).toEqual([
            'talos-docker:configPatches.worker[0] = "- op: remove\\n  path: /machine/certSANs/1\\n": does not apply ' +
                "to the worker config of Talos v1.8.3: JSON6902 patch, operation 1 (remove \"/machine/certSANs/1\"): " +
                '"/machine/certSANs/1": index 1 is out of range',
        ]);
    });

    it("a wrong subnet is reported alone: the patches are tried on the default subnet's endpoint", () => {
        const patch = "- op: test\n  path: /cluster/controlPlane/endpoint\n  value: https://172.30.0.2:6443\n";
        expect(problems({ network: { subnet: "10.0.0.1/8" }, configPatches: { all: [patch] } })).toEqual([
            "talos-docker:network.subnet = \"10.0.0.1/8\": has host bits set; the network is 10.0.0.0/8",
        ]);
    });
});

describe("control planes that take workloads", () => {
    let bundle: SecretsBundle;
    beforeAll(async () => {
        bundle = await makeSecretsBundle({ rsaBits: 2048 });
    });
    const rendered = (s: ReturnType<typeof spec>, role: "controlplane" | "worker", schedulable?: boolean) => {
        const input = machineConfigInput(s, role, rolePatches(s.configPatches, role), schedulable);
        const [main] = parseAllDocuments(renderMachineConfig({ ...input, secrets: bundle })).map((d) => d.toJS());
        return (main as { cluster: { allowSchedulingOnControlPlanes?: boolean } }).cluster;
    };

    it.each(["v1.8.3", "v1.13.9"])("Talos %s: without workers the control planes' config allows it, the workers' does not", (talosVersion) => {
        const kubernetesVersion = talosVersion === "v1.8.3" ? "1.31.1" : "1.36.3";
        const none = spec({ talosVersion, kubernetesVersion, workers: { count: 0 } });
        expect(rendered(none, "controlplane").allowSchedulingOnControlPlanes).toBe(true);
        expect(rendered(none, "worker").allowSchedulingOnControlPlanes).toBeUndefined();
        expect(rendered(spec({ talosVersion, kubernetesVersion }), "controlplane").allowSchedulingOnControlPlanes).toBeUndefined();
    });

    it("kept on with workers when the cluster had it (the record), off by default", () => {
        expect(rendered(spec(), "controlplane", true).allowSchedulingOnControlPlanes).toBe(true);
        expect(rendered(spec({ workers: { count: 0 } }), "controlplane", false).allowSchedulingOnControlPlanes).toBeUndefined();
    });

    it("a user's controlPlane patch comes after ours and wins", () => {
        const s = spec({ workers: { count: 0 }, configPatches: { controlPlane: [{ cluster: { allowSchedulingOnControlPlanes: false } }] } });
        expect(rendered(s, "controlplane").allowSchedulingOnControlPlanes).toBe(false);
    });
});
