// Three control planes and five workers on a custom subnet, with patches and storage disabled.
import { beforeAll, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadProgram, Program, promiseOf, Recorded } from "./harness";

let program: Program;

beforeAll(async () => {
    program = await loadProgram({
        clusterName: "big",
        network: { name: "big-net", subnet: "10.10.0.0/28", mtu: 9000 },
        controlPlanes: { count: 3 },
        workers: { count: 5, cpus: 1.5, memoryMiB: 1024 },
        ports: { kubernetesApi: 7443, talosApi: 50001, http: 8080, https: 8443 },
        configPatches: {
            all: [{ machine: { sysctls: { "vm.max_map_count": "262144" } } }],
            worker: ["machine:\n  nodeLabels:\n    tier: batch\n"],
        },
        storage: { enabled: false },
    });
    if (program.error) throw program.error;
});

const containers = () => program.byType("docker:index/container:Container");
const config = (r: Recorded) => {
    const env = (r.inputs.envs as string[]).find((e) => e.startsWith("USERDATA="))!;
    return parseAllDocuments(Buffer.from(env.slice("USERDATA=".length), "base64").toString()).map((d) => d.toJS())[0];
};

it("declares eight nodes: the first control plane at .2, the workers from .3 up, the other control planes from the top down", () => {
    expect(containers().map((c) => [c.inputs.name, (c.inputs.networksAdvanced as { ipv4Address: string }[])[0].ipv4Address]).sort()).toEqual([
        ["big-cp-01", "10.10.0.2"], ["big-cp-02", "10.10.0.14"], ["big-cp-03", "10.10.0.13"],
        ["big-worker-01", "10.10.0.3"], ["big-worker-02", "10.10.0.4"], ["big-worker-03", "10.10.0.5"],
        ["big-worker-04", "10.10.0.6"], ["big-worker-05", "10.10.0.7"],
    ]);
    expect(program.byType("docker:index/volume:Volume")).toHaveLength(48);
});

it("only the first control plane and the first worker publish ports", () => {
    const published = containers().filter((c) => ((c.inputs.ports as unknown[]) ?? []).length > 0).map((c) => c.inputs.name).sort();
    expect(published).toEqual(["big-cp-01", "big-worker-01"]);
    expect(program.one("docker:index/container:Container", "big-cp-01-container").inputs.ports).toEqual([
        { internal: 6443, external: 7443, ip: "127.0.0.1", protocol: "tcp" },
        { internal: 50000, external: 50001, ip: "127.0.0.1", protocol: "tcp" },
    ]);
});

it("sizes workers from their pool (the SKU in whole CPUs, as Talos writes it)", () => {
    const w = program.one("docker:index/container:Container", "big-worker-03-container");
    expect(w.inputs).toMatchObject({ cpus: "1.5", memory: 1024 });
    expect((w.inputs.envs as string[])[1]).toBe("TALOSSKU=1CPU-1024RAM");
});

it("the network has the custom subnet and MTU", () => {
    expect(program.one("docker:index/network:Network", "big-network-bridge").inputs).toMatchObject({
        name: "big-net", ipamConfigs: [{ subnet: "10.10.0.0/28", gateway: "10.10.0.1" }], options: { "com.docker.network.driver.mtu": "9000" },
    });
});

it("applies the patches for all nodes and for workers only", () => {
    const cp = config(program.one("docker:index/container:Container", "big-cp-02-container"));
    const worker = config(program.one("docker:index/container:Container", "big-worker-05-container"));
    expect(cp.machine.sysctls).toEqual({ "vm.max_map_count": "262144" });
    expect(worker.machine.sysctls).toEqual({ "vm.max_map_count": "262144" });
    expect(worker.machine.nodeLabels).toMatchObject({ tier: "batch" });
    expect(cp.machine.nodeLabels?.tier).toBeUndefined();
});

it("storage disabled: no provisioner, no kubelet mount, storageClass null", async () => {
    expect(program.byType("talos-docker:index:StorageProvisioner")).toEqual([]);
    // Nothing of Kubernetes but the provider.
    expect(program.resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => r.name)).toEqual([]);
    expect(config(program.one("docker:index/container:Container", "big-worker-01-container")).machine.kubelet.extraMounts).toBeUndefined();
    expect(await promiseOf(program.exports.storageClass)).toBeNull();
});

it("endpoints and client configs use the configured host ports", async () => {
    expect(await promiseOf(program.exports.endpoints)).toEqual({ kubernetes: "https://127.0.0.1:7443", talos: "127.0.0.1:50001" });
    expect(await promiseOf(program.exports.talosconfig)).toContain("127.0.0.1:50001");
});
