// The readiness command follows the cluster's config: a cluster patched to run without a CNI
// (to install Cilium) and without kube-proxy waits for neither, and a single control plane
// without workers passes no --workers.
import { beforeAll, expect, it } from "vitest";
import { loadProgram, Program } from "./harness";

const COMMAND = "command:local:Command";
let patched: Program;
let solo: Program;

beforeAll(async () => {
    patched = await loadProgram({
        configPatches: { controlPlane: [{ cluster: { network: { cni: { name: "none" } }, proxy: { disabled: true } } }] },
    });
    if (patched.error) throw patched.error;
    solo = await loadProgram({ clusterName: "solo", workers: { count: 0 } });
    if (solo.error) throw solo.error;
});

it("passes cni none and kube-proxy off from the control planes' patches", () => {
    expect(patched.one(COMMAND, "talos-ready").inputs.create).toMatch(/ --cni none --kube-proxy off --coredns on$/);
});

it("names the control plane alone when there are no workers", () => {
    expect(solo.one(COMMAND, "solo-ready").inputs.create).toBe("node --import tsx cli/main.ts wait --nodes 1 --timeout 15m " +
        "--control-planes solo-cp-01=172.30.0.2 --cluster solo --cni flannel --kube-proxy on --coredns on");
});
