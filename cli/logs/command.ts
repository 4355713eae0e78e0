// `logs <node>`: a node's console log, which is what Talos prints to the container's stdout and
// stderr while it boots and runs (the seed's `make logs-cp`).

import { StringDecoder } from "node:string_decoder";

import { parseDuration } from "../../model/duration";
import { clusterFilter, OWNED_FILTER } from "../../model/dockerlabels";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { DEFAULT_DOCKER_HOST, DockerError } from "../docker/api";
import { CliError, ExitCode } from "../exitcodes";
import { countFlag, parseFlagsAndArgs } from "../flags";
import { resolveNode } from "./resolve";

const NAME = "logs";

export const logsCommand: Command = {
    name: NAME,
    summary: "a node's console log (docker logs of its container); --follow, --since, --tail",
    usage: `Usage: logs <node> [flags]

Prints the console log of a node container: Talos' boot and service messages. <node> is the
container's name (talos-cp-01) or, within the cluster, cp-01, cp-1, cp (the first control plane),
worker-2.

Flags:
  -f, --follow          keep printing new lines until the container stops (or Ctrl-C)
  --since WHEN          only lines since a duration ago (10m, 1h30m) or a time (2026-11-25T07:00:00Z)
  --tail N              only the last N lines (0: none, with --follow only new ones)
  --timestamps          prefix each line with its time
  --cluster NAME        look among this cluster's containers only

Environment:
  DOCKER_HOST           the Docker Engine (default ${DEFAULT_DOCKER_HOST})`,
        exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE],

    async run(args, ctx) {
        const { flags, positionals } = parseFlagsAndArgs(NAME, args, {
            follow: { type: "boolean", short: "f" },
            since: { type: "string" },
            tail: { type: "string" },
            timestamps: { type: "boolean" },
            cluster: { type: "string" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        if (positionals.length !== 1) throw new CliError(ExitCode.USAGE, `${NAME}: give one node, e.g. \`logs cp-01\` (see \`${NAME} --help\`)`);
        const tail = tailFlag(flags.tail as string | undefined);
        const since = sinceFlag(flags.since as string | undefined, Date.now());
        const cluster = flags.cluster as string | undefined;

        const { dockerFromEnv } = await import("../docker/client");
        const docker = (ctx.clients?.docker ?? dockerFromEnv)(ctx.env);
        const follow = flags.follow === true;
        // Following ends on Ctrl-C as on the container's stop: the lines so far are printed, exit 0.
        const abort = new AbortController();
        const onSigint = () => abort.abort();
        if (follow) process.once("SIGINT", onSigint);
        const out = lineWriter(ctx.out);
        const err = lineWriter(ctx.err);
        try {
            const containers = await docker.listContainers([cluster ? clusterFilter(cluster) : OWNED_FILTER], 10_000);
            const resolved = resolveNode(positionals[0], containers);
            if ("error" in resolved) throw new CliError(ExitCode.USAGE, resolved.error);
            await docker.logs(
                resolved.container,
                { follow, since, tail, timestamps: flags.timestamps === true },
                (stream, chunk) => (stream === "stdout" ? out : err).write(chunk),
                abort.signal,
            );
        } catch (e) {
            // A container gone between the list and the read is as unknown as a mistyped one; an
            // unusable DOCKER_HOST is bad input too.
            if (e instanceof DockerError) throw new CliError(e.kind === "notfound" || e.kind === "config" ? ExitCode.USAGE : ExitCode.FAILED, e.message);
            throw e;
        } finally {
            process.removeListener("SIGINT", onSigint);
            out.flush();
            err.flush();
            docker.close();
        }
    },
};

/** Unix seconds from "10m" (ago), an RFC 3339 time, or unix seconds; usage error otherwise. */
export function sinceFlag(value: string | undefined, nowMs: number): number | undefined {
    if (value === undefined) return undefined;
    const ago = parseDuration(value);
    if (ago !== undefined) return Math.floor((nowMs - ago) / 1000);
    if (/^\d+$/.test(value)) return Number(value);
    const at = Date.parse(value);
    if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(at)) return Math.floor(at / 1000);
    throw new CliError(ExitCode.USAGE, `${NAME}: --since "${value}" is neither a duration like 10m nor a time like 2026-11-25T07:00:00Z`);
}

/** --tail N: a whole number; 0 prints none of the past lines (with --follow: only new ones). */
export function tailFlag(value: string | undefined): number | undefined {
    if (value === "0") return 0;
    return countFlag(NAME, "tail", value);
}

/** Chunks in, whole lines out (a line or a UTF-8 character split across chunks is joined). */
export function lineWriter(emit: (line: string) => void): { write(chunk: Buffer): void; flush(): void } {
    const decoder = new StringDecoder("utf8");
    let partial = "";
    return {
        write(chunk) {
            const lines = (partial + decoder.write(chunk)).split("\n");
            partial = lines.pop() ?? "";
            for (const line of lines) emit(line.replace(/\r$/, ""));
        },
        flush() {
            partial += decoder.end();
            if (partial !== "") emit(partial);
            partial = "";
        },
    };
}
