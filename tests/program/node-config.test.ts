// The reference stack's day-2 resources under mocks: a config resource per node (created with the
// node, applying a changed config through the CLI), their order, the manifests step, the outputs
// the next run checks against, and that nothing in clear holds a secret of the bundle.
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { stackFile } from "../support/stack";
import type { SecretsBundle } from "../../talos/secretsbundle";
import { secretForms } from "../support/pki";
import { configView } from "../../talos/configview";
import { loadProgram, Program, promiseOf, Recorded, urnRef } from "./harness";

const COMMAND = "command:local:Command";
const CONTAINER = "docker:index/container:Container";

let reference: Program;
let threeControlPlanes: Program;

beforeAll(async () => {
    reference = await loadProgram(stackFile("Pulumi.dev.yaml"));
    if (reference.error) throw reference.error;
    threeControlPlanes = await loadProgram({ controlPlanes: { count: 3 }, workers: { count: 0 } });
    if (threeControlPlanes.error) throw threeControlPlanes.error;
});

const waitsFor = (r: Recorded) => r.dependencies.map(urnRef);
const env = (r: Recorded) => r.inputs.environment as Record<string, string>;
const bundleOf = (p: Program) => p.one("talos-docker:index:MachineSecrets", "talos-secrets").outputs?.bundle as SecretsBundle;
const machineConfigs = (p: Program) => promiseOf(p.exports.machineConfigs as pulumi.Output<Record<string, string>>);

describe("a config resource per node", () => {
    const nodes = [["talos-cp-01", "172.30.0.2"], ["talos-worker-01", "172.30.0.3"], ["talos-worker-02", "172.30.0.4"]];

    it.each(nodes)("%s: nothing to run when created, `apply` through the CLI when updated", (node, ip) => {
        const config = reference.one(COMMAND, `${node}-config`);
        expect(config.inputs.create).toBe("true");
        expect(config.inputs.update).toBe(`node --import tsx cli/main.ts apply --node ${ip} --container ${node} --timeout 10m`);
        expect(config.inputs.logging).toBe("stdoutAndStderr");
        // A trigger would replace the resource; an update applies in place.
        expect(config.inputs.triggers).toBeUndefined();
    });

    it.each(nodes)("%s: the talosconfig, kubeconfig and its role's config are secret, the container ID plain", async (node) => {
        const config = reference.one(COMMAND, `${node}-config`);
        expect(config.secretPaths.sort()).toEqual([
            "environment.TALOS_DOCKER_KUBECONFIG", "environment.TALOS_DOCKER_MACHINE_CONFIG", "environment.TALOS_DOCKER_TALOSCONFIG",
        ]);
        // The kubeconfig lets a Kubernetes version change wait for each component, as upgrade-k8s does.
        expect(env(config).TALOS_DOCKER_KUBECONFIG).toBe(await promiseOf(reference.exports.kubeconfig as pulumi.Output<string>));
        expect(env(config).TALOS_DOCKER_MACHINE_CONFIG).toBe((await machineConfigs(reference))[node]);
        expect(env(config).TALOS_DOCKER_TALOSCONFIG).toBe(await promiseOf(reference.exports.talosconfig as pulumi.Output<string>));
        expect(env(config).TALOS_DOCKER_CONTAINER_ID).toBe(`${node}-container-id`);
    });

    it.each(nodes)("%s: stdin is the plain view of its role's config, for the preview's diff", async (node) => {
        const config = reference.one(COMMAND, `${node}-config`);
        expect(config.secretPaths).not.toContain("stdin");
        const view = JSON.parse(config.inputs.stdin as string) as Record<string, string>;
        expect(view).toEqual(configView((await machineConfigs(reference))[node], bundleOf(reference)));
        expect(view["machine.type"]).toBe(node.includes("-cp-") ? "controlplane" : "worker");
        expect(view["machine.token"]).toMatch(/^\(secret [0-9a-f]{12}\)$/);
    });

    it("each waits for its node and the bootstrap; workers also for every control plane's", () => {
        for (const [node] of nodes) {
            const deps = waitsFor(reference.one(COMMAND, `${node}-config`));
            expect(deps).toContain(`${CONTAINER}::${node}-container`);
            expect(deps).toContain(`${COMMAND}::talos-bootstrap`);
        }
        for (const worker of ["talos-worker-01", "talos-worker-02"]) {
            const deps = waitsFor(reference.one(COMMAND, `${worker}-config`));
            expect(deps).toContain(`${COMMAND}::talos-cp-01-config`);
            // The workers take a change at once, not one after the other.
            expect(deps.filter((d) => d.includes("worker") && d.endsWith("-config"))).toEqual([]);
        }
        expect(waitsFor(reference.one(COMMAND, "talos-cp-01-config")).filter((d) => d.endsWith("-config"))).toEqual([]);
    });

    it("three control planes take a change one at a time, in order", () => {
        const configs = (n: number) => waitsFor(threeControlPlanes.one(COMMAND, `talos-cp-0${n}-config`)).filter((d) => d.endsWith("-config"));
        expect(configs(1)).toEqual([]);
        expect(configs(2)).toEqual([`${COMMAND}::talos-cp-01-config`]);
        expect(configs(3)).toEqual([`${COMMAND}::talos-cp-02-config`]);
        const manifests = waitsFor(threeControlPlanes.one(COMMAND, "talos-manifests"));
        for (const n of [1, 2, 3]) expect(manifests).toContain(`${COMMAND}::talos-cp-0${n}-config`);
        expect(threeControlPlanes.byType(COMMAND).map((r) => r.name).sort()).toEqual([
            "talos-bootstrap", "talos-cp-01-config", "talos-cp-02-config", "talos-cp-03-config", "talos-manifests", "talos-ready",
        ]);
    });
});

