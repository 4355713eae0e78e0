// One control plane and no workers: the control plane also publishes http/https.
import { beforeAll, expect, it } from "vitest";
import { loadProgram, Program, promiseOf } from "./harness";

let program: Program;

beforeAll(async () => {
    program = await loadProgram({ clusterName: "solo", workers: { count: 0 }, controlPlanes: { count: 1, cpus: 2, memoryMiB: 2048 } });
    if (program.error) throw program.error;
});

it("declares one node with its six volumes", () => {
    expect(program.byType("talos-docker:index:TalosNode").map((r) => r.name)).toEqual(["solo-cp-01"]);
    expect(program.byType("docker:index/volume:Volume")).toHaveLength(6);
    expect(program.byType("docker:index/container:Container")).toHaveLength(1);
});

it("the control plane publishes the APIs and ingress", () => {
    const cp = program.one("docker:index/container:Container", "solo-cp-01-container");
    expect(cp.inputs.ports).toEqual([
        { internal: 6443, external: 6444, ip: "127.0.0.1", protocol: "tcp" },
        { internal: 50000, external: 50000, ip: "127.0.0.1", protocol: "tcp" },
        { internal: 80, external: 80, ip: "127.0.0.1", protocol: "tcp" },
        { internal: 443, external: 443, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(cp.inputs.memory).toBe(2048);
    expect((cp.inputs.envs as string[])[1]).toBe("TALOSSKU=2CPU-2048RAM");
});

it("outputs name the single node and the cluster's context", async () => {
    expect(await promiseOf(program.exports.nodes)).toEqual([{ name: "solo-cp-01", role: "controlplane", ip: "172.30.0.2", container: "solo-cp-01" }]);
    expect(Object.keys(await promiseOf(program.exports.machineConfigs) as Record<string, string>)).toEqual(["solo-cp-01"]);
    expect(await promiseOf(program.exports.kubeconfig)).toContain("current-context: admin@solo");
});
