// Changing the counts under mocks, each run given the one before as its previous outputs (what the
// next `pulumi up` compares): a count raised only adds nodes; a node's config resource deletes by
// taking the node out of the cluster, in an order the dependencies give the engine; the refusals
// that keep etcd's quorum and the bootstrap node; and a cluster without workers.
import * as pulumi from "@pulumi/pulumi";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DESTROYING_ENV } from "../../cli/invocation";
import { stackFile } from "../support/stack";
import { loadProgram, Program, promiseOf, Recorded, STACK_REFERENCE, urnRef } from "./harness";

const COMMAND = "command:local:Command";
const CONTAINER = "docker:index/container:Container";
const reference = stackFile("Pulumi.dev.yaml");
const sized = (controlPlanes: number, workers: number) => ({
    ...reference,
    controlPlanes: { ...(reference.controlPlanes as object), count: controlPlanes },
    workers: { ...(reference.workers as object), count: workers },
});

/** The outputs the next run reads back from this one. */
async function record(p: Program): Promise<Record<string, unknown>> {
    const names = ["versions", "secretsIdentity", "nodes", "scheduling"];
    const values = await Promise.all(names.map((n) => promiseOf(p.exports[n] as pulumi.Output<unknown>)));
    return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

/** The run of `config` after the run `before` (or on a new stack); `ok`: it must not fail. */
async function run(config: Record<string, unknown>, before?: Program, ok = true): Promise<Program> {
    const p = await loadProgram(config, before === undefined ? {} : { previousOutputs: await record(before) });
    if (ok && p.error) throw p.error;
    return p;
}

let base: Program;
let grown: Program;
let shrunk: Program;
let solo: Program;
let soloJoined: Program;
let emptied: Program;

beforeAll(async () => {
    base = await run(reference);
    grown = await run(sized(3, 5), base);
    shrunk = await run(sized(2, 2), grown);
    solo = await run(sized(1, 0));
    soloJoined = await run(sized(1, 2), solo);
    emptied = await run(sized(1, 0), base);
});

const key = (r: Recorded) => `${r.type}::${r.name}`;
/** Every resource the program declares (the read of the previous outputs aside), by type and name. */
const declared = (p: Program) => new Map(p.resources.filter((r) => r.type !== STACK_REFERENCE).map((r) => [key(r), r]));
/** The resources of `a` that `b` declares with other inputs. */
function changedBetween(a: Program, b: Program): string[] {
    const after = declared(b);
    return [...declared(a)].filter(([k, r]) => {
        const other = after.get(k);
        return other !== undefined && JSON.stringify(other.inputs) !== JSON.stringify(r.inputs);
    }).map(([k]) => k).sort();
}
const onlyIn = (a: Program, b: Program) => [...declared(a).keys()].filter((k) => !declared(b).has(k)).sort();
const env = (r: Recorded) => r.inputs.environment as Record<string, string>;

describe("scale up: 1 + 2 → 3 + 5", () => {
    it("adds two control planes and three workers, each with its volumes, container and config", () => {
        const added = onlyIn(grown, base);
        const nodes = ["talos-cp-02", "talos-cp-03", "talos-worker-03", "talos-worker-04", "talos-worker-05"];
        expect(added.filter((k) => !nodes.some((n) => k.includes(`::${n}`)))).toEqual([]);
        for (const node of nodes) {
            expect(added).toContain(`${CONTAINER}::${node}-container`);
            expect(added).toContain(`${COMMAND}::${node}-config`);
        }
        expect(onlyIn(base, grown)).toEqual([]);
    });

    it("changes no input of any existing resource but the readiness re-check", () => {
        expect(changedBetween(base, grown)).toEqual([`${COMMAND}::talos-ready`]);
    });

    it("the new nodes take addresses of their own: the workers after the others, the control planes at the top", () => {
        const ip = (name: string) => (grown.one(CONTAINER, `${name}-container`).inputs.networksAdvanced as { ipv4Address: string }[])[0].ipv4Address;
        expect(["talos-cp-02", "talos-cp-03", "talos-worker-03", "talos-worker-05"].map(ip))
            .toEqual(["172.30.0.254", "172.30.0.253", "172.30.0.5", "172.30.0.7"]);
    });

    it("and back down by one control plane and three workers: the remaining resources keep their inputs", () => {
        expect(onlyIn(grown, shrunk).filter((k) => k.startsWith(`${CONTAINER}::`))).toEqual([
            `${CONTAINER}::talos-cp-03-container`, `${CONTAINER}::talos-worker-03-container`,
            `${CONTAINER}::talos-worker-04-container`, `${CONTAINER}::talos-worker-05-container`,
        ]);
        expect(changedBetween(grown, shrunk)).toEqual([`${COMMAND}::talos-ready`]);
    });
});

/** The removal each node's config resource runs when deleted. */
const removal = (node: string, ip: string, role: string) =>
    `node --import tsx cli/main.ts remove-node --node ${ip} --container ${node} --role ${role} --timeout 10m`;

describe("scale down: each node's removal is its config resource's delete", () => {
    it.each([
        ["talos-cp-02", "172.30.0.254", "controlplane"],
        ["talos-cp-03", "172.30.0.253", "controlplane"],
        ["talos-worker-01", "172.30.0.3", "worker"],
        ["talos-worker-05", "172.30.0.7", "worker"],
    ])("%s: remove-node for its role, its address and container, bounded by timeouts.apply", (node, ip, role) => {
        const config = grown.one(COMMAND, `${node}-config`);
        expect(config.inputs.delete).toBe(removal(node, ip, role));
        // In clear in the state and the preview, and nothing secret in it: the configs come in the environment.
        expect(config.plainInputs.delete).toBe(config.inputs.delete);
    });

    it("the first control plane, the bootstrap node, has no removal: it goes only with the whole cluster", () => {
        expect(grown.one(COMMAND, "talos-cp-01-config").inputs.delete).toBeUndefined();
        expect(base.one(COMMAND, "talos-cp-01-config").inputs.delete).toBeUndefined();
    });

    it("the removal's environment: the talosconfig, kubeconfig and machine config, each a secret", async () => {
        const config = grown.one(COMMAND, "talos-cp-02-config");
        expect(config.secretPaths.sort()).toEqual([
            "environment.TALOS_DOCKER_KUBECONFIG", "environment.TALOS_DOCKER_MACHINE_CONFIG", "environment.TALOS_DOCKER_TALOSCONFIG",
        ]);
        expect(env(config).TALOS_DOCKER_TALOSCONFIG).toBe(await promiseOf(grown.exports.talosconfig as pulumi.Output<string>));
        expect(env(config).TALOS_DOCKER_KUBECONFIG).toBe(await promiseOf(grown.exports.kubeconfig as pulumi.Output<string>));
        expect(Object.keys(env(config))).not.toContain(DESTROYING_ENV);
    });

    // The engine deletes a resource only after every resource that depends on it (in the state, as
    // the last run declared them): so `a` goes before `b` when `a` depends on `b`, directly or not.
    function goesBefore(p: Program): (a: string, b: string) => boolean {
        const deps = new Map(p.resources.map((r) => [key(r), r.dependencies.map(urnRef)]));
        const reach = (from: string, to: string, seen = new Set<string>()): boolean => {
            if (seen.has(from)) return false;
            seen.add(from);
            return (deps.get(from) ?? []).some((d) => d === to || reach(d, to, seen));
        };
        return reach;
    }

    it("each node's removal runs before its container is deleted", () => {
        const before = goesBefore(grown);
        for (const node of ["talos-cp-02", "talos-cp-03", "talos-worker-01", "talos-worker-05"]) {
            expect(before(`${COMMAND}::${node}-config`, `${CONTAINER}::${node}-container`), node).toBe(true);
            expect(before(`${CONTAINER}::${node}-container`, `${COMMAND}::${node}-config`), node).toBe(false);
        }
    });

    it("control planes leave from the last, one at a time, each while the ones before it still run", () => {
        const before = goesBefore(grown);
        expect(before(`${COMMAND}::talos-cp-03-config`, `${COMMAND}::talos-cp-02-config`)).toBe(true);
        expect(before(`${COMMAND}::talos-cp-02-config`, `${COMMAND}::talos-cp-03-config`)).toBe(false);
        // cp-02's container is deleted only after cp-03 has left: etcd keeps a member it can reach.
        expect(before(`${COMMAND}::talos-cp-03-config`, `${CONTAINER}::talos-cp-02-container`)).toBe(true);
    });

    it("workers leave at once, before any control plane", () => {
        const before = goesBefore(grown);
        const workers = [1, 2, 3, 4, 5].map((i) => `${COMMAND}::talos-worker-0${i}-config`);
        for (const a of workers) {
            for (const b of workers) expect(before(a, b), `${a} before ${b}`).toBe(false);
            expect(before(a, `${COMMAND}::talos-cp-02-config`)).toBe(true);
            expect(before(a, `${CONTAINER}::talos-cp-03-container`)).toBe(true);
        }
    });
});

describe("the removal command as the command provider runs it (/bin/sh -c)", () => {
    const dir = mkdtempSync(join(tmpdir(), "talos-docker-removal-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    // A `node` on PATH that records its arguments and fails as a failed removal does.
    writeFileSync(join(dir, "node"), `#!/bin/sh\necho "$@" > "${dir}/args"\nexit 3\n`);
    chmodSync(join(dir, "node"), 0o755);
    const command = () => grown.one(COMMAND, "talos-worker-02-config").inputs.delete as string;

    it("runs remove-node, and its failure fails the delete (the container stays)", () => {
        const result = spawnSync("/bin/sh", ["-c", command()], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: "utf8" });
        expect(result.status).toBe(3);
        expect(readFileSync(join(dir, "args"), "utf8").trim()).toBe(
            "--import tsx cli/main.ts remove-node --node 172.30.0.4 --container talos-worker-02 --role worker --timeout 10m");
    });
});

describe("refused before anything is declared", () => {
    const message = (p: Program) => (p.error as Error).message.split("\n");
    function expectRefused(p: Program): void {
        expect(p.error).toBeInstanceOf(pulumi.RunError);
        expect(p.resources.map((r) => r.type)).toEqual([STACK_REFERENCE]);
    }

    it("3 control planes to 1 in one step: the one left is not a majority of the 3 etcd members", async () => {
        const p = await run(sized(1, 5), grown, false);
        expectRefused(p);
        expect(message(p).slice(1)).toEqual([
            "  - talos-docker:controlPlanes.count = 1: lowering it from 3 to 1 removes 2 etcd members in one pulumi up: the 1 " +
                "that remains is not a majority of the 3 running (etcd needs 2 for its quorum), so etcd would stop should a " +
                "leaving member stop before it has left; from 3, one pulumi up may go down to 2 (one fewer, or as many fewer " +
                "as leave a majority)",
            "    fix: pulumi config set --path 'talos-docker:controlPlanes.count' 2, pulumi up, then set 1 again",
        ]);
    });

    it("2 to 1 passes: one member leaves while the other runs", async () => {
        const p = await run(sized(1, 2), shrunk);
        expect(p.byType(CONTAINER).map((r) => r.name).sort()).toEqual([
            "talos-cp-01-container", "talos-worker-01-container", "talos-worker-02-container",
        ]);
    });

    it("a new cluster name, which would remove the bootstrap node with every other", async () => {
        const p = await run({ ...sized(3, 5), clusterName: "lab" }, grown, false);
        expectRefused(p);
        expect(message(p)[1]).toMatch(/^ {2}- talos-docker:clusterName = "lab": would remove the running cluster's bootstrap node talos-cp-01 /);
        expect(message(p)[2]).toBe("    fix: pulumi config set talos-docker:clusterName talos to keep it, or npm run destroy, then " +
            "pulumi up for a cluster under the new name");
    });

    it("lowering a count of nodes an earlier version declared without a removal step", async () => {
        const earlier = await record(grown);
        delete earlier.scheduling;
        const p = await loadProgram(sized(3, 4), { previousOutputs: earlier });
        expectRefused(p);
        expect(message(p)[1]).toContain("talos-docker:workers.count = 4: the running nodes were declared by an earlier version");
    });
});

describe("no workers: the control planes take the workloads", () => {
    const configOf = async (p: Program, node: string) => {
        const configs = await promiseOf(p.exports.machineConfigs as pulumi.Output<Record<string, string>>);
        return parseAllDocuments(configs[node]).map((d) => d.toJS())[0] as { cluster: Record<string, unknown> };
    };
    const ports = (p: Program, node: string) =>
        (p.one(CONTAINER, `${node}-container`).inputs.ports as { internal: number }[]).map((port) => port.internal);

    it("the control plane's config allows scheduling on it (Talos then sets no NoSchedule taint)", async () => {
        expect((await configOf(solo, "talos-cp-01")).cluster.allowSchedulingOnControlPlanes).toBe(true);
        expect((await configOf(base, "talos-cp-01")).cluster.allowSchedulingOnControlPlanes).toBeUndefined();
        expect(await promiseOf(solo.exports.scheduling as pulumi.Output<unknown>)).toEqual({ controlPlanes: true });
        expect(await promiseOf(base.exports.scheduling as pulumi.Output<unknown>)).toEqual({ controlPlanes: false });
    });

    it("it publishes http/https beside the APIs, and local-path-provisioner is installed", async () => {
        expect(ports(solo, "talos-cp-01")).toEqual([6443, 50000, 80, 443]);
        expect(solo.byType("talos-docker:index:StorageProvisioner")).toHaveLength(1);
        expect(await promiseOf(solo.exports.storageClass as pulumi.Output<unknown>)).toBe("local-path");
    });

    it("workers joining later change nothing that runs: the control plane keeps scheduling and ingress", async () => {
        expect(changedBetween(solo, soloJoined)).toEqual([`${COMMAND}::talos-ready`]);
        expect(ports(soloJoined, "talos-cp-01")).toEqual([6443, 50000, 80, 443]);
        expect(ports(soloJoined, "talos-worker-01")).toEqual([]);
        expect((await configOf(soloJoined, "talos-cp-01")).cluster.allowSchedulingOnControlPlanes).toBe(true);
        expect(await promiseOf(soloJoined.exports.scheduling as pulumi.Output<unknown>)).toEqual({ controlPlanes: true });
    });

    it("a cluster that loses its last worker: the control plane's config is applied, and its container takes the ports", () => {
        const view = (p: Program) => JSON.parse(p.one(COMMAND, "talos-cp-01-config").inputs.stdin as string) as Record<string, unknown>;
        expect(view(emptied)["cluster.allowSchedulingOnControlPlanes"]).toBe("true");
        expect(view(base)["cluster.allowSchedulingOnControlPlanes"]).toBeUndefined();
        // New ports are a new container on the same volumes (the Docker provider replaces it).
        expect(changedBetween(base, emptied)).toEqual([
            `${CONTAINER}::talos-cp-01-container`, `${COMMAND}::talos-cp-01-config`, `${COMMAND}::talos-ready`,
        ].sort());
        expect(ports(emptied, "talos-cp-01")).toEqual([6443, 50000, 80, 443]);
    });
});
