// `bootstrap` against a fake apid (gRPC, mutual TLS from the test PKI), through the whole CLI.

import { performance } from "node:perf_hooks";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { runBootstrap } from "../../cli/bootstrap/flow";
import { ExitCode } from "../../cli/exitcodes";
import { TalosApiError, type TalosApi, type VersionMessage } from "../../talos/api";
import { FakeTalos } from "../support/fake-talos";
import { makeSecretsBundle } from "../support/pki";
import { issueCert } from "./support/certs";
import { FakeClock } from "./support/fakeclock";
import { makeTestPki, runCli, talosconfigFor, type TestPki } from "./support/harness";

let pki: TestPki;
const fakes: FakeTalos[] = [];

beforeAll(async () => {
    pki = await makeTestPki();
});

afterEach(async () => {
    await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fake(opts: Omit<Parameters<typeof FakeTalos.start>[0], "osCa"> = {}): Promise<FakeTalos> {
    const f = await FakeTalos.start({ osCa: pki.bundle.certs.os, ...opts });
    fakes.push(f);
    return f;
}

const env = (talosconfig: string) => ({ TALOS_DOCKER_TALOSCONFIG: talosconfig });

describe("bootstrap", () => {
    it("waits while connections are refused, then bootstraps once, noticing apid within a second", async () => {
        const apid = await fake({ deferListen: true });
        setTimeout(() => void apid.listen(), 2000);
        const run = await runCli(["bootstrap", "--timeout", "10s"], env(talosconfigFor(pki, apid.endpoint)));
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(apid.calls.bootstrap).toBe(1);
        expect(performance.now() - apid.listeningSince!).toBeLessThan(1000);
        expect(run.out[0]).toBe(`[bootstrap] waiting for apid on ${apid.endpoint} (0s)`);
        expect(run.out[1]).toMatch(new RegExp(`^\\[bootstrap\\] waiting for apid on ${apid.endpoint} \\([12]s, connection refused\\)$`));
        expect(run.out.at(-1)).toMatch(new RegExp(`^\\[bootstrap\\] done: bootstrapped etcd on ${apid.endpoint} \\([23]s\\)$`));
        // one line a second at most while the state stays the same, not one per attempt
        expect(run.out.length).toBeLessThanOrEqual(6);
    });

    it("waits for a slow apid", async () => {
        const apid = await fake({ delayMs: 700 });
        const run = await runCli(["bootstrap", "--timeout", "10s"], env(talosconfigFor(pki, apid.endpoint)));
        expect(run.code).toBe(ExitCode.OK);
        expect(run.ms).toBeGreaterThanOrEqual(1400);
        expect(Object.entries(apid.calls).filter(([, n]) => n > 0)).toEqual([["version", 1], ["bootstrap", 1]]);
    });

    it("retries calls that outlive --call-timeout, and times out naming the last reason", async () => {
        const apid = await fake({ delayMs: 2000 });
        const run = await runCli(["bootstrap", "--timeout", "1s", "--call-timeout", "300ms"], env(talosconfigFor(pki, apid.endpoint)));
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(apid.calls.version).toBeGreaterThanOrEqual(2);
        expect(run.err).toEqual([
            `[bootstrap] error: timed out after 1s waiting for apid on ${apid.endpoint} to answer (last: no answer in time).\n` +
                "Read the logs of the first control plane: docker logs <container> (docker ps --filter label=talos.owned=true lists the node containers), and talosctl -n <node ip> dmesg.",
        ]);
    });

    it("retries FailedPrecondition until the node accepts the bootstrap", async () => {
        const apid = await fake({ failedPreconditions: 3 });
        const run = await runCli(["bootstrap", "--timeout", "10s"], env(talosconfigFor(pki, apid.endpoint)));
        expect(run.code).toBe(ExitCode.OK);
        expect(apid.calls.bootstrap).toBe(4);
        expect(apid.bootstrapped).toBe(true);
        expect(run.out.at(-1)).toMatch(new RegExp(`^\\[bootstrap\\] done: bootstrapped etcd on ${apid.endpoint} \\([01]s\\)$`));
    });

    it("treats an already bootstrapped node as success, calling Bootstrap once", async () => {
        const apid = await fake({ bootstrapped: true });
        const run = await runCli(["bootstrap"], env(talosconfigFor(pki, apid.endpoint)));
        expect(run.code).toBe(ExitCode.OK);
        expect(apid.calls.bootstrap).toBe(1);
        expect(run.out).toEqual([
            `[bootstrap] waiting for apid on ${apid.endpoint} (0s)`,
            `[bootstrap] apid answered on ${apid.endpoint}: Talos v1.8.3 (0s)`,
            `[bootstrap] bootstrapping etcd on ${apid.endpoint} (0s)`,
            "[bootstrap] done: already bootstrapped (etcd data directory is not empty) (0s)",
        ]);
    });

    it("fails at once, with advice, when the talosconfig's CA did not issue apid's certificate", async () => {
        const apid = await fake();
        const other = await makeSecretsBundle({ rsaBits: 2048 });
        const talosconfig = talosconfigFor(pki, apid.endpoint, { ca: other.certs.os.crt });
        const run = await runCli(["bootstrap", "--timeout", "30s"], env(talosconfig));
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.ms).toBeLessThan(2000);
        expect(apid.calls.version).toBe(0);
        expect(run.err).toEqual([
            `[bootstrap] error: Version on ${apid.endpoint}: the TLS handshake failed (certificate signature failure). ` +
                "The talosconfig's CA or client certificate is not from the OS CA this node was made with. " +
                "Use the talosconfig of this stack (`pulumi stack output talosconfig --show-secrets`); if the node containers were " +
                "made from other secrets (an older stack, another secretsFile), replace them (`pulumi up --replace <node container URN>`).",
        ]);
        expect([...run.out, ...run.err].join("\n")).not.toContain("PRIVATE KEY");
    });

    it("fails at once when the client certificate lacks os:admin (apid's RBAC answers PermissionDenied)", async () => {
        const apid = await fake();
        const reader = await issueCert(pki.bundle.certs.os, { organizations: ["os:reader"], usage: "client" });
        const run = await runCli(["bootstrap", "--timeout", "30s"], env(talosconfigFor(pki, apid.endpoint, { client: reader })));
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.ms).toBeLessThan(2000);
        expect(Object.entries(apid.calls).filter(([, n]) => n > 0)).toEqual([["version", 1], ["bootstrap", 1]]);
        expect(apid.bootstrapped).toBe(false);
        expect(run.err).toEqual([
            `[bootstrap] error: Bootstrap on ${apid.endpoint} was refused: permission denied (not authorized). ` +
                "The talosconfig's client certificate does not carry the role Bootstrap needs (organization os:admin): " +
                "use the admin talosconfig from `pulumi stack output talosconfig --show-secrets`.",
        ]);
    });

    it("times out while nothing listens, naming the container logs to read", async () => {
        const apid = await fake({ deferListen: true });
        const run = await runCli(
            ["bootstrap", "--timeout", "2s", "--containers", "talos-cp-1=172.30.0.2,talos-worker-1=172.30.0.3"],
            env(talosconfigFor(pki, apid.endpoint)),
        );
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.ms).toBeGreaterThanOrEqual(2000);
        expect(run.ms).toBeLessThan(3000);
        expect(run.err).toEqual([
            `[bootstrap] error: timed out after 2s waiting for apid on ${apid.endpoint} to answer (last: connection refused).\n` +
                "Read the logs:\n  docker logs talos-cp-1\n  talosctl -n 172.30.0.2 dmesg",
        ]);
    });
});

