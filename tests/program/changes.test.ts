// A changed stack against the one before it, both under mocks, each run given the one before as
// its previous outputs: what a second `pulumi up` would compare. A patch, a Kubernetes version and
// a Talos version each change exactly the resources that carry the change to the nodes.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { stackFile } from "../support/stack";
import { loadProgram, Program, promiseOf, Recorded } from "./harness";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const COMMAND = "command:local:Command";
const reference = stackFile("Pulumi.dev.yaml");

/** The outputs the next run reads back from this one. */
async function record(p: Program): Promise<Record<string, unknown>> {
    return {
        versions: await promiseOf(p.exports.versions as pulumi.Output<unknown>),
        secretsIdentity: await promiseOf(p.exports.secretsIdentity as pulumi.Output<unknown>),
    };
}

/** The run of `config`, after the run `before` (or a new stack). */
async function run(config: Record<string, unknown>, before?: Program): Promise<Program> {
    const p = await loadProgram(config, before === undefined ? {} : { previousOutputs: await record(before) });
    if (p.error) throw p.error;
    return p;
}

let base: Program;
let patched: Program;
let olderKubernetes: Program;
let newerKubernetes: Program;
let newerTalos: Program;

beforeAll(async () => {
    base = await run(reference);
    patched = await run({ ...reference, configPatches: { worker: [{ machine: { nodeLabels: { tier: "batch" } } }] } }, base);
    olderKubernetes = await run({ ...reference, kubernetesVersion: "1.30.4" });
    newerKubernetes = await run(reference, olderKubernetes);
    newerTalos = await run({ ...reference, talosVersion: "v1.9.6" }, base);
});

const names = (p: Program, type: string) => p.byType(type).map((r) => r.name).sort();
/** The inputs that differ between two runs of the same resource. */
function changed(a: Recorded, b: Recorded): string[] {
    const keys = new Set([...Object.keys(a.inputs), ...Object.keys(b.inputs)]);
    return [...keys].filter((k) => JSON.stringify(a.inputs[k]) !== JSON.stringify(b.inputs[k])).sort();
}
const env = (r: Recorded) => r.inputs.environment as Record<string, string>;
const view = (r: Recorded) => JSON.parse(r.inputs.stdin as string) as Record<string, string>;
function viewChanges(a: Recorded, b: Recorded): string[] {
    const [x, y] = [view(a), view(b)];
    return Object.keys({ ...x, ...y }).filter((k) => x[k] !== y[k]).sort();
}

/** Each resource of `type` in both runs, by name; the same names in both. */
function pairs(a: Program, b: Program, type: string): [string, Recorded, Recorded][] {
    expect(names(b, type)).toEqual(names(a, type));
    return names(a, type).map((n) => [n, a.one(type, n), b.one(type, n)]);
}

/** Nothing but the ignored environment differs: the engine plans no change of the container. */
function expectSameContainers(a: Program, b: Program): void {
    for (const [name, before, after] of pairs(a, b, CONTAINER)) {
        expect(changed(before, after).filter((k) => !after.ignoreChanges.includes(k)), name).toEqual([]);
    }
    for (const [name, before, after] of pairs(a, b, VOLUME)) expect(changed(before, after), name).toEqual([]);
}

describe("a changed worker patch", () => {
    it("declares the same node containers and volumes: only the ignored USERDATA of the workers differs", () => {
        expectSameContainers(base, patched);
        expect(changed(base.one(CONTAINER, "talos-worker-01-container"), patched.one(CONTAINER, "talos-worker-01-container"))).toEqual(["envs"]);
        expect(changed(base.one(CONTAINER, "talos-cp-01-container"), patched.one(CONTAINER, "talos-cp-01-container"))).toEqual([]);
    });

    it("updates each worker's config resource: its secret config, and the view's field of the patch", () => {
        for (const worker of ["talos-worker-01-config", "talos-worker-02-config"]) {
            const [before, after] = [base.one(COMMAND, worker), patched.one(COMMAND, worker)];
            expect(changed(before, after)).toEqual(["environment", "stdin"]);
            expect(env(after).TALOS_DOCKER_MACHINE_CONFIG).not.toBe(env(before).TALOS_DOCKER_MACHINE_CONFIG);
            expect(after.secretPaths).toContain("environment.TALOS_DOCKER_MACHINE_CONFIG");
            expect(viewChanges(before, after)).toEqual(["machine.nodeLabels.tier"]);
            expect(view(after)["machine.nodeLabels.tier"]).toBe("batch");
        }
    });

    it("leaves the control plane's config, the bootstrap and the manifests alone; readiness runs again", () => {
        for (const name of ["talos-cp-01-config", "talos-bootstrap", "talos-manifests"]) {
            expect(changed(base.one(COMMAND, name), patched.one(COMMAND, name)), name).toEqual([]);
        }
        const triggers = (p: Program) => p.one(COMMAND, "talos-ready").inputs.triggers as string[];
        // The worker view's digest, last: the only trigger that changed.
        expect(triggers(patched).map((t, i) => t === triggers(base)[i])).toEqual([true, true, true, true, false]);
    });
});

describe("a Kubernetes version change", () => {
    it("declares the same node containers", () => {
        expectSameContainers(olderKubernetes, newerKubernetes);
    });

    it("reaches every node through its config resource: the kubelet image, and the control plane's images", () => {
        for (const [name, before, after] of pairs(olderKubernetes, newerKubernetes, COMMAND).filter(([n]) => n.endsWith("-config"))) {
            expect(changed(before, after), name).toEqual(["environment", "stdin"]);
            const fields = viewChanges(before, after);
            expect(fields, name).toContain("machine.kubelet.image");
            expect(view(after)["machine.kubelet.image"]).toBe("ghcr.io/siderolabs/kubelet:v1.31.1");
            if (name.includes("-cp-")) {
                for (const image of ["apiServer", "controllerManager", "scheduler", "proxy"]) expect(fields, name).toContain(`cluster.${image}.image`);
            }
        }
    });

    it("then brings the manifests to the new version", () => {
        const [before, after] = [olderKubernetes.one(COMMAND, "talos-manifests"), newerKubernetes.one(COMMAND, "talos-manifests")];
        expect(changed(before, after)).toEqual(["update"]);
        expect(after.inputs.update).toBe("node --import tsx cli/main.ts manifests --kubernetes-version 1.31.1 --timeout 10m");
        expect(after.inputs.create).toBe(before.inputs.create);
    });
});

describe("a Talos version change", () => {
    it("gives every node container the new image, and nothing else; the volumes stay", () => {
        for (const [name, before, after] of pairs(base, newerTalos, CONTAINER)) {
            expect(changed(before, after).filter((k) => !after.ignoreChanges.includes(k)), name).toEqual(["image"]);
            expect(after.inputs.image).toBe("ghcr.io/siderolabs/talos:v1.9.6");
        }
        for (const [name, before, after] of pairs(base, newerTalos, VOLUME)) expect(changed(before, after), name).toEqual([]);
    });

    it("and applies the new version's config to each node after its container", () => {
        for (const [name, before, after] of pairs(base, newerTalos, COMMAND).filter(([n]) => n.endsWith("-config"))) {
            expect(changed(before, after), name).toContain("environment");
            expect(view(after)["machine.install.image"], name).toBe("ghcr.io/siderolabs/installer:v1.9.6");
        }
    });
});
