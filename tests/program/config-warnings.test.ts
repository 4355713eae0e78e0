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
    program = await loadProgram({ controlPlanes: { count: 2 }, "myteam:owner": "ops", "docker:host": "unix:///var/run/docker.sock" });
    if (program.error) throw program.error;
});

afterAll(() => {
    vi.restoreAllMocks();
});

it("logs each warning (an even control-plane count, a key nobody reads) with its fix on the line below", () => {
    expect(warned).toEqual([
        // Another namespace: maybe another tool's. The Docker provider's own key is left alone.
        'myteam:owner = "ops": is not read by this program (namespace talos-docker) or its providers (pulumi, docker, kubernetes, command, tls, random)\n' +
            "  fix: pulumi config rm myteam:owner, unless another tool reads it from this stack",
        "talos-docker:controlPlanes.count = 2: an even count adds no fault tolerance: etcd needs a majority (2 of 2) to keep working, " +
            "so 2 control planes survive no failure, the same as 1; use 1 or 3\n" +
            "  fix: pulumi config set --path 'talos-docker:controlPlanes.count' 3",
    ]);
});

it("declares the cluster it was asked for", () => {
    expect(program.byType("talos-docker:index:TalosNode").map((r) => r.name).sort()).toEqual(["talos-cp-01", "talos-cp-02", "talos-worker-01", "talos-worker-02"]);
});
