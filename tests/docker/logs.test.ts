// `logs` against a real Docker Engine: a container labelled like a node prints known lines on
// stdout and stderr; the CLI finds it by its short name and prints them, honours --tail and
// --since, and with --follow prints what comes later (only that with --tail 0) and ends when the
// container stops.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { runCli } from "../cli/support/harness";
import { runNodeContainer, TEST_IMAGE, useTestEngine, type TestEngine } from "../support/docker-engine";

const CLUSTER = "lg";
const NETWORK = "lg-net";

describe("logs against a real Docker Engine", () => {
    const docker = useTestEngine();
    let engine: TestEngine;
    const env = () => ({ DOCKER_HOST: engine.host });

    beforeAll(async () => {
        if (docker.skipped) return;
        engine = docker.engine;
        await engine.docker("network", "create", "--label", `talos.cluster.name=${CLUSTER}`, NETWORK);
        await runNodeContainer(engine, { name: "lg-cp-01", cluster: CLUSTER, role: "controlplane", network: NETWORK, bootLines: ["[talos] booting", "[talos] task startAllServices", "[talos] etcd is ready"] });
        // The log is written at start: wait until the last line is there.
        for (let i = 0; i < 50 && !(await engine.docker("logs", "lg-cp-01").catch(() => "")).includes("booting"); i++) await new Promise((r) => setTimeout(r, 100));
    });

    afterAll(async () => {
        if (docker.skipped) return;
        await engine.docker("rm", "-f", "lg-cp-01", "lg-worker-01").catch(() => "");
        await engine.docker("network", "rm", NETWORK).catch(() => "");
    });

    it("prints a node's stdout and stderr, found by its short name", async () => {
        const run = await runCli(["logs", "cp-01"], env());
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toEqual(["[talos] booting", "[talos] etcd is ready"]);
        expect(run.err).toEqual(["[talos] task startAllServices"]);
        expect((await runCli(["logs", "cp"], env())).out).toEqual(run.out);
        expect((await runCli(["logs", "lg-cp-01"], env())).out).toEqual(run.out);
    });

    it("--tail N prints the last N lines; --since a time to come prints nothing; --timestamps prefixes the time", async () => {
        // The engine copies stdout and stderr apart, so which stream's line is last is its call.
        const tail = await runCli(["logs", "lg-cp-01", "--tail", "1"], env());
        expect([...tail.out, ...tail.err]).toHaveLength(1);
        expect(["[talos] task startAllServices", "[talos] etcd is ready"]).toContain([...tail.out, ...tail.err][0]);
        const tail2 = await runCli(["logs", "lg-cp-01", "--tail", "2"], env());
        expect([...tail2.out, ...tail2.err]).toHaveLength(2);
        const future = await runCli(["logs", "lg-cp-01", "--since", String(Math.floor(Date.now() / 1000) + 3600)], env());
        expect([...future.out, ...future.err]).toEqual([]);
        const stamped = await runCli(["logs", "lg-cp-01", "--timestamps"], env());
        expect(stamped.out[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z \[talos\] booting$/);
    });

    it("--follow prints lines as they come and ends when the container stops; --tail 0 only the new ones", async () => {
        await engine.docker("run", "-d", "--name", "lg-worker-01", "--network", NETWORK,
            "--label", "talos.owned=true", "--label", `talos.cluster.name=${CLUSTER}`, "--label", "talos.type=worker",
            TEST_IMAGE, "sh", "-c", "echo first; sleep 1; echo second; sleep 1; echo third");
        const started = Date.now();
        const following = runCli(["logs", "worker-1", "--follow"], env());
        // Started once "first" is out, with --tail 0 it prints only what comes after ("second" is a second later).
        for (let i = 0; i < 50 && !(await engine.docker("logs", "lg-worker-01")).includes("first"); i++) await new Promise((r) => setTimeout(r, 20));
        const onlyNew = runCli(["logs", "lg-worker-01", "--follow", "--tail", "0"], env());
        const run = await following;
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toEqual(["first", "second", "third"]);
        // It followed: the last line comes two seconds after the first.
        expect(Date.now() - started).toBeGreaterThan(1500);
        expect(await onlyNew).toMatchObject({ code: ExitCode.OK, out: ["second", "third"] });
    });

    it("names the node containers there are when the node is unknown", async () => {
        const run = await runCli(["logs", "worker-7"], env());
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual([expect.stringMatching(/^\[logs\] error: no node "worker-7"; the node containers are: lg-cp-01(, lg-worker-01)?$/)]);
    });
});
