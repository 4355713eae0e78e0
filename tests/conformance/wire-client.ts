// The wire check's client for every ApplyConfiguration mode and answer, beyond what the CLI's
// `apply` sends (wire_cliapply_test.go runs that), and for the etcd calls `remove-node` makes
// (member list, leave, remove by ID): drives talos/api.ts's TalosClient directly, as a command
// would, against the Go test's server. Run by wire_apply_test.go and wire_etcd_test.go:
//
//   TALOS_DOCKER_TALOSCONFIG=<talosconfig> node --import tsx tests/conformance/wire-client.ts < jobs.json
//
// jobs.json is a list of calls, made one after the other on one client; one JSON line per call
// goes to stdout: {"ok": true, "result": …} or {"ok": false, "error": {kind, code, reason, message}}.
// No config text is printed, only its SHA-256 and length: configs hold secrets.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

import { parseTalosconfig, TalosApiError, TalosClient, type ApplyMode, type ApplyResult, type EtcdMember } from "../../talos/api";

type Job =
    | { call: "apply"; node: string; dataFile: string; mode: ApplyMode; dryRun: boolean; tryModeTimeoutMs?: number }
    | { call: "machineConfig"; node?: string }
    | { call: "etcdMemberList"; node?: string; queryLocal?: boolean }
    | { call: "etcdLeaveCluster"; node: string }
    | { call: "etcdRemoveMemberById"; memberId: string; through: string };

/** What is printed of a config text. */
interface TextDigest {
    sha256: string;
    bytes: number;
}

/** An apply's result with its diff as a digest. */
type ApplyOutcome = Omit<ApplyResult, "diff"> & { diff: TextDigest | null };

const digest = (text: string): TextDigest => ({ sha256: createHash("sha256").update(text).digest("hex"), bytes: Buffer.byteLength(text) });

async function run(client: TalosClient, job: Job, timeoutMs: number): Promise<ApplyOutcome | TextDigest | EtcdMember[] | string> {
    switch (job.call) {
        case "apply": {
            const data = readFileSync(job.dataFile, "utf8");
            const { diff, ...result } = await client.applyConfiguration(timeoutMs, job.node, {
                data,
                mode: job.mode,
                dryRun: job.dryRun,
                ...(job.tryModeTimeoutMs === undefined ? {} : { tryModeTimeoutMs: job.tryModeTimeoutMs }),
            });
            return { ...result, diff: diff === undefined ? null : digest(diff) };
        }
        case "machineConfig":
            return digest(await client.machineConfig(timeoutMs, job.node));
        case "etcdMemberList":
            return client.etcdMemberList(timeoutMs, { node: job.node, queryLocal: job.queryLocal });
        case "etcdLeaveCluster":
            await client.etcdLeaveCluster(timeoutMs, job.node);
            return "left";
        case "etcdRemoveMemberById":
            return client.etcdRemoveMemberById(timeoutMs, job.memberId, job.through);
        default: {
            const unreachable: never = job;
            throw new Error(`unknown job ${JSON.stringify(unreachable)}`);
        }
    }
}

async function main(): Promise<void> {
    const talosconfig = process.env.TALOS_DOCKER_TALOSCONFIG;
    if (talosconfig === undefined) throw new Error("TALOS_DOCKER_TALOSCONFIG is not set");
    const timeoutMs = Number(process.env.WIRE_CALL_TIMEOUT_MS ?? "5000");
    const jobs = JSON.parse(readFileSync(0, "utf8")) as Job[];
    const client = TalosClient.fromContext(parseTalosconfig(talosconfig));
    try {
        for (const job of jobs) {
            try {
                process.stdout.write(`${JSON.stringify({ ok: true, result: await run(client, job, timeoutMs) })}\n`);
            } catch (err) {
                if (!(err instanceof TalosApiError)) throw err;
                const { kind, code, reason, message } = err;
                process.stdout.write(`${JSON.stringify({ ok: false, error: { kind, code, reason, message } })}\n`);
            }
        }
    } finally {
        client.close();
    }
}

main().catch((err: unknown) => {
    process.stderr.write(`wire-client: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
});
