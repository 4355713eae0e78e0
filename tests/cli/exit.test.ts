// Every command, as a real process, ends once it has said it is done, even when every endpoint it
// talks to accepts connections and never answers (a silent listener on 127.0.0.1 stands for the
// Talos API, the Kubernetes API and the Docker Engine; a fake `pulumi` on PATH for the Pulumi CLI).
// Each command runs twice, side by side:
// - as the Pulumi command resources run it (`node --import tsx cli/main.ts …`, components/clicommands.ts),
//   whose entry point exits explicitly once main() resolved and the output is flushed;
// - through a runner that calls main() and does not exit (support/main-without-exit.ts): it ends
//   only if the command closed every client, socket and timer it opened.
// Both must give the exit code and message, within the command's own deadline plus start-up.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { projectRoot } from "../support/stack";
import { kubeconfigFor, makeTestPki, talosconfigFor } from "./support/harness";
import { engineStub, runProcess, silentListener, stopAll, type Listener, type ProcessRun } from "./support/processes";

/**
 * Start-up on top of the command's own deadline. Alone on an idle machine a command ends 0.4 to
 * 1.7 s after its deadline (node, tsx and the clients' modules, the Kubernetes client most); here
 * four start at once on 2 cores, beside the rest of the suite. This bound catches a process that
 * does not end, or ends far past its deadline; the sharp one is the next.
 */
const STARTUP_MS = 15_000;
/** From the last output a process wrote to its exit: it ends once it has said it is done. */
const EXIT_AFTER_OUTPUT_MS = 2_000;

const ENTRY = ["--import", "tsx", "cli/main.ts"];
const WITHOUT_EXIT = ["--import", "tsx", "tests/cli/support/main-without-exit.ts"];

/**
 * Containers of the stub engine for the large report, with long names: a JSON report of several
 * pipe buffers (over 400 KB) from a few nodes' work.
 */
const MANY_CONTAINERS = 200;

let dir: string;
let silent: Listener;
let engine: Listener;
let files: { talosconfig: string; kubeconfig: string };
let baseEnv: Record<string, string>;

beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "talos-docker-exit-"));
    silent = await silentListener();
    engine = await engineStub(Array.from({ length: MANY_CONTAINERS }, (_, i) => ({
        name: `test-worker-${String(i + 1).padStart(3, "0")}-${"long".repeat(100)}`,
        ip: `10.5.0.${i + 2}`,
        labels: { "talos.owned": "true", "talos.cluster.name": "test", "talos.type": "worker" },
        // status' TCP probe of a published port, against the silent listener
        ports: i === 0 ? [{ containerPort: 50000, hostPort: silent.port }] : [],
    })));
    const pki = await makeTestPki();
    // Our talosconfig's context and kubeconfig's cluster are "test": status looks for that cluster.
    files = { talosconfig: join(dir, "talosconfig"), kubeconfig: join(dir, "kubeconfig") };
    writeFileSync(files.talosconfig, talosconfigFor(pki, `127.0.0.1:${silent.port}`));
    writeFileSync(files.kubeconfig, kubeconfigFor(pki, `https://127.0.0.1:${silent.port}`));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    // The Pulumi CLI as the commands call it: the stack's client configs, a destroy that works,
    // and no stack outputs as JSON (status and doctor then go by the files and flags given).
    writeFileSync(join(bin, "pulumi"), `#!/bin/sh
case "$*" in
  "stack --show-name") echo dev ;;
  "stack output kubeconfig --show-secrets"*) cat "${files.kubeconfig}" ;;
  "stack output talosconfig --show-secrets"*) cat "${files.talosconfig}" ;;
  "destroy "*) echo "fake pulumi: destroyed" ;;
  *) echo "error: fake pulumi has no answer to: $*" >&2; exit 255 ;;
esac
`, { mode: 0o755 });
    baseEnv = {
        PATH: [bin, dirname(process.execPath), "/usr/bin", "/bin"].join(":"),
        HOME: dir,
        DOCKER_HOST: `tcp://127.0.0.1:${silent.port}`,
    };
});

