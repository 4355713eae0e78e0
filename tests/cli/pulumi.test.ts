// The Pulumi CLI calls the operator commands make are bounded: a `pulumi` that never answers (a
// backend out of reach), or that leaves a grandchild holding its pipes, ends the call with a
// message saying so, and the command reports it as it reports any failed call.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, expect, it } from "vitest";

import { runPulumi } from "../../cli/pulumi";
import { runCli } from "./support/harness";

let dir: string;

beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "talos-docker-pulumi-"));
});
afterEach(() => {
    // Every process a fake started, by PID: a grandchild outlives the call on purpose.
    const pids = existsSync(join(dir, "pids")) ? readFileSync(join(dir, "pids"), "utf8").trim().split("\n") : [];
    for (const pid of pids.filter((p) => p !== "")) {
        try {
            process.kill(Number(pid), "SIGKILL");
        } catch {
            // already gone
        }
    }
    rmSync(dir, { recursive: true, force: true });
});

/** A `pulumi` running `script`, alone on PATH with the shell's basics; its PIDs go to a file. */
function fakePulumi(script: string): Record<string, string> {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "pulumi"), `#!/bin/sh\necho $$ >> "${dir}/pids"\n${script}\n`, { mode: 0o755 });
    return { PATH: `${bin}:/usr/bin:/bin`, TALOS_DOCKER_PULUMI_TIMEOUT: "1s" };
}

it("a pulumi that never answers is killed at the bound, and the call reads as a failure saying why", async () => {
    const env = fakePulumi("exec sleep 30");
    const started = performance.now();
    const result = await runPulumi(["stack", "output", "--json"], env);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toBe("`pulumi stack output` did not finish within 1s (is the Pulumi backend reachable? " +
        "`pulumi whoami` tells; TALOS_DOCKER_PULUMI_TIMEOUT sets the bound)");
});

it("a grandchild holding the pipes open does not hold the call past the bound", async () => {
    // The shell answers and exits; the background sleep keeps stdout open.
    const env = fakePulumi(`sleep 30 &\necho $! >> "${dir}/pids"\necho dev`);
    const started = performance.now();
    const result = await runPulumi(["stack", "--show-name"], env);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(result.code).toBe(124);
});

it("a prompt answer is read whole", async () => {
    const env = fakePulumi(`i=0; while [ $i -lt 2000 ]; do echo "line $i of the output"; i=$((i+1)); done`);
    const result = await runPulumi(["stack", "output"], env);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(2000);
});

it("kubeconfig from a stack whose backend never answers: exit 2 within the bound, naming the call", async () => {
    const env = fakePulumi("exec sleep 30");
    const started = performance.now();
    const run = await runCli(["kubeconfig", "--print"], env);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(run.code).toBe(2);
    expect(run.err.join("\n")).toContain("`pulumi stack output` did not finish within 1s");
});