describe("bootstrap input", () => {
    it("needs a talosconfig", async () => {
        const run = await runCli(["bootstrap"], {});
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(["[bootstrap] error: bootstrap: no talosconfig: set TALOS_DOCKER_TALOSCONFIG to its YAML text or pass --talosconfig FILE"]);
    });

    it("reads --talosconfig FILE before the variable", async () => {
        const apid = await fake({ bootstrapped: true });
        const run = await runCli(["bootstrap", "--talosconfig", "/tc.yaml"], env("not: used"), { files: { "/tc.yaml": talosconfigFor(pki, apid.endpoint) } });
        expect(run.code).toBe(ExitCode.OK);
        expect(apid.calls.bootstrap).toBe(1);
    });

    it("never quotes a malformed talosconfig (it holds the admin key)", async () => {
        const run = await runCli(["bootstrap"], env("context: test\ncontexts:\n  test: {key: c2VjcmV0LWtleQ==, [\n"));
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(["[bootstrap] error: talosconfig: not valid YAML (line 4, column 1)"]);
    });

    it("names a missing field", async () => {
        const apid = await fake();
        const broken = talosconfigFor(pki, apid.endpoint).replace(/\n\s+key: .*\n/, "\n");
        const run = await runCli(["bootstrap"], env(broken));
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(["[bootstrap] error: talosconfig: contexts.test.key is missing"]);
    });

    it("rejects an unknown flag and a bad duration", async () => {
        expect((await runCli(["bootstrap", "--nodes", "3"], {})).err).toEqual([
            "[bootstrap] error: bootstrap: unknown flag --nodes (see `bootstrap --help`)",
        ]);
        const run = await runCli(["bootstrap", "--timeout", "ten"], {});
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(['[bootstrap] error: bootstrap: --timeout "ten" is not a duration like 90s, 10m or 1h30m']);
    });
});

