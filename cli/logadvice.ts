// What to read when something does not come up: the node containers' console (Talos logs its
// boot to the container's stdout) and, through apid, the kernel log and service logs. Node
// containers are named after their nodes (talos@v1.8.3:pkg/provision/providers/docker/node.go),
// so a Kubernetes node name is also a container name.

import { OWNED_FILTER } from "../model/dockerlabels";
import type { NodeRef } from "./invocation";

/**
 * "Read the logs:" and one command a line for each node: `docker logs`, `talosctl dmesg` and
 * `talosctl logs <service>` for each service. `what` names the nodes when none are known.
 */
export function logAdvice(nodes: readonly NodeRef[], services: readonly string[], what: string): string {
    if (nodes.length === 0) {
        return (
            `Read the logs of ${what}: docker logs <container> ` +
            `(docker ps --filter label=${OWNED_FILTER} lists the node containers), ` +
            "and talosctl -n <node ip> dmesg."
        );
    }
    const lines = ["Read the logs:"];
    for (const node of nodes) {
        const ip = node.ip ?? `<ip of ${node.container}>`;
        lines.push(`  docker logs ${node.container}`);
        lines.push(`  talosctl -n ${ip} dmesg`);
        for (const service of services) lines.push(`  talosctl -n ${ip} logs ${service}`);
    }
    return lines.join("\n");
}
