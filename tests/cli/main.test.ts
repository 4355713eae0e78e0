// The CLI entry: commands, help (general and per command), the version, exit codes in the help,
// and "did you mean" for a misspelt command or flag.

import { describe, expect, it } from "vitest";

import packageJson from "../../package.json";
import { COMMANDS } from "../../cli/commands";
import { EXIT_CODE_MEANINGS, ExitCode } from "../../cli/exitcodes";
import { closest, editDistance } from "../../cli/suggest";
import { TALOS_MINORS } from "../../talos/versions";
import { runCli } from "./support/harness";

/** The codes a help text lists under "Exit codes:". */
function listedCodes(help: string): number[] {
    const section = help.slice(help.indexOf("Exit codes"));
    return [...section.matchAll(/^ {2}(\d) {2}(.+)$/gm)].map((m) => {
        expect(m[2]).toBe(EXIT_CODE_MEANINGS[Number(m[1]) as ExitCode]);
        return Number(m[1]);
    });
}

describe("main", () => {
    it("lists the commands when run without one, exiting 2", async () => {
        const run = await runCli([], {});
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err[0]).toContain("  bootstrap    bootstrap etcd on the first control plane");
        expect(run.err[0]).toContain("  wait         wait until Kubernetes is ready");
        expect(listedCodes(run.err[0])).toEqual([0, 2]);
    });

    it("rejects an unknown command, with the closest one", async () => {
        const run = await runCli(["statsu"], {});
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err[0]).toMatch(/^unknown command "statsu"; did you mean status\?\n\nUsage: talos-docker/);
        expect((await runCli(["kubeconfg"], {})).err[0]).toMatch(/^unknown command "kubeconfg"; did you mean kubeconfig\?\n/);
        expect((await runCli(["frobnicate"], {})).err[0]).toMatch(/^unknown command "frobnicate"\n\nUsage: talos-docker/);
    });

    it("`help <command>` prints that command's help; `help` and --help the general one", async () => {
        for (const c of COMMANDS) {
            const help = await runCli(["help", c.name], {});
            expect(help.code).toBe(ExitCode.OK);
            expect(help.out).toEqual((await runCli([c.name, "--help"], {})).out);
        }
        expect((await runCli(["help", "status"], {})).out[0]).toMatch(/^Usage: status \[flags\]/);
        const general = await runCli(["help"], {});
        expect(general.out[0]).toMatch(/^Usage: talos-docker <command>/);
        expect((await runCli(["--help"], {})).out).toEqual(general.out);
        expect((await runCli(["help", "--help"], {})).out).toEqual(general.out);
        const unknown = await runCli(["help", "doctr"], {});
        expect(unknown.code).toBe(ExitCode.USAGE);
        expect(unknown.err[0]).toMatch(/^unknown command "doctr"; did you mean doctor\?\n/);
    });

    it("--version and `version` print the package version and every supported Talos minor", async () => {
        const run = await runCli(["--version"], {});
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toEqual([
            `talos-docker ${packageJson.version}`,
            "Talos minors supported, with the Kubernetes versions each runs:",
            "  v1.8   Kubernetes 1.26 – 1.31 (tested with v1.8.3)",
            "  v1.9   Kubernetes 1.27 – 1.32 (tested with v1.9.6)",
            "  v1.10  Kubernetes 1.28 – 1.33 (tested with v1.10.9)",
            "  v1.11  Kubernetes 1.29 – 1.34 (tested with v1.11.6)",
            "  v1.12  Kubernetes 1.30 – 1.35 (tested with v1.12.11)",
            "  v1.13  Kubernetes 1.31 – 1.36 (tested with v1.13.9)",
            "  v1.14  Kubernetes 1.32 – 1.37 (tested with v1.14.1)",
        ]);
        expect(run.out).toHaveLength(2 + TALOS_MINORS.length);
        expect((await runCli(["version"], {})).out).toEqual(run.out);
        expect((await runCli(["version", "--short"], {})).err).toEqual(["[version] error: version: unknown flag --short (see `version --help`)"]);
    });

    it.each(COMMANDS.map((c) => c.name))("%s --help documents its usage and exactly the exit codes it declares", async (name) => {
        const command = COMMANDS.find((c) => c.name === name)!;
        const run = await runCli([name, "--help"], {});
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out[0]).toMatch(new RegExp(`^Usage: ${name}\\b`));
        expect(listedCodes(run.out[0])).toEqual([...command.exitCodes]);
    });

    it("suggests the closest flag for a misspelt one", async () => {
        const run = await runCli(["status", "--stak", "dev"], {});
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(["[status] error: status: unknown flag --stak; did you mean --stack? (see `status --help`)"]);
        expect((await runCli(["logs", "--folow", "cp"], {})).err).toEqual(["[logs] error: logs: unknown flag --folow; did you mean --follow? (see `logs --help`)"]);
        expect((await runCli(["doctor", "--bogus"], {})).err).toEqual(["[doctor] error: doctor: unknown flag --bogus (see `doctor --help`)"]);
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

describe("closest", () => {
    it("counts a swap of neighbours as one edit, and allows one edit per three letters", () => {
        expect(editDistance("statsu", "status")).toBe(1);
        expect(editDistance("", "abc")).toBe(3);
        expect(editDistance("kitten", "sitting")).toBe(3);
        expect(closest("statsu", ["status", "wait", "logs"])).toEqual(["status"]);
        expect(closest("lgs", ["status", "wait", "logs"])).toEqual(["logs"]);
        expect(closest("xyz", ["status", "wait", "logs"])).toEqual([]);
        // Two letters are one edit from too much: nothing.
        expect(closest("wt", ["status", "wait"])).toEqual([]);
        // A prefix of three letters or more names the command it begins.
        expect(closest("kube", ["kubeconfig", "talosconfig"])).toEqual(["kubeconfig"]);
        expect(closest("STATUS", ["status"])).toEqual(["status"]);
    });
});
