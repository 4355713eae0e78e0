import { beforeAll, describe, expect, it } from "vitest";

import { configView } from "../../../talos/configview";
import { renderMachineConfig, type MachineConfigInput, type MachineRole } from "../../../talos/machineconfig";
import { parsePatch } from "../../../talos/patches";
import type { SecretsBundle } from "../../../talos/secretsbundle";
import { contractFor, TALOS_MINORS, type TalosMinor } from "../../../talos/versions";
import { makeSecretsBundle, secretForms } from "../../support/pki";

let secrets: SecretsBundle;
let other: SecretsBundle;

beforeAll(async () => {
    [secrets, other] = await Promise.all([makeSecretsBundle({ rsaBits: 2048 }), makeSecretsBundle({ rsaBits: 2048 })]);
});

function input(minor: TalosMinor, role: MachineRole, extra: Partial<MachineConfigInput> = {}): MachineConfigInput {
    const contract = contractFor(minor);
    return {
        role, clusterName: "talos", controlPlaneEndpoint: "https://172.30.0.2:6443", talosVersion: contract.referenceVersion,
        kubernetesVersion: contract.kubernetes.default, secrets, ...extra,
    };
}

describe("configView", () => {
    it.each(TALOS_MINORS.flatMap((m) => [[m, "controlplane"], [m, "worker"]] as const))(
        "v%s %s: no secret of the bundle in any form, and every field is listed", (minor, role) => {
            const yaml = renderMachineConfig(input(minor, role));
            const view = configView(yaml, secrets);
            const text = JSON.stringify(view);
            for (const secret of secretForms(secrets)) expect(text.includes(secret)).toBe(false);
            expect(view["machine.token"]).toMatch(/^\(secret [0-9a-f]{12}\)$/);
            expect(view["machine.ca.crt"]).toMatch(/^\(certificate [0-9a-f]{12}\)$/);
            expect(view["machine.type"]).toBe(role);
            // From v1.14 the Kubernetes settings are documents of their own, the CAs as PEM text.
            const kubeDocuments = minor === "1.14";
            expect(view[kubeDocuments ? "KubeNetworkConfig.podSubnets[0]" : "cluster.network.podSubnets[0]"]).toBe("10.244.0.0/16");
            if (kubeDocuments) {
                const ca = role === "controlplane" ? "KubeAPIServerCAConfig.issuingCA.cert" : "KubeAPIServerCAConfig.acceptedCAs[0]";
                expect(view[ca]).toMatch(/^\(certificate [0-9a-f]{12}\)$/);
                expect(text).not.toContain("BEGIN CERTIFICATE");
            }
        });

    it("a patch shows as the fields it changes, and nothing else", () => {
        const before = configView(renderMachineConfig(input("1.8", "worker")), secrets);
        const after = configView(renderMachineConfig(input("1.8", "worker", {
            patches: [parsePatch("machine:\n  sysctls:\n    vm.max_map_count: \"262144\"\n")],
        })), secrets);
        const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
        expect(changed).toEqual(['machine.sysctls["vm.max_map_count"]']);
        expect(after['machine.sysctls["vm.max_map_count"]']).toBe("262144");
    });

    it("v1.13: a typed document's fields are under its kind", () => {
        const view = configView(renderMachineConfig(input("1.13", "worker")), secrets);
        expect(view["HostnameConfig.auto"]).toBe("stable");
    });

    it("a new secret shows as a changed fingerprint, never as the value", () => {
        const mine = configView(renderMachineConfig(input("1.8", "controlplane")), secrets);
        const theirs = configView(renderMachineConfig(input("1.8", "controlplane", { secrets: other })), other);
        expect(theirs["cluster.secret"]).not.toBe(mine["cluster.secret"]);
        for (const secret of secretForms(other)) expect(JSON.stringify(theirs).includes(secret)).toBe(false);
    });

    it("credentials a patch adds are hidden; a password is not guessable from its fingerprint without the bundle", () => {
        const patch = parsePatch("machine:\n  registries:\n    config:\n      registry.example.test:\n        auth:\n" +
            "          username: robot\n          password: hunter2\n");
        const view = configView(renderMachineConfig(input("1.8", "worker", { patches: [patch] })), secrets);
        const path = 'machine.registries.config["registry.example.test"].auth.password';
        expect(view[path]).toMatch(/^\(secret [0-9a-f]{12}\)$/);
        expect(JSON.stringify(view)).not.toContain("hunter2");
        expect(view['machine.registries.config["registry.example.test"].auth.username']).toBe("robot");
        const elsewhere = configView(renderMachineConfig(input("1.8", "worker", { patches: [patch], secrets: other })), other);
        expect(elsewhere[path]).not.toBe(view[path]);
    });
});
