// The CLI entry: commands, help, exit codes.

import { describe, expect, it } from "vitest";

import { COMMANDS } from "../../cli/commands";
import { ExitCode } from "../../cli/exitcodes";
import { runCli } from "./support/harness";

describe("main", () => {
    it("lists the commands when run without one, exiting 2", async () => {
        const run = await runCli([], {});
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err[0]).toContain("  bootstrap    bootstrap etcd on the first control plane");
        expect(run.err[0]).toContain("  wait         wait until Kubernetes is ready");
    });

    it("rejects an unknown command", async () => {
        const run = await runCli(["statsu"], {});
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err[0]).toMatch(/^unknown command "statsu"\n/);
    });

    it.each(COMMANDS.map((c) => c.name))("%s --help documents its usage and exit codes", async (name) => {
        const run = await runCli([name, "--help"], {});
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out[0]).toMatch(new RegExp(`^Usage: ${name}\\b`));
        expect(run.out[0]).toContain("4  timed out");
    });

    // The commands the Pulumi resources run get their secrets from the environment, never argv.
    it.each([
        ["bootstrap", "TALOS_DOCKER_TALOSCONFIG"],
        ["wait", "TALOS_DOCKER_KUBECONFIG"],
        ["kubeconfig", "TALOS_DOCKER_KUBECONFIG"],
        ["talosconfig", "TALOS_DOCKER_TALOSCONFIG"],
    ])("%s --help names %s", async (name, envVar) => {
        const run = await runCli([name, "--help"], {});
        expect(run.out[0]).toContain(envVar);
    });
});
