// logs as a command against the in-memory Docker: stdout and stderr chunks become whole lines on
// the CLI's out and err, --follow ends on Ctrl-C with what came so far, and the exit codes of a
// container that vanished, an engine that is down and an unusable DOCKER_HOST.

import { describe, expect, it } from "vitest";

import { DockerError, type LogOptions } from "../../cli/docker/api";
import { ExitCode } from "../../cli/exitcodes";
import { FakeDocker, fakeNode } from "../support/fake-docker";
import { runCli } from "./support/harness";

type Write = (stream: "stdout" | "stderr", chunk: Buffer) => void;

class LogDocker extends FakeDocker {
    asked: { name: string; opts: LogOptions }[] = [];
    constructor(private readonly play: (write: Write, signal?: AbortSignal) => Promise<void>) {
        super();
        this.containers = [fakeNode({ name: "lab-cp-01", cluster: "lab", role: "controlplane", ip: "10.5.0.2", network: "lab-net" })];
    }
    logs(name: string, opts: LogOptions, write: Write, signal?: AbortSignal): Promise<void> {
        this.asked.push({ name, opts });
        return this.play(write, signal);
    }
}

const run = (args: string[], docker: FakeDocker) => runCli(["logs", ...args], {}, { clients: { docker: () => docker } });

describe("logs, the command", () => {
    it("prints stdout chunks as lines on out and stderr on err, with the flags passed on", async () => {
        const docker = new LogDocker(async (write) => {
            write("stdout", Buffer.from("[talos] boo"));
            write("stderr", Buffer.from("warn: x\n"));
            write("stdout", Buffer.from("ting\n[talos] ready"));
        });
        const r = await run(["cp", "--tail", "0", "--timestamps", "--since", "1764054000"], docker);
        expect(r.code).toBe(ExitCode.OK);
        expect(r.out).toEqual(["[talos] booting", "[talos] ready"]);
        expect(r.err).toEqual(["warn: x"]);
        expect(docker.asked).toEqual([{ name: "lab-cp-01", opts: { follow: false, since: 1764054000, tail: 0, timestamps: true } }]);
    });

    it("--follow ends on Ctrl-C, with the lines so far, exit 0", async () => {
        const docker = new LogDocker((write, signal) => new Promise((resolve) => {
            write("stdout", Buffer.from("first\nsecond, unfinished"));
            signal?.addEventListener("abort", () => resolve());
        }));
        const listeners = process.listenerCount("SIGINT");
        const pending = run(["lab-cp-01", "-f"], docker);
        await new Promise((r) => setTimeout(r, 50));
        process.emit("SIGINT");
        const r = await pending;
        expect(r.code).toBe(ExitCode.OK);
        expect(r.out).toEqual(["first", "second, unfinished"]);
        expect(process.listenerCount("SIGINT")).toBe(listeners);
    });

    it("a container gone before its log was read is a usage error; an engine failure is exit 1", async () => {
        const gone = await run(["cp"], new LogDocker(async () => {
            throw new DockerError("notfound", "docker logs lab-cp-01: not found");
        }));
        expect(gone).toMatchObject({ code: ExitCode.USAGE, err: ["[logs] error: docker logs lab-cp-01: not found"] });
        const late = await run(["cp"], new LogDocker(async () => {
            throw new DockerError("timeout", "docker logs lab-cp-01: the Docker Engine did not answer in 10000 ms");
        }));
        expect(late.code).toBe(ExitCode.FAILED);
        const down = new FakeDocker();
        down.down = true;
        expect(await run(["cp"], down)).toMatchObject({ code: ExitCode.FAILED, err: ["[logs] error: the Docker Engine at unix:///fake/docker.sock is not running (ECONNREFUSED): start it"] });
    });

    it("usage errors: no node, two nodes, an unusable DOCKER_HOST", async () => {
        const docker = new LogDocker(async () => {});
        expect((await run([], docker)).code).toBe(ExitCode.USAGE);
        expect((await run(["cp", "worker"], docker)).code).toBe(ExitCode.USAGE);
        const r = await runCli(["logs", "cp"], { DOCKER_HOST: "ssh://host" });
        expect(r).toMatchObject({ code: ExitCode.USAGE, err: ['[logs] error: DOCKER_HOST "ssh://host" is not unix:///path or tcp://host:port'] });
    });
});
