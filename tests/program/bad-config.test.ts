// A bad stack config fails the program before any resource is declared, with one message that
// lists every problem and no stack trace.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, expect, it } from "vitest";
import { loadProgram, Program } from "./harness";

let program: Program;

beforeAll(async () => {
    program = await loadProgram({
        clusterName: "Not_A_Label",
        kubernetesVersion: "1.35.0",
        workers: { count: 300 },
        ports: { http: 6444 },
        configPatches: { worker: [{ machine: { kubelet: { nonsense: true } } }] },
        "talos:clusterName": "lab",
    });
});

it("throws a RunError, which Pulumi prints without a stack trace", () => {
    expect(program.error).toBeInstanceOf(pulumi.RunError);
});

it("names every problem at once, each with its fix on the line below", () => {
    const message = (program.error as Error).message;
    expect(message.split("\n")).toEqual([
        "invalid stack configuration (6 problems); nothing was created:",
        '  - talos:clusterName = "lab": is not read: this program reads the talos-docker namespace only; did you mean talos-docker:clusterName?',
        "    fix: pulumi config rm talos:clusterName && pulumi config set talos-docker:clusterName lab",
        expect.stringMatching(/^ {2}- talos-docker:clusterName = "Not_A_Label": must be a DNS label/),
        "    fix: pulumi config set talos-docker:clusterName not-a-label",
        '  - talos-docker:kubernetesVersion = "1.35.0": Talos v1.8.3 supports Kubernetes 1.26 to 1.31 (its default is 1.31.2)',
        "    fix: pulumi config set talos-docker:kubernetesVersion 1.31.2",
        "  - talos-docker:workers.count = 300: must be an integer from 0 to 250",
        "    fix: pulumi config set --path 'talos-docker:workers.count' 250",
        "  - talos-docker:ports.http = 6444: collides with ports.kubernetesApi; each host port must be different",
        "    fix: pulumi config set --path 'talos-docker:ports.http' 6445",
        // The patch is tried beside them, on the defaults of the keys that are wrong.
        '  - talos-docker:configPatches.worker[0] = {"machine":{"kubelet":{"nonsense":true}}}: does not apply to the worker config of Talos v1.8.3: ' +
            "the patched config does not load in Talos v1.8: machine.kubelet.nonsense: unknown field",
        "    fix: edit talos-docker:configPatches.worker[0] in Pulumi.dev.yaml at machine.kubelet.nonsense, " +
            "or pulumi config rm --path 'talos-docker:configPatches.worker[0]'",
    ]);
});

it("declares nothing", () => {
    expect(program.resources).toEqual([]);
});