describe("the manifests step", () => {
    it("nothing when created; `manifests` at the stack's Kubernetes version when updated, with the kubeconfig secret", async () => {
        const manifests = reference.one(COMMAND, "talos-manifests");
        expect(manifests.inputs.create).toBe("true");
        expect(manifests.inputs.update).toBe("node --import tsx cli/main.ts manifests --kubernetes-version 1.31.1 --timeout 10m");
        expect(manifests.secretPaths).toEqual(["environment.TALOS_DOCKER_KUBECONFIG"]);
        expect(env(manifests).TALOS_DOCKER_KUBECONFIG).toBe(await promiseOf(reference.exports.kubeconfig as pulumi.Output<string>));
    });

    it("runs after every node's config", () => {
        const deps = waitsFor(reference.one(COMMAND, "talos-manifests"));
        for (const node of ["talos-cp-01", "talos-worker-01", "talos-worker-02"]) expect(deps).toContain(`${COMMAND}::${node}-config`);
    });
});

describe("what the next run checks against", () => {
    it("versions: the stack's Talos and Kubernetes versions, plain", async () => {
        expect(await pulumi.isSecret(reference.exports.versions)).toBe(false);
        expect(await promiseOf(reference.exports.versions)).toEqual({ talos: "v1.8.3", kubernetes: "1.31.1" });
    });

    it("secretsIdentity: a fingerprint of the four CA certificates, generated, plain", async () => {
        expect(await pulumi.isSecret(reference.exports.secretsIdentity)).toBe(false);
        const { certs } = bundleOf(reference);
        const hash = createHash("sha256");
        for (const crt of [certs.os.crt, certs.k8s.crt, certs.etcd.crt, certs.k8sAggregator.crt]) hash.update(`${crt.trim()}\n`);
        expect(await promiseOf(reference.exports.secretsIdentity)).toEqual({ source: "generated", caFingerprint: `sha256:${hash.digest("hex")}` });
    });

    it("reads them through a StackReference to the stack itself (by its bare name on a local backend)", () => {
        const ref = reference.one("pulumi:pulumi:StackReference", "talos-previous-run");
        expect(ref.inputs.name).toBe("dev");
    });
});

describe("no secret in clear", () => {
    it("no input of any resource, nor output of any component, holds a value of the bundle unless it is secret", () => {
        const forms = secretForms(bundleOf(reference));
        // The scan sees real key material: the mocks give each key resource a generated key.
        expect(forms.length).toBeGreaterThan(20);
        for (const r of reference.resources) {
            const clear = JSON.stringify([r.plainInputs, r.plainOutputs ?? {}]);
            for (const form of forms) expect(clear.includes(form), `${r.type} ${r.name}`).toBe(false);
        }
    });

    it("every stack output that is not secret holds no value of the bundle either", async () => {
        const forms = secretForms(bundleOf(reference));
        for (const [name, output] of Object.entries(reference.exports)) {
            if (await pulumi.isSecret(output)) continue;
            const text = JSON.stringify(await promiseOf(output));
            for (const form of forms) expect(text.includes(form), name).toBe(false);
        }
    });
});
