// The steps of the graph that act on a running cluster (bootstrap, readiness) as resources. Each is
// a @pulumi/command local command that runs our own CLI (cli/main.ts), rather than a dynamic
// provider, because:
// - a command's output streams to `pulumi up` as it runs (logging), so a person sees the progress
//   lines of a wait that can take minutes; a dynamic provider's stay hidden until it returns;
// - the CLI is the same code `npm run bootstrap`/`npm run wait` run by hand, tested against fake
//   servers, and a dynamic provider would have to serialize its closure instead;
// - secrets reach the CLI through the command's environment, which stays a Pulumi secret, never
//   through its command line.
// Each runs in the project directory, the command provider's default (where `pulumi up` runs the
// program), which is where cliCommandLine's command must run.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { cliCommandLine, formatNodeRefs, KUBECONFIG_ENV, TALOSCONFIG_ENV } from "../cli/invocation";
import type { NodePlan } from "../model/plan";

/** A node container and its address, for the advice an error gives (`docker logs`, `talosctl -n`). */
export type NodeRef = Pick<NodePlan, "name" | "ip">;

const containerList = (nodes: NodeRef[]) => formatNodeRefs(nodes.map((n) => ({ container: n.name, ip: n.ip })));

export interface BootstrapArgs {
    /** talosconfig YAML (secret): its endpoint is the first control plane's published Talos API. */
    talosconfig: pulumi.Input<string>;
    /** The node bootstrapped: the first control plane. */
    node: NodeRef;
    /** Duration such as "10m". */
    timeout: string;
    /** Changes when the first control plane's container is replaced: bootstrap again (idempotent). */
    trigger: pulumi.Input<string>;
}

export function bootstrapCommand(
    name: string,
    args: BootstrapArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    return new command.local.Command(name, {
        create: cliCommandLine([
            "bootstrap", "--timeout", args.timeout, "--containers", containerList([args.node]),
        ]),
        environment: { [TALOSCONFIG_ENV]: pulumi.secret(args.talosconfig) },
        logging: "stdoutAndStderr",
        triggers: [args.trigger],
    }, opts);
}

export interface ReadyArgs {
    /** Admin kubeconfig YAML (secret), pointing at the published Kubernetes API. */
    kubeconfig: pulumi.Input<string>;
    /** Duration such as "15m". */
    timeout: string;
    /** Every node: how many must be Ready, and whose logs an error points to. */
    nodes: NodeRef[];
    /** Changes whenever a node container is replaced, so the wait runs again. */
    triggers: pulumi.Input<string>[];
}

export function readyCommand(
    name: string,
    args: ReadyArgs,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    return new command.local.Command(name, {
        create: cliCommandLine([
            "wait", "--nodes", String(args.nodes.length), "--timeout", args.timeout,
            "--containers", containerList(args.nodes),
        ]),
        environment: { [KUBECONFIG_ENV]: pulumi.secret(args.kubeconfig) },
        logging: "stdoutAndStderr",
        triggers: args.triggers,
    }, opts);
}