describe("bootstrap progress (virtual time)", () => {
    /** apid refuses until `upAtMs`, then answers. */
    function refusingUntil(clock: FakeClock, upAtMs: number): TalosApi & { calls: number } {
        const refused = () => new TalosApiError("retryable", 14, "connection refused", "Version on 127.0.0.1:50000: connection refused");
        return {
            endpoint: "127.0.0.1:50000",
            calls: 0,
            async version() {
                this.calls++;
                if (clock.now() < upAtMs) throw refused();
                return { version: { tag: "v1.8.3" } } as VersionMessage;
            },
            async bootstrap() {},
            async serviceList() {
                return [];
            },
            applyConfiguration: () => Promise.reject(new Error("not used by bootstrap")),
            machineConfig: () => Promise.reject(new Error("not used by bootstrap")),
            etcdMemberList: () => Promise.reject(new Error("not used by bootstrap")),
            etcdLeaveCluster: () => Promise.reject(new Error("not used by bootstrap")),
            etcdRemoveMemberById: () => Promise.reject(new Error("not used by bootstrap")),
            machineStatus: () => Promise.reject(new Error("not used by bootstrap")),
            close() {},
        };
    }

    it("prints a changed state at once and an unchanged one every 5 s, not every attempt", async () => {
        const clock = new FakeClock();
        const api = refusingUntil(clock, 12_000);
        const out: string[] = [];
        const outcome = await runBootstrap(
            api,
            { timeoutMs: 600_000, callTimeoutMs: 10_000, containers: [], backoff: { initialMs: 500, factor: 1, maxMs: 500, jitter: 0 } },
            (l) => out.push(l),
            clock,
        );
        expect(outcome).toBe("bootstrapped");
        expect(api.calls).toBe(25); // 0 s, 0.5 s, …, 12 s
        expect(out).toEqual([
            "[bootstrap] waiting for apid on 127.0.0.1:50000 (0s)",
            "[bootstrap] waiting for apid on 127.0.0.1:50000 (1s, connection refused)",
            "[bootstrap] waiting for apid on 127.0.0.1:50000 (6s, connection refused)",
            "[bootstrap] waiting for apid on 127.0.0.1:50000 (11s, connection refused)",
            "[bootstrap] apid answered on 127.0.0.1:50000: Talos v1.8.3 (12s)",
            "[bootstrap] bootstrapping etcd on 127.0.0.1:50000 (12s)",
            "[bootstrap] done: bootstrapped etcd on 127.0.0.1:50000 (12s)",
        ]);
    });
});
