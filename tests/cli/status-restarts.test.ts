// `status` and restarts, with an in-memory Docker: each container's restart count in the report,
// a count that rises while status runs (a restart loop) as a problem with its next step, and a
// recent restart as a warning only.

import { describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import type { StatusReport } from "../../cli/status/report";
import { FakeDocker, fakeNode } from "../support/fake-docker";
import { runCli } from "./support/harness";

const NET = "talos-net";

function docker(): FakeDocker {
    const d = new FakeDocker();
    d.networks = [{
        id: "n1", name: NET, driver: "bridge", subnets: ["172.30.0.0/24"], gateways: ["172.30.0.1"], mtu: 1500,
        labels: { "talos.owned": "true", "talos.cluster.name": "talos" },
    }];
    d.containers = [
        fakeNode({ name: "talos-cp-01", cluster: "talos", role: "controlplane", ip: "172.30.0.2", network: NET }),
        fakeNode({ name: "talos-worker-01", cluster: "talos", role: "worker", ip: "172.30.0.3", network: NET }),
    ];
    return d;
}

async function status(d: FakeDocker, json = true) {
    const args = ["status", "--cluster", "talos", "--timeout", "1s", ...(json ? ["--json"] : [])];
    const run = await runCli(args, { PATH: "/nonexistent" }, { clients: { docker: () => d } });
    return { ...run, report: json ? (JSON.parse(run.out.join("\n")) as StatusReport) : undefined };
}

const containerFindings = (r: StatusReport) => r.findings.filter((f) => f.section === "containers");

describe("status and restarts", () => {
    it("shows each container's restart count; restarts long ago are no finding", async () => {
        const d = docker();
        d.containers[1].restartCount = 4;
        const run = await status(d);
        expect(run.report?.containers.rows.map((r) => [r.name, r.restarts])).toEqual([["talos-cp-01", 0], ["talos-worker-01", 4]]);
        expect(containerFindings(run.report!)).toEqual([]);
        const text = await status(d, false);
        expect(text.out.join("\n")).toMatch(/talos-worker-01\s+worker\s+running\s+172\.30\.0\.3\s+-\s+1h00m\s+4\n/);
    });

    it("a count that rises while status runs is a restart loop: a problem, with what to read and how to stop it", async () => {
        const d = docker();
        d.containers[1].restartCount = 7;
        // Docker restarts it between status' first look and its second.
        d.onInspect = (c, before) => {
            if (c.name === "talos-worker-01" && before === 1) {
                c.restartCount = 8;
                c.startedAt = new Date().toISOString();
            }
        };
        const run = await status(d);
        expect(run.code).toBe(ExitCode.UNHEALTHY);
        expect(containerFindings(run.report!)).toEqual([{
            section: "containers",
            severity: "problem",
            what: "talos-worker-01 restarted once while status ran (7 → 8): a restart loop",
            next: "`docker logs --tail 100 talos-worker-01` says why it stops; `docker stop talos-worker-01` ends the loop while you look",
        }]);
        expect(run.report?.containers.rows[1].restarts).toBe(8);
    });

    it("a container Docker is about to start again is a restart loop too", async () => {
        const d = docker();
        Object.assign(d.containers[0], { status: "restarting", running: false, restartCount: 12, exitCode: 1 });
        const run = await status(d);
        expect(run.code).toBe(ExitCode.UNHEALTHY);
        expect(containerFindings(run.report!)[0]).toEqual({
            section: "containers",
            severity: "problem",
            what: "talos-cp-01 is restarting: Docker has restarted it 12 times and starts it again: a restart loop",
            next: "`docker logs --tail 100 talos-cp-01` says why it stops; `docker stop talos-cp-01` ends the loop while you look",
        });
    });

    it("a restart minutes ago (a config apply that rebooted the node) is a warning, not a problem", async () => {
        const d = docker();
        Object.assign(d.containers[1], { restartCount: 1, startedAt: new Date(Date.now() - 90_000).toISOString() });
        const run = await status(d);
        expect(containerFindings(run.report!)).toEqual([{
            section: "containers",
            severity: "warning",
            what: expect.stringMatching(/^talos-worker-01 has restarted 1 time, the last 9\d s ago$/),
            next: "`npm run status` again: a count that keeps rising is a restart loop (`docker logs talos-worker-01` says why)",
        }]);
        expect(run.report?.findings.filter((f) => f.severity === "problem")).toEqual([]);
    });
});
