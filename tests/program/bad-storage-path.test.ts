// A storage path the Talos layer refuses (here a trailing "/") fails the program before any
// resource is declared, as every other config problem does, instead of failing the machine-config
// render inside an apply once the cluster's resources are being created.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, expect, it } from "vitest";
import { loadProgram, Program } from "./harness";

let program: Program;

beforeAll(async () => {
    program = await loadProgram({ storage: { path: "/var/foo/" } });
});

it("fails with the config error, naming the key", () => {
    expect(program.error).toBeInstanceOf(pulumi.RunError);
    expect((program.error as Error).message.split("\n").slice(0, 2)).toEqual([
        "invalid stack configuration (1 problem); nothing was created:",
        '  - talos-docker:storage.path = "/var/foo/": must be an absolute path under /var with no whitespace, no trailing "/" and no empty, "." or ".." segment (the rest of a Talos node is read-only)',
    ]);
});

it("declares nothing", () => {
    expect(program.resources).toEqual([]);
});
