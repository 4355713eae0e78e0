// The `talos-docker` bin (package.json "bin"), run from a directory outside the project, as a
// user's shell runs it: through the symlink npm puts on PATH, by its path, and through npx. It
// finds tsx in its own package, not the current directory. And it is committed executable, so
// npm's chmod of a bin target leaves git with nothing to see.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { projectRoot } from "../support/stack";
import { runProcess, stopAll, type ProcessRun } from "./support/processes";

const BIN = "cli/talos-docker.cjs";
const STACK_TRACE = /^\s+at /m;

let cwd: string;
let env: Record<string, string>;

beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), "talos-docker-bin-"));
    // As `npm install` links a package's bin: a symlink in node_modules/.bin, on PATH.
    const bin = join(cwd, "node_modules", ".bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(join(projectRoot, BIN), join(bin, "talos-docker"));
    env = { PATH: [bin, dirname(process.execPath), "/usr/bin", "/bin"].join(":"), HOME: cwd };
});

afterAll(async () => {
    await stopAll();
    if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true });
});

const run = (command: string, args: string[], extraEnv: Record<string, string> = {}): Promise<ProcessRun> =>
    runProcess(command, args, { cwd, env: { ...env, ...extraEnv }, killAfterMs: 30_000 });

describe("the talos-docker bin", () => {
    it("is package.json's bin, committed with mode 755", (ctx) => {
        const pkg = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { bin: Record<string, string> };
        expect(pkg.bin).toEqual({ "talos-docker": BIN });
        const git = spawnSync("git", ["ls-files", "--stage", "--", BIN], { cwd: projectRoot, encoding: "utf8" });
        if (git.error !== undefined || git.status !== 0) {
            console.log(`[skipped] git cannot list the index here: ${git.error?.message ?? git.stderr.trim()}`);
            ctx.skip();
        }
        expect(git.stdout).toMatch(new RegExp(`^100755 [0-9a-f]{40} 0\\t${BIN}$`, "m"));
    });

    it("prints its help from another directory, through the symlink on PATH and by its path", async () => {
        const [linked, direct] = await Promise.all([run("talos-docker", ["--help"]), run(join(projectRoot, BIN), ["--help"])]);
        for (const r of [linked, direct]) {
            expect(r.stderr).toBe("");
            expect(r.code).toBe(ExitCode.OK);
            expect(r.stdout).toMatch(/^Usage: talos-docker <command> \[flags\]/);
        }
    });

    it("runs a command that loads its clients from another directory: a bad talosconfig is exit 2, no stack trace", async () => {
        const r = await run("talos-docker", ["bootstrap"], { TALOS_DOCKER_TALOSCONFIG: "context: [" });
        expect(r.stderr).not.toMatch(STACK_TRACE);
        expect(r.stderr).toMatch(/^\[bootstrap\] error: talosconfig: /m);
        expect(r.code).toBe(ExitCode.USAGE);
    });

    it("runs through npx from another directory", async (ctx) => {
        if (spawnSync("npx", ["--version"], { env }).status !== 0) {
            console.log("[skipped] npx is not on PATH");
            ctx.skip();
        }
        // --no: never install anything; the bin is the project's own.
        const r = await run("npx", ["--no", "--prefix", projectRoot, "--", "talos-docker", "--help"], { npm_config_update_notifier: "false" });
        expect(r.stderr).not.toMatch(STACK_TRACE);
        expect(r.code).toBe(ExitCode.OK);
        expect(r.stdout).toMatch(/^Usage: talos-docker <command> \[flags\]/);
    });
});
