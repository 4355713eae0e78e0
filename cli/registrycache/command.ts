// `registry-cache`: the pull-through caches shared by every cluster on this machine
// (model/registries.ts), made, attached, detached and removed by hand or by a stack's `pulumi up`
// and `pulumi destroy` (components/registrycache.ts). `status` and `doctor` report on them.

import { parseCidr } from "../../model/ipv4";
import {
    cachePlans, REGISTRY_CACHE_BIND_ADDRESS, REGISTRY_CACHE_IMAGE, REGISTRY_CACHE_NETWORK, REGISTRY_CACHE_TTL_DAYS,
} from "../../model/registries";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { DEFAULT_DOCKER_HOST, DockerError } from "../docker/api";
import { CliError, ExitCode } from "../exitcodes";
import { durationFlag, parseFlagsAndArgs } from "../flags";
import { REGISTRY_CACHE_COMMAND } from "./args";

const NAME = REGISTRY_CACHE_COMMAND;

/** The whole command's deadline unless --timeout says otherwise: long enough to pull registry:2. */
const TIMEOUT = "5m";

const ACTIONS = ["up", "attach", "detach", "rm"] as const;
type Action = (typeof ACTIONS)[number];

const caches = cachePlans().map((c) => `${c.registry} (${REGISTRY_CACHE_BIND_ADDRESS}:${c.hostPort})`).join(", ");

export const registryCacheCommand: Command = {
    name: NAME,
    summary: "the pull-through registry caches every cluster on this machine shares: up, attach, detach, rm",
    usage: `Usage: ${NAME} <up|attach|detach|rm> [flags]

The pull-through caches (${REGISTRY_CACHE_IMAGE}, one per registry: ${caches}), each a container with
a named volume, on the Docker network ${REGISTRY_CACHE_NETWORK}. No stack owns them: each step
adopts the caches it finds by name and label, so any number of stacks share them, and
\`pulumi destroy\` keeps them and their data. registry:2 keeps what it cached for ${REGISTRY_CACHE_TTL_DAYS} days.

  up        make the caches that are missing, start those that are stopped
  attach    up, then attach them to a cluster network (--network, --subnet) below the control planes' block at the top
            of its subnet, where the nodes' mirrors point: \`pulumi up\` runs this
  detach    detach them from a cluster network (--network): \`pulumi destroy\` runs this
  rm        remove the containers and their network; --volumes removes what they cached too

Flags:
  --network NAME        the cluster's Docker network (attach, detach)
  --subnet CIDR         its subnet (attach)
  --image IMAGE         the image of a cache that has to be made (default ${REGISTRY_CACHE_IMAGE})
  --volumes             rm: remove the volumes too
  --timeout DURATION    deadline of the whole command (default ${TIMEOUT})

Environment:
  DOCKER_HOST           the Docker Engine (default ${DEFAULT_DOCKER_HOST})`,
    exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.TIMEOUT],

    async run(args, ctx) {
        const { flags, positionals } = parseFlagsAndArgs(NAME, args, {
            network: { type: "string" },
            subnet: { type: "string" },
            image: { type: "string" },
            volumes: { type: "boolean" },
            timeout: { type: "string" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        const timeoutMs = durationFlag(NAME, "timeout", flags.timeout, TIMEOUT);
        const req = requestOf(actionOf(positionals), {
            network: flags.network, subnet: flags.subnet, volumes: flags.volumes === true,
        });

        const [{ dockerWriterFromEnv }, flow] = await Promise.all([import("../docker/writer"), import("./caches")]);
        const docker = (ctx.clients?.dockerWriter ?? dockerWriterFromEnv)(ctx.env);
        const deadline = ctx.clock.now() + timeoutMs;
        const run = {
            docker,
            image: flags.image ?? REGISTRY_CACHE_IMAGE,
            left: () => Math.max(1, Math.round(deadline - ctx.clock.now())),
            say: (line: string) => ctx.out(`${NAME}: ${line}`),
        };
        try {
            switch (req.action) {
                case "up":
                    await flow.ensureCaches(run);
                    ctx.out(`${NAME}: ${cachePlans().length} caches running`);
                    break;
                case "attach":
                    await flow.attachCaches(run, req.network, req.subnet);
                    ctx.out(`${NAME}: ${cachePlans().length} caches running, attached to ${req.network}`);
                    break;
                case "detach":
                    await flow.detachCaches(run, req.network);
                    break;
                case "rm":
                    await flow.removeCaches(run, req.volumes);
                    break;
                default: {
                    const never: never = req;
                    throw new Error(`unknown action ${String(never)}`);
                }
            }
        } catch (err) {
            if (err instanceof DockerError) {
                const what = `${NAME} ${req.action}`;
                if (err.kind === "timeout") {
                    throw new CliError(ExitCode.TIMEOUT, `${what}: not done within ${flags.timeout ?? TIMEOUT}: ${err.message}`);
                }
                throw new CliError(err.kind === "config" ? ExitCode.USAGE : ExitCode.FAILED, `${what}: ${err.message}`);
            }
            throw err;
        } finally {
            docker.close();
        }
    },
};

function actionOf(positionals: string[]): Action {
    const [action, ...extra] = positionals;
    const known = ACTIONS.find((a) => a === action);
    if (known === undefined || extra.length > 0) {
        const got = positionals.length === 0 ? "no action" : `"${positionals.join(" ")}"`;
        throw new CliError(ExitCode.USAGE, `${NAME}: ${got}; give one of ${ACTIONS.join(", ")} (see \`${NAME} --help\`)`);
    }
    return known;
}

/** What was asked, with the flags each action takes: --network for attach and detach, --subnet for attach, --volumes for rm. */
type Request =
    | { action: "up" }
    | { action: "attach"; network: string; subnet: string }
    | { action: "detach"; network: string }
    | { action: "rm"; volumes: boolean };

function requestOf(action: Action, flags: { network?: string; subnet?: string; volumes: boolean }): Request {
    const needsNetwork = action === "attach" || action === "detach";
    const network = flags.network ?? "";
    const usage = (why: string) => new CliError(ExitCode.USAGE, `${NAME} ${action}: ${why}`);
    if (needsNetwork && network === "") throw usage("--network NAME is required");
    if (!needsNetwork && flags.network !== undefined) throw usage("--network is for attach and detach");
    if (action !== "attach" && flags.subnet !== undefined) throw usage("--subnet is for attach");
    if (action !== "rm" && flags.volumes) throw usage("--volumes is for rm");
    switch (action) {
        case "up":
            return { action };
        case "attach": {
            const subnet = flags.subnet ?? "";
            const cidr = parseCidr(subnet);
            if ("error" in cidr) throw new CliError(ExitCode.USAGE, `${NAME} attach: --subnet "${subnet}" ${cidr.error}`);
            return { action, network, subnet };
        }
        case "detach":
            return { action, network };
        case "rm":
            return { action, volumes: flags.volumes };
        default: {
            const never: never = action;
            throw new Error(`unknown action ${String(never)}`);
        }
    }
}
