// The node subnet against the networks the cluster routes itself: the pod and service networks of
// the machine configs after patches (Talos' defaults 10.244.0.0/16 and 10.96.0.0/12 unless a
// patch sets others). A node address inside one of them is routed to pods or Services instead of
// the node: with 10.96.0.0/24, the gateway is the `kubernetes` Service's address. Pure; part of
// the stack-config parser (./config.ts).

import { clusterNetworks, MACHINE_ROLES } from "../talos/machineconfig";
import { POD_SUBNETS, SERVICE_SUBNETS } from "../talos/config/defaults";
import type { Problems } from "./configproblems";
import { parsedPatches, type PatchLists } from "./configpatches";
import { cidrsOverlap, freeBlock, parseCidr, type Cidr } from "./ipv4";
import { machineConfigInput, rolePatches, type MachineConfigSpec } from "./machineinput";

interface ClusterNetwork {
    kind: "pod" | "service";
    cidr: string;
    /** where it comes from, for the message */
    origin: string;
}

/** The IPv4 pod and service networks of both roles' configs; none when a config cannot be made (reported already). */
function routedNetworks(target: MachineConfigSpec, lists: PatchLists): ClusterNetwork[] | undefined {
    const found = new Map<string, ClusterNetwork>();
    for (const role of MACHINE_ROLES) {
        const sequence = rolePatches(lists, role);
        if (sequence.some((l) => l.patch === undefined)) return undefined;
        let networks: { pods: string[]; services: string[] };
        try {
            networks = clusterNetworks(machineConfigInput(target, role, parsedPatches(sequence)));
        } catch {
            return undefined; // the patch problem is reported by checkPatchesApply
        }
        const add = (kind: ClusterNetwork["kind"], list: string[], defaults: readonly string[]) => {
            const origin = list.join() === defaults.join() ? "Talos' default" : "set by configPatches";
            for (const cidr of list) found.set(`${kind} ${cidr}`, { kind, cidr, origin });
        };
        add("pod", networks.pods, POD_SUBNETS);
        add("service", networks.services, SERVICE_SUBNETS);
    }
    return [...found.values()];
}

/**
 * Refuses a node subnet that overlaps a pod or service network, naming the network and proposing
 * a free block of the same size. Skipped when the subnet, talosVersion or a patch is wrong: those
 * are reported on their own.
 */
export function checkClusterNetworks(
    p: Problems,
    target: MachineConfigSpec | undefined,
    lists: PatchLists,
    subnet: string,
): void {
    const nodes = parseCidr(subnet);
    if (target === undefined || "error" in nodes) return;
    const networks = routedNetworks(target, lists);
    if (networks === undefined) return;
    const parsed = networks.flatMap((n) => {
        const cidr = parseCidr(n.cidr);
        return "error" in cidr ? [] : [{ ...n, block: cidr }]; // IPv6 networks cannot overlap an IPv4 subnet
    });
    const overlapping = parsed.filter((n) => cidrsOverlap(nodes, n.block));
    if (overlapping.length === 0) return;
    const taken: Cidr[] = parsed.map((n) => n.block);
    const free = freeBlock(nodes.prefix, taken);
    const names = overlapping.map((n) => `the ${n.kind} network ${n.cidr} (${n.origin})`).join(" and ");
    p.add("network.subnet", subnet,
        `overlaps ${names}: the nodes' addresses would be routed to pods or Services instead of the nodes; ` +
            "use a subnet outside the cluster's pod and service networks",
        free === undefined ? `choose a /${nodes.prefix} outside them` : p.set("network.subnet", free));
}
