// What the config allows but advises against reaches `pulumi up` as a Pulumi warning, with its fix,
// and the program goes on to declare the cluster.
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { loadProgram, Program } from "./harness";

let program: Program;
const warned: string[] = [];

beforeAll(async () => {
    vi.spyOn(pulumi.log, "warn").mockImplementation(async (message: string) => {
        warned.push(message);
    });
    program = await loadProgram({ controlPlanes: { count: 2 } });
    if (program.error) throw program.error;
});

afterAll(() => {
    vi.restoreAllMocks();
});

it("logs the even control-plane count as a warning, with its fix on the line below", () => {
    expect(warned).toEqual([
        "talos-docker:controlPlanes.count = 2: an even count adds no fault tolerance: etcd needs a majority (2 of 2) to keep working, " +
            "so 2 control planes survive no failure, the same as 1; use 1 or 3\n" +
            "  fix: pulumi config set --path 'talos-docker:controlPlanes.count' 3",
    ]);
});

it("declares the cluster it was asked for", () => {
    expect(program.byType("talos-docker:index:TalosNode").map((r) => r.name).sort()).toEqual(["talos-cp-01", "talos-cp-02", "talos-worker-01", "talos-worker-02"]);
});
