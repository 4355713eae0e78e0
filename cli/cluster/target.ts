// Which cluster an operations command looks at, and with what credentials. Client configs come
// from files the user names (--talosconfig/--kubeconfig), else from the stack's outputs; the
// node containers always come from Docker, by the labels Talos' own provisioner sets
// (model/dockerlabels.ts), so a cluster is found even without Pulumi.

import { parse } from "yaml";

import { clusterFilter, LABELS, OWNED_FILTER } from "../../model/dockerlabels";
import type { CliContext } from "../context";
import type { ContainerSummary, DockerApi } from "../docker/api";
import { CliError, ExitCode } from "../exitcodes";
import { stackOutputs } from "../pulumi";

export interface NodeTarget {
    name: string;
    role?: string;
    ip?: string;
}

export interface ClusterTarget {
    /** the cluster name (talos.cluster.name); undefined when nothing told it */
    name?: string;
    /** where the client configs came from, for the report: "stack dev", "files", "none" */
    source: string;
    talosconfig?: string;
    kubeconfig?: string;
    /** the nodes the stack declares; empty without a stack (Docker then tells) */
    nodes: NodeTarget[];
    /** why a client config is missing, one line each */
    notes: string[];
}

export interface TargetFlags {
    stack?: string;
    cluster?: string;
    talosconfigFile?: string;
    kubeconfigFile?: string;
}

/** The client configs and declared nodes; the name from --cluster or the configs. */
export async function findClientConfigs(flags: TargetFlags, ctx: CliContext): Promise<ClusterTarget> {
    const target: ClusterTarget = { source: "none", nodes: [], notes: [] };
    if (flags.talosconfigFile !== undefined || flags.kubeconfigFile !== undefined) {
        target.source = "files";
        target.talosconfig = readFile(ctx, "talosconfig", flags.talosconfigFile);
        target.kubeconfig = readFile(ctx, "kubeconfig", flags.kubeconfigFile);
        if (target.talosconfig === undefined) target.notes.push("no --talosconfig given: the Talos API is not checked");
        if (target.kubeconfig === undefined) target.notes.push("no --kubeconfig given: Kubernetes is not checked");
    } else {
        const result = await stackOutputs(flags.stack, ctx.env);
        if ("why" in result) {
            target.notes.push(`no stack outputs (${result.why}): the Talos API and Kubernetes are not checked; pass --talosconfig and --kubeconfig to check them`);
        } else {
            const o = result.outputs;
            target.source = `stack${flags.stack ? ` ${flags.stack}` : ""}`;
            target.talosconfig = typeof o.talosconfig === "string" ? o.talosconfig : undefined;
            target.kubeconfig = typeof o.kubeconfig === "string" ? o.kubeconfig : undefined;
            target.nodes = Array.isArray(o.nodes) ? (o.nodes as NodeTarget[]).filter((n) => typeof n?.name === "string") : [];
        }
    }
    target.name = flags.cluster ?? talosconfigCluster(target.talosconfig) ?? kubeconfigCluster(target.kubeconfig);
    return target;
}

/**
 * The cluster's containers. Without a name, the one Talos cluster Docker has; several is a usage
 * error naming them, none leaves the name unknown.
 */
export async function findContainers(target: ClusterTarget, docker: DockerApi, timeoutMs: number): Promise<ContainerSummary[]> {
    if (target.name !== undefined) return docker.listContainers([clusterFilter(target.name)], timeoutMs);
    const all = await docker.listContainers([OWNED_FILTER], timeoutMs);
    const names = [...new Set(all.map((c) => c.labels[LABELS.cluster]).filter((n): n is string => n !== undefined))].sort();
    if (names.length > 1) {
        throw new CliError(ExitCode.USAGE, `Docker has several Talos clusters (${names.join(", ")}): name one with --cluster NAME`);
    }
    target.name = names[0];
    return all;
}

function readFile(ctx: CliContext, what: string, file: string | undefined): string | undefined {
    if (file === undefined) return undefined;
    try {
        return ctx.readFile(file);
    } catch (err) {
        throw new CliError(ExitCode.USAGE, `cannot read the ${what} file ${file} (${(err as NodeJS.ErrnoException).code ?? "unreadable"})`);
    }
}

/** Our talosconfig's context is the cluster name (components/cluster.ts). */
function talosconfigCluster(text: string | undefined): string | undefined {
    const doc = safeParse(text);
    return typeof doc?.context === "string" && doc.context !== "" ? doc.context : undefined;
}

/** Our kubeconfig's current context is admin@<cluster> (talos/clientconfig.ts). */
export function kubeconfigCluster(text: string | undefined): string | undefined {
    const current = safeParse(text)?.["current-context"];
    return typeof current === "string" && current.includes("@") ? current.slice(current.indexOf("@") + 1) : undefined;
}

function safeParse(text: string | undefined): Record<string, unknown> | undefined {
    if (text === undefined) return undefined;
    try {
        const doc: unknown = parse(text);
        return typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>) : undefined;
    } catch {
        return undefined;
    }
}