afterAll(async () => {
    await stopAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface Case {
    /** the flags and arguments; `out` is a directory of this run's own */
    args(out: string): string[];
    env?: () => Record<string, string>;
    /** the longest the command itself may wait: its deadlines */
    deadlineMs: number;
    code: ExitCode;
    /** what it says when done (stderr for a failure, stdout for success) */
    message(out: string): RegExp;
    /** more to check on a run */
    check?(run: ProcessRun): void;
    slowStdoutMs?: number;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const at = () => escape(`127.0.0.1:${silent.port}`);

const CASES: Record<string, Case> = {
    // First: its deadline is the longest (the fixed 10 s of `docker ps`), the others run beside it.
    "logs, the engine silent": {
        args: () => ["logs", "cp"],
        deadlineMs: 10_000,
        code: ExitCode.FAILED,
        message: () => new RegExp(`^\\[logs\\] error: docker ps: the Docker Engine at tcp://${at()} did not answer in 10000 ms$`, "m"),
    },
    "bootstrap, apid silent (talosconfig in the environment, as the command resource passes it)": {
        args: () => ["bootstrap", "--timeout", "1s", "--containers", "talos-cp-01=10.5.0.2"],
        env: () => ({ TALOS_DOCKER_TALOSCONFIG: readFileSync(files.talosconfig, "utf8") }),
        deadlineMs: 1_000,
        code: ExitCode.TIMEOUT,
        message: () => new RegExp(`^\\[bootstrap\\] error: timed out after 1s waiting for apid on ${at()} to answer \\(last: [^)]+\\)\\.$`, "m"),
        check: (run) => expect(run.stderr).toContain("docker logs talos-cp-01"),
    },
    "wait, the Kubernetes API silent (kubeconfig in the environment)": {
        args: () => ["wait", "--nodes", "1", "--timeout", "1s"],
        env: () => ({ TALOS_DOCKER_KUBECONFIG: readFileSync(files.kubeconfig, "utf8") }),
        deadlineMs: 1_000,
        code: ExitCode.TIMEOUT,
        message: () => new RegExp(`^\\[wait\\] error: timed out after 1s waiting for the cluster to be ready\\. Not ready:\\n  - the Kubernetes API at https://${at()} is not ready: no answer in`, "m"),
    },
    "apply, apid silent (talosconfig and machine config in the environment, as the command resource passes them)": {
        args: () => ["apply", "--node", "10.5.0.3", "--container", "test-worker-01", "--timeout", "1s"],
        env: () => ({ TALOS_DOCKER_TALOSCONFIG: readFileSync(files.talosconfig, "utf8"), TALOS_DOCKER_MACHINE_CONFIG: "version: v1alpha1\n" }),
        deadlineMs: 1_000,
        code: ExitCode.TIMEOUT,
        message: () => new RegExp(`^\\[apply\\] error: timed out after 1s waiting for 10\\.5\\.0\\.3 to answer through ${at()} \\(last: [^)]+\\)\\.$`, "m"),
        check: (run) => expect(run.stderr).toContain("docker logs test-worker-01"),
    },
    "manifests, the Kubernetes API silent (kubeconfig in the environment)": {
        args: () => ["manifests", "--kubernetes-version", "1.31.2", "--timeout", "1s"],
        env: () => ({ TALOS_DOCKER_KUBECONFIG: readFileSync(files.kubeconfig, "utf8") }),
        deadlineMs: 1_000,
        code: ExitCode.TIMEOUT,
        message: () => /^\[manifests\] error: timed out after 1s waiting for the Kubernetes API to answer for kube-system\/kube-proxy \(last: no answer in [^)]+\)\.$/m,
    },
    "remove-node, the engine and the Kubernetes API silent (kubeconfig in the environment, as the node's resource passes it)": {
        args: () => ["remove-node", "--node", "10.5.0.3", "--container", "test-worker-01", "--role", "worker", "--timeout", "1s"],
        env: () => ({ TALOS_DOCKER_KUBECONFIG: readFileSync(files.kubeconfig, "utf8") }),
        deadlineMs: 1_000,
        code: ExitCode.TIMEOUT,
        message: () => new RegExp(
            `^\\[remove-node\\] error: timed out after 1s waiting for the Kubernetes API to list the nodes, at the Kubernetes API https://${at()} ` +
                "\\(last: no answer in [^)]+\\)\\.$",
            "m",
        ),
        check: (run) => {
            expect(run.stderr).toContain("10.5.0.3 (container test-worker-01) is still in the cluster");
            // Docker is asked first, within the same deadline: a quarter of it.
            expect(run.stdout).toContain(
                `[remove-node] warning: Docker cannot tell whether test-worker-01 (10.5.0.3) runs (docker inspect test-worker-01: ` +
                    `the Docker Engine at tcp://127.0.0.1:${silent.port} did not answer in 250 ms); going on as if it does`,
            );
        },
    },
    "status, the engine, the Talos API and the Kubernetes API silent": {
        args: () => ["status", "--timeout", "1s", "--talosconfig", files.talosconfig, "--kubeconfig", files.kubeconfig],
        // each probe's deadline, and the margin status' own guard gives the Kubernetes probe
        deadlineMs: 1_250,
        code: ExitCode.UNHEALTHY,
        message: () => /^\[status\] error: \d+ problems? found \(the summary says what to do\)$/m,
        check: (run) => expect(run.stdout).toContain(`the Docker Engine at tcp://127.0.0.1:${silent.port} did not answer in 1000 ms`),
    },
    "status --json, many containers, their Talos API, stats and networks silent, read by a slow reader": {
        args: () => ["status", "--json", "--timeout", "1s", "--talosconfig", files.talosconfig, "--kubeconfig", files.kubeconfig],
        env: () => ({ DOCKER_HOST: `tcp://127.0.0.1:${engine.port}` }),
        deadlineMs: 1_250,
        slowStdoutMs: 500,
        code: ExitCode.UNHEALTHY,
        message: () => /^\[status\] error: \d+ problems? found \(the summary says what to do\)$/m,
        check: (run) => {
            // Several times what a pipe holds, all of it read after the process had finished.
            expect(run.stdout.length).toBeGreaterThan(4 * 65_536);
            const report = JSON.parse(run.stdout) as {
                containers: { rows: unknown[] };
                talos: { endpoint: string; rows: { error?: string }[] };
                ports: { rows: { hostPort: number; reachable: boolean }[] };
            };
            expect(report.containers.rows).toHaveLength(MANY_CONTAINERS);
            expect(report.ports.rows).toEqual([expect.objectContaining({ hostPort: silent.port, reachable: true })]);
            expect(report.talos.endpoint).toBe(`127.0.0.1:${silent.port}`);
            expect(report.talos.rows.filter((r) => r.error !== undefined)).toHaveLength(MANY_CONTAINERS);
        },
    },
    "doctor, the engine silent": {
        args: () => ["doctor", "--stack", "dev", "--timeout", "1s"],
        deadlineMs: 1_000,
        code: ExitCode.UNHEALTHY,
        message: () => /^\[doctor\] error: \d+ checks? failed$/m,
        check: (run) => expect(run.stdout).toContain(`the Docker Engine at tcp://127.0.0.1:${silent.port} did not answer within 1 s`),
    },
    "registry-cache attach, the engine silent (as a stack's registry-cache resource runs it)": {
        args: () => ["registry-cache", "attach", "--network", "talos-net", "--subnet", "172.30.0.0/24", "--timeout", "1s"],
        deadlineMs: 1_000,
        code: ExitCode.TIMEOUT,
        message: () => new RegExp(`^\\[registry-cache\\] error: registry-cache attach: not done within 1s: docker network ls: the Docker Engine at tcp://${at()} did not answer`, "m"),
    },
    "kubeconfig, from the stack (its server silent)": {
        args: (out) => ["kubeconfig", "--stack", "dev", "--file", join(out, "config")],
        deadlineMs: 0,
        code: ExitCode.OK,
        message: (out) => new RegExp(`^merged context admin@test into ${escape(join(out, "config"))}`, "m"),
    },
    "talosconfig, from the stack (its endpoint silent)": {
        args: (out) => ["talosconfig", "--stack", "dev", "--file", join(out, "config")],
        deadlineMs: 0,
        code: ExitCode.OK,
        message: (out) => new RegExp(`^merged context test into ${escape(join(out, "config"))}`, "m"),
    },
    destroy: {
        args: () => ["destroy", "--stack", "dev", "--yes"],
        deadlineMs: 0,
        code: ExitCode.OK,
        message: () => /^\[destroy\] done: the cluster's containers, volumes and network are gone$/m,
    },
};

it("the entry point exits with main()'s code once it resolved, even with a handle left open", async () => {
    const run = await runProcess(process.execPath, ["--import", "tsx", "tests/cli/support/entry-with-open-handle.ts", "no-such-command"], {
        cwd: projectRoot,
        env: baseEnv,
        killAfterMs: STARTUP_MS + 2_000,
    });
    expect(run.killed).toBe(false);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toMatch(/^unknown command "no-such-command"/m);
    expect(run.afterOutputMs).toBeLessThan(EXIT_AFTER_OUTPUT_MS);
});

describe.concurrent("every command ends when it is done, against endpoints that never answer", () => {
    for (const [name, c] of Object.entries(CASES)) {
        it(name, async () => {
            const runs = await Promise.all([ENTRY, WITHOUT_EXIT].map((script) => {
                const out = mkdtempSync(join(dir, "run-"));
                return runProcess(process.execPath, [...script, ...c.args(out)], {
                    cwd: projectRoot,
                    env: { ...baseEnv, ...c.env?.() },
                    // past the bound asserted below, so a failure shows how long it took
                    killAfterMs: c.deadlineMs + (c.slowStdoutMs ?? 0) + STARTUP_MS + 2_000,
                    slowStdoutMs: c.slowStdoutMs,
                }).then((run) => ({ run, out }));
            }));
            for (const [i, { run, out }] of runs.entries()) {
                const how = i === 0 ? "cli/main.ts" : "main() without the explicit exit";
                const said = `${how}: exit ${run.code} after ${Math.round(run.ms)} ms\nstdout: ${run.stdout.slice(-2000)}\nstderr: ${run.stderr}`;
                expect(run.killed, said).toBe(false);
                expect(run.code, said).toBe(c.code);
                expect(c.code === ExitCode.OK ? run.stdout : run.stderr, said).toMatch(c.message(out));
                expect(run.stderr, said).not.toMatch(/still running|^\s+at /m);
                expect(run.ms, said).toBeLessThan(c.deadlineMs + (c.slowStdoutMs ?? 0) + STARTUP_MS);
                if (c.slowStdoutMs === undefined) expect(run.afterOutputMs, said).toBeLessThan(EXIT_AFTER_OUTPUT_MS);
                c.check?.(run);
            }
        }, 120_000);
    }
});
