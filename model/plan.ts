// ClusterSpec → every node's name, role, address, ports, volumes and labels, decided up front
// (kind's "plan, then create"). Pure; the components only consume the plan.
import { APID_PORT } from "../talos/api/talosconfig";
import type { MachineRole } from "../talos/machineconfig";
import { nodeVolumePaths } from "../talos/versions";
import type { ClusterSpec } from "./config";
import { nodeLabels } from "./dockerlabels";
import { dialAddress } from "./hostaddress";
import { hostAddress, parseCidr, type Cidr } from "./ipv4";
import { controlPlanesSchedulable } from "./scheduling";


/**
 * In-container ports of the Kubernetes API (talos@v1.8.3:pkg/machinery/constants `DefaultControlPlanePort`),
 * the Talos API (apid's) and ingress. The CLI's status names the published ports by them.
 */
export const CONTAINER_PORTS = { kubernetesApi: 6443, talosApi: APID_PORT, http: 80, https: 443 } as const;

export interface PortPlan {
    /** Host address the port is published on. */
    bindAddress: string;
    host: number;
    container: number;
}

export interface VolumePlan {
    name: string;
    containerPath: string;
}

export interface NodePlan {
    /** Container name and hostname: `<cluster>-cp-01`, `<cluster>-worker-01`. */
    name: string;
    role: MachineRole;
    /** 1-based position within its role. */
    index: number;
    ip: string;
    cpus: number;
    memoryMiB: number;
    ports: PortPlan[];
    volumes: VolumePlan[];
    labels: Record<string, string>;
}

export interface ClusterPlan {
    nodes: NodePlan[];
    /** The first control plane: bootstrapped, and the one that publishes the APIs. */
    bootstrapNode: NodePlan;
    /**
     * The node that publishes http/https: the first worker, or the first control plane when the
     * control planes run workloads (no workers, or a cluster that started without).
     */
    ingressNode: NodePlan;
    /** The in-network API endpoint written into machine configs. */
    controlPlaneEndpoint: string;
    /** What the host uses: kubeconfig server and talosconfig endpoint. */
    hostEndpoints: { kubernetes: string; talos: string };
}

/** What a node's name says of its role. */
export const ROLE_NAME_PARTS: Readonly<Record<MachineRole, string>> = { controlplane: "cp", worker: "worker" };

/** A node's name within its cluster: its role, then its index in two digits or more (`cp-01`, `worker-12`). */
export function nodeSuffix(role: MachineRole, index: number): string {
    return `${ROLE_NAME_PARTS[role]}-${String(index).padStart(2, "0")}`;
}

/** `<cluster>-cp-01`, `<cluster>-worker-01`: the container name and hostname. */
export function nodeName(clusterName: string, role: MachineRole, index: number): string {
    return nodeNameIn(clusterName, nodeSuffix(role, index));
}

/** A DNS label (RFC 1123): what a cluster name must be, since its node names (hostnames) start with it. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * The role and index of `name` when it is one of `clusterName`'s node names (nodeName's inverse),
 * else undefined.
 */
export function parseNodeName(clusterName: string, name: string): { role: MachineRole; index: number } | undefined {
    const prefix = `${clusterName}-`;
    if (!name.startsWith(prefix)) return undefined;
    const suffix = name.slice(prefix.length);
    for (const role of Object.keys(ROLE_NAME_PARTS) as MachineRole[]) {
        const match = new RegExp(`^${ROLE_NAME_PARTS[role]}-(\\d{2,})$`).exec(suffix);
        if (match === null) continue;
        const index = Number(match[1]);
        if (index >= 1 && nodeSuffix(role, index) === suffix) return { role, index };
    }
    return undefined;
}

/** The full name of the node a cluster calls `suffix`. */
export function nodeNameIn(clusterName: string, suffix: string): string {
    return `${clusterName}-${suffix}`;
}

/** `/usr/libexec/kubernetes` → `<node>-usr-libexec-kubernetes`. */
export function volumeName(node: string, containerPath: string): string {
    return `${node}-${containerPath.slice(1).replace(/\//g, "-")}`;
}

/** Offset of the first control plane's address: .0 is the network, .1 the gateway by default. */
export const FIRST_NODE_OFFSET = 2;

/** The subnet of a validated spec; the stack-config parser has already rejected one that does not parse. */
export function nodeSubnet(subnet: string): Cidr {
    const cidr = parseCidr(subnet);
    if ("error" in cidr) throw new Error(`network.subnet ${cidr.error}`);
    return cidr;
}

/**
 * Where a node's address sits in a subnet of `size` addresses, as an offset from the network
 * address: the one rule of the address plan, which the plan and the subnet check both use. It
 * depends on the node's role and index alone, never on a count, so raising or lowering a count
 * moves no node (a moved node would be a replaced container):
 * - the first control plane at .2, the in-network API endpoint, where Talos' Docker provisioner
 *   puts it too;
 * - the workers from .3 up (worker-01 .3, worker-02 .4);
 * - the other control planes from the top down, cp-02 just below the broadcast address (.254 of a
 *   /24), cp-03 below it, and so on.
 * The workers' block and the control planes' block grow towards each other: a shape fits its
 * subnet when they do not meet (subnetLayoutFits).
 */
export function nodeOffset(size: number, role: MachineRole, index: number): number {
    switch (role) {
        case "controlplane":
            return index === 1 ? FIRST_NODE_OFFSET : size - index;
        case "worker":
            return FIRST_NODE_OFFSET + index;
        default: {
            const never: never = role;
            throw new Error(`unknown role ${String(never)}`);
        }
    }
}

