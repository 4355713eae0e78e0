// `doctor`: the seed's check-deps, and more — what the machine needs for this stack, with how to
// fix each thing it lacks.

import { accessSync, constants, statSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join, resolve } from "node:path";

import { formatProblems } from "../../model/config";
import { parseIPv4, type Cidr } from "../../model/ipv4";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { DEFAULT_DOCKER_HOST } from "../docker/api";
import { CliError, ExitCode } from "../exitcodes";
import { durationFlag, parseFlags } from "../flags";
import { CGROUP_V1 } from "./cgroup";
import type { Check } from "./checks";
import { pulumiSelection, readStackConfig, stackMaking, stackOfFile, type StackConfig } from "./stackfile";

const NAME = "doctor";

/** The deadline of each check unless --timeout says otherwise. */
const CHECK_TIMEOUT = "5s";

export const doctorCommand: Command = {
    name: NAME,
    summary: "can this machine run the stack? Docker, cgroup v2, image, ports, subnet, memory, CPUs, registry caches, tools",
    usage: `Usage: doctor [flags]

Checks what \`pulumi up\` needs, for the stack's own config (Pulumi.<stack>.yaml, read as the
program reads it): the Docker Engine answers (\`pulumi preview\` needs it too, not only \`pulumi up\`);
the kubelet of the stack's Kubernetes version starts on the engine's cgroup version (Talos itself
does not need cgroup v2 in a container; the kubelet refuses cgroup v1 by default from Kubernetes
1.${CGROUP_V1.refusedFrom}); the Talos image is present or its registry has it; the host ports are free (or
held by this cluster; a port another cluster's node holds is named with that cluster); the subnet
overlaps no Docker network; the engine has the memory and CPUs the nodes ask for; with
registryCache.enabled, each registry cache runs and answers on 127.0.0.1 (with how much it holds),
or \`pulumi up\` can make it (its port is free, registry:2 at hand); pulumi, kubectl and talosctl are
on PATH (warnings only). Each problem comes with how to fix it.

Flags:
  --stack NAME          the stack whose config to check (default: the one Pulumi has selected, else
                        the only Pulumi.<stack>.yaml); a stack without a file is refused
  --project-dir DIR     the Pulumi project's directory (default: the current one)
  --timeout DURATION    deadline of each check (default ${CHECK_TIMEOUT})
  --json                print the checks as JSON

Environment:
  DOCKER_HOST           the Docker Engine (default ${DEFAULT_DOCKER_HOST})
  PATH                  where pulumi, kubectl and talosctl are looked for`,
        exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.UNHEALTHY],

    async run(args, ctx) {
        const flags = parseFlags(NAME, args, {
            stack: { type: "string" },
            "project-dir": { type: "string" },
            timeout: { type: "string" },
            json: { type: "boolean" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        const timeoutMs = durationFlag(NAME, "timeout", flags.timeout as string | undefined, CHECK_TIMEOUT);
        const projectDir = resolve((flags["project-dir"] as string | undefined) ?? ".");
        const stackFlag = flags.stack as string | undefined;
        const selection = stackFlag === undefined ? await pulumiSelection(projectDir, ctx.env) : undefined;
        const stack = readStackConfig(projectDir, stackFlag, selection);
        const configCheck = stackConfigCheck(stack);

        // With a broken config, the checks that need none still run: Docker and the tools.
        const [{ dockerFromEnv }, { runChecks }, { portState }] = await Promise.all([import("../docker/client"), import("./checks"), import("./ports")]);
        const docker = (ctx.clients?.docker ?? dockerFromEnv)(ctx.env);
        let checks: Check[];
        try {
            const stackName = stack.file === undefined ? undefined : stackOfFile(stack.file);
            const deps = {
                docker, portState, which: (c: string) => which(c, ctx.env.PATH), hostSubnets,
                stack: stackName, stackOfCluster: (cluster: string) => stackMaking(projectDir, cluster, stackName),
            };
            checks = [configCheck, ...(await runChecks(stack.spec, deps, timeoutMs))];
        } finally {
            docker.close();
        }
        const failed = checks.filter((c) => c.status === "fail").length;
        const warned = checks.filter((c) => c.status === "warn").length;
        if (flags.json) {
            ctx.out(JSON.stringify({ stackFile: stack.file, notes: stack.notes, ok: failed === 0, checks }, null, 2));
        } else {
            ctx.out(`Checking ${stack.file ?? "the default config"} against this machine`);
            for (const note of stack.notes) ctx.out(`  note: ${note}`);
            const width = Math.max(...checks.map((c) => c.name.length));
            const indent = " ".repeat(width + 6);
            for (const c of checks) {
                const [first, ...more] = c.detail.split("\n");
                ctx.out(`  ${MARK[c.status]} ${c.name.padEnd(width)}  ${first}`);
                for (const line of more) ctx.out(`${indent}${line}`);
                if (c.fix) ctx.out(`${indent}fix: ${c.fix}`);
            }
            ctx.out(failed === 0 ? `Ready for pulumi up${warned ? ` (${warned} warning${warned === 1 ? "" : "s"})` : ""}` : `${failed} problem${failed === 1 ? "" : "s"} to fix before pulumi up`);
        }
        if (failed > 0) throw new CliError(ExitCode.UNHEALTHY, `${failed} check${failed === 1 ? "" : "s"} failed`);
    },
};

const MARK: Record<Check["status"], string> = { ok: "✓", warn: "!", fail: "✗", skip: "-" };

/**
 * The stack config as `pulumi up` would judge it: its problems (fail) or warnings (warn), each
 * with its own fix line, printed as the program prints them.
 */
function stackConfigCheck(stack: StackConfig): Check {
    const name = "stack config";
    const count = stack.warnings.length;
    const warnings = count === 0 ? [] : [`${count} warning${count === 1 ? "" : "s"}:`, ...formatProblems(stack.warnings)];
    if (stack.error !== undefined || stack.spec === undefined) {
        const error = stack.error ?? "the stack config could not be read";
        return { name, status: "fail", detail: [error, ...warnings].join("\n") };
    }
    const { spec } = stack;
    const nodes = `${spec.controlPlanes.count} control plane(s) + ${spec.workers.count} worker(s)`;
    const summary = `${stack.file ?? "defaults"}: ${nodes}, Talos ${spec.talosVersion}`;
    if (count > 0) return { name, status: "warn", detail: [summary, ...warnings].join("\n") };
    return { name, status: "ok", detail: summary };
}

/** An executable file named `command` in a directory of PATH. */
function which(command: string, path: string | undefined): string | undefined {
    for (const dir of (path ?? "").split(":")) {
        if (dir === "") continue;
        const candidate = join(dir, command);
        try {
            if (!statSync(candidate).isFile()) continue;
            accessSync(candidate, constants.X_OK);
            return candidate;
        } catch {
            // not here
        }
    }
    return undefined;
}

/** The IPv4 networks of the host's interfaces (loopback aside). */
function hostSubnets(): Cidr[] {
    return Object.values(networkInterfaces()).flatMap((addrs) => addrs ?? []).flatMap((a) => {
        if (a.family !== "IPv4" || a.internal || a.cidr === null) return [];
        const [address, prefix] = a.cidr.split("/");
        const size = 2 ** (32 - Number(prefix));
        const ip = parseIPv4(address);
        if (ip === undefined) return [];
        return [{ network: ip - (ip % size), prefix: Number(prefix), size }];
    });
}
