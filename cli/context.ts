// Everything a command touches outside itself, injected so tests and benches can drive it:
// the environment, output, files, time and the API clients.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

import type { TalosApi, TalosContext } from "../talos/api";
import type { DockerApi } from "./docker/api";
import type { DockerWriter } from "./docker/writer";
import type { KubeApi } from "./kube/api";

/** Time as the commands see it. `now` is monotonic milliseconds. */
export interface Clock {
    now(): number;
    sleep(ms: number): Promise<void>;
    /** in [0, 1), for backoff jitter */
    random(): number;
}

export const systemClock: Clock = {
    now: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
    random: () => Math.random(),
};

export interface CliContext {
    env: Readonly<Record<string, string | undefined>>;
    /** progress and results, one line at a time */
    out(line: string): void;
    /** errors */
    err(line: string): void;
    readFile(path: string): string;
    clock: Clock;
    /** API clients; the real ones when absent */
    clients?: Partial<ClientFactories>;
}

export interface ClientFactories {
    /** a client for the context's first endpoint */
    talos(ctx: TalosContext): TalosApi;
    /** a client for the kubeconfig's current context (YAML text) */
    kube(kubeconfig: string): Promise<KubeApi>;
    /** the Docker Engine of $DOCKER_HOST (or the default socket) */
    docker(env: Readonly<Record<string, string | undefined>>): DockerApi;
    /** the same engine with the calls that change it, for `registry-cache` alone */
    dockerWriter(env: Readonly<Record<string, string | undefined>>): DockerWriter;
}

/** The real process: stdout, stderr, the file system, wall time. */
export function processContext(): CliContext {
    return {
        env: process.env,
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
        readFile: (path) => readFileSync(path, "utf8"),
        clock: systemClock,
    };
}