/** The most control planes a cluster has (the stack config's limit on controlPlanes.count). */
export const MAX_CONTROL_PLANES = 7;

/**
 * The lowest offset the further control planes may ever take in a subnet of `size` addresses
 * (the last one's, cp-07 at .249 of a /24): whatever sits at the top of the subnet beside the
 * nodes (the registry caches) goes below it, so no count moves it either.
 */
export function controlPlaneBlockStart(size: number): number {
    return nodeOffset(size, "controlplane", MAX_CONTROL_PLANES);
}

/** A node's address in the subnet (nodeOffset). */
export function nodeAddress(cidr: Cidr, role: MachineRole, index: number): string {
    return hostAddress(cidr, nodeOffset(cidr.size, role, index));
}

/** How many nodes of each role a cluster has. */
export interface NodeCounts {
    controlPlanes: number;
    workers: number;
}

/** A node of a shape: its role, its 1-based index within the role, and its offset in the subnet. */
export interface NodeSlot {
    role: MachineRole;
    index: number;
    offset: number;
}

/** Every node of `counts` with its offset in a subnet of `size` addresses: control planes first, by index. */
export function nodeSlots(size: number, counts: NodeCounts): NodeSlot[] {
    const slots: NodeSlot[] = [];
    const roles: [MachineRole, number][] = [["controlplane", counts.controlPlanes], ["worker", counts.workers]];
    for (const [role, count] of roles) {
        for (let index = 1; index <= count; index++) slots.push({ role, index, offset: nodeOffset(size, role, index) });
    }
    return slots;
}

/**
 * Every node of `counts` has an address of its own in a subnet of `size` addresses, above the
 * network address and the default gateway (.1) and below the broadcast address.
 */
export function subnetLayoutFits(size: number, counts: NodeCounts): boolean {
    const offsets = nodeSlots(size, counts).map((s) => s.offset);
    return new Set(offsets).size === offsets.length && offsets.every((o) => o >= FIRST_NODE_OFFSET && o <= size - 2);
}

/**
 * The in-network API endpoint written into machine configs: the first control plane on the
 * in-container API port, the subnet's .2 as Talos' Docker provisioner has it
 * (talos@v1.8.3:pkg/provision/providers/docker/docker.go `GetInClusterKubernetesControlPlaneEndpoint`).
 * A function of the subnet alone, so the stack-config parser checks the patches against the same
 * endpoint before there is a plan.
 */
export function controlPlaneEndpoint(subnet: string): string {
    return `https://${nodeAddress(nodeSubnet(subnet), "controlplane", 1)}:${CONTAINER_PORTS.kubernetesApi}`;
}

/** What a plan takes from the cluster's history (model/clusterchange.ts), beside the stack config. */
export interface PlanOptions {
    /**
     * The control planes run workloads (./scheduling.ts): then the first one also publishes
     * http/https, even once there are workers. Default: as for a new cluster, when there are none.
     */
    controlPlanesSchedulable?: boolean;
}

export function planCluster(spec: ClusterSpec, options: PlanOptions = {}): ClusterPlan {
    const cidr = nodeSubnet(spec.network.subnet);
    // The paths Talos' own provisioner puts on volumes at this minor (the version contract).
    const volumePaths = nodeVolumePaths(spec.talosVersion);
    if (volumePaths === undefined) {
        throw new Error(`talosVersion ${spec.talosVersion} is not supported (the stack config refuses it)`);
    }
    const sizes: Record<MachineRole, { cpus: number; memoryMiB: number }> = {
        controlplane: spec.controlPlanes,
        worker: spec.workers,
    };
    const slots = nodeSlots(cidr.size, { controlPlanes: spec.controlPlanes.count, workers: spec.workers.count });
    const nodes = slots.map(({ role, index, offset }): NodePlan => {
        const name = nodeName(spec.clusterName, role, index);
        return {
            name,
            role,
            index,
            ip: hostAddress(cidr, offset),
            cpus: sizes[role].cpus,
            memoryMiB: sizes[role].memoryMiB,
            ports: [],
            volumes: volumePaths.map((containerPath) => ({
                name: volumeName(name, containerPath),
                containerPath,
            })),
            labels: nodeLabels(spec.clusterName, role),
        };
    });
    const bootstrapNode = nodes[0];
    // Where workloads run is where ingress is published: a cluster that started without workers
    // keeps it on the first control plane when workers join, so their arrival replaces no container.
    const schedulable = options.controlPlanesSchedulable ?? controlPlanesSchedulable(spec.workers.count);
    const firstWorker = nodes.find((n) => n.role === "worker");
    const ingressNode = schedulable || firstWorker === undefined ? bootstrapNode : firstWorker;
    const { bindAddress } = spec.ports;
    bootstrapNode.ports.push(
        { bindAddress, host: spec.ports.kubernetesApi, container: CONTAINER_PORTS.kubernetesApi },
        { bindAddress, host: spec.ports.talosApi, container: CONTAINER_PORTS.talosApi },
    );
    ingressNode.ports.push(
        { bindAddress, host: spec.ports.http, container: CONTAINER_PORTS.http },
        { bindAddress, host: spec.ports.https, container: CONTAINER_PORTS.https },
    );
    const host = dialAddress(bindAddress);
    return {
        nodes,
        bootstrapNode,
        ingressNode,
        controlPlaneEndpoint: controlPlaneEndpoint(spec.network.subnet),
        hostEndpoints: {
            kubernetes: `https://${host}:${spec.ports.kubernetesApi}`,
            talos: `${host}:${spec.ports.talosApi}`,
        },
    };
}
