// Is a host port free for Docker to publish on? Binding it ourselves is the direct test. Ports
// below 1024 need root to bind, which dockerd has and we may not: for those a refused connection
// is taken as free (nothing listens), an accepted one as taken.

import { createServer } from "node:net";

import { ourKey } from "../../model/configproblems";
import { LABELS } from "../../model/dockerlabels";
import { dialAddress } from "../../model/hostaddress";
import type { ContainerSummary } from "../docker/api";
import { checkTcp } from "../status/tcp";

/** The label kind puts on its node containers (kind@v0.32.0:pkg/cluster/internal/providers/docker/constants.go). */
const KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster";

/** What the advice for a port may name: this stack, and the stack of this project behind another cluster. */
export interface PortAdviceContext {
    /** the stack being checked, for the commands' --stack; undefined when doctor checks the defaults */
    stack?: string;
    /** the stack of this project whose config makes the Talos cluster of that name, if one does */
    stackOfCluster?(cluster: string): string | undefined;
}

/** The command that gives this cluster another host port for `key`. */
export function movePort(key: string, advice: PortAdviceContext): string {
    const stack = advice.stack !== undefined ? ` --stack ${advice.stack}` : "";
    return `pulumi config set --path ${ourKey(`ports.${key}`)} <free port>${stack}`;
}

/**
 * Another container publishes the port: what it is and the commands that fit. Never `docker rm`:
 * a node container belongs to a cluster, and removing one breaks that cluster rather than
 * removing it.
 */
export function portHolder(holder: ContainerSummary, key: string, advice: PortAdviceContext): { who: string; fix: string } {
    const otherPort = `give this cluster another port: ${movePort(key, advice)}`;
    const talos = holder.labels[LABELS.cluster];
    if (talos !== undefined) {
        const stack = advice.stackOfCluster?.(talos);
        const destroy = stack !== undefined
            ? `pulumi destroy --stack ${stack} (its stack in this project)`
            : `\`pulumi destroy\` in the stack that made it, or talosctl cluster destroy --name ${talos} if talosctl did`;
        return {
            who: `${holder.name}, a node of the Talos cluster ${talos}`,
            fix: `if cluster ${talos} is no longer needed, destroy it: ${destroy}; else ${otherPort}`,
        };
    }
    const kind = holder.labels[KIND_CLUSTER_LABEL];
    if (kind !== undefined) {
        return {
            who: `${holder.name}, a node of the kind cluster ${kind}`,
            fix: `if kind cluster ${kind} is no longer needed, delete it (kind delete cluster --name ${kind}); else ${otherPort}`,
        };
    }
    return {
        who: `container ${holder.name} (not a cluster node)`,
        fix: `stop it if it is yours to stop (docker stop ${holder.name}); else ${otherPort}`,
    };
}

export type PortState = "free" | "taken" | "no-address" | string;

export function portState(host: string, port: number, timeoutMs: number): Promise<PortState> {
    return new Promise((resolve) => {
        const server = createServer();
        server.once("error", (err: NodeJS.ErrnoException) => {
            if (err.code === "EADDRINUSE") resolve("taken");
            else if (err.code === "EADDRNOTAVAIL") resolve("no-address");
            else if (err.code === "EACCES") resolve(connectState(host, port, timeoutMs));
            else resolve(err.code ?? err.message);
        });
        server.listen({ host, port, exclusive: true }, () => server.close(() => resolve("free")));
    });
}

/** The status command's TCP probe: accepted → taken, refused → free, anything else as it came. */
async function connectState(host: string, port: number, timeoutMs: number): Promise<PortState> {
    const result = await checkTcp(dialAddress(host), port, timeoutMs);
    if (result.reachable) return "taken";
    return result.detail === "connection refused" ? "free" : result.detail;
}
