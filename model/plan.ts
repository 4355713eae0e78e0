// ClusterSpec → every node's name, role, address, ports, volumes and labels, decided up front
// (kind's "plan, then create"). Pure; the components only consume the plan.
import { APID_PORT } from "../talos/api/talosconfig";
import type { MachineRole } from "../talos/machineconfig";
import { nodeVolumePaths } from "../talos/versions";
import type { ClusterSpec } from "./config";
import { nodeLabels } from "./dockerlabels";
import { dialAddress } from "./hostaddress";
import { hostAddress, parseCidr, type Cidr } from "./ipv4";


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
    /** The node that publishes http/https: the first worker, else the first control plane. */
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

/** The full name of the node a cluster calls `suffix`. */
export function nodeNameIn(clusterName: string, suffix: string): string {
    return `${clusterName}-${suffix}`;
}

/** `/usr/libexec/kubernetes` → `<node>-usr-libexec-kubernetes`. */
export function volumeName(node: string, containerPath: string): string {
    return `${node}-${containerPath.slice(1).replace(/\//g, "-")}`;
}

/** Offset of the first node's address in the subnet: .0 is the network, .1 the gateway by default. */
export const FIRST_NODE_OFFSET = 2;

/** The subnet of a validated spec; the stack-config parser has already rejected one that does not parse. */
export function nodeSubnet(subnet: string): Cidr {
    const cidr = parseCidr(subnet);
    if ("error" in cidr) throw new Error(`network.subnet ${cidr.error}`);
    return cidr;
}

/** The address of the node at `position` in the plan (control planes first), from .2 up. */
export function nodeAddress(cidr: Cidr, position: number): string {
    return hostAddress(cidr, FIRST_NODE_OFFSET + position);
}

/**
 * The in-network API endpoint written into machine configs: the first node of the plan (the first
 * control plane) on the in-container API port, the subnet's .2 as Talos' Docker provisioner has it
 * (talos@v1.8.3:pkg/provision/providers/docker/docker.go `GetInClusterKubernetesControlPlaneEndpoint`).
 * A function of the subnet alone, so the stack-config parser checks the patches against the same
 * endpoint before there is a plan.
 */
export function controlPlaneEndpoint(subnet: string): string {
    return `https://${nodeAddress(nodeSubnet(subnet), 0)}:${CONTAINER_PORTS.kubernetesApi}`;
}

export function planCluster(spec: ClusterSpec): ClusterPlan {
    const cidr = nodeSubnet(spec.network.subnet);
    // The paths Talos' own provisioner puts on volumes at this minor (the version contract).
    const volumePaths = nodeVolumePaths(spec.talosVersion);
    if (volumePaths === undefined) {
        throw new Error(`talosVersion ${spec.talosVersion} is not supported (the stack config refuses it)`);
    }
    const roles: [MachineRole, number, { cpus: number; memoryMiB: number }][] = [
        ["controlplane", spec.controlPlanes.count, spec.controlPlanes],
        ["worker", spec.workers.count, spec.workers],
    ];
    const nodes: NodePlan[] = [];
    for (const [role, count, size] of roles) {
        for (let index = 1; index <= count; index++) {
            const name = nodeName(spec.clusterName, role, index);
            nodes.push({
                name,
                role,
                index,
                ip: nodeAddress(cidr, nodes.length),
                cpus: size.cpus,
                memoryMiB: size.memoryMiB,
                ports: [],
                volumes: volumePaths.map((containerPath) => ({
                    name: volumeName(name, containerPath),
                    containerPath,
                })),
                labels: nodeLabels(spec.clusterName, role),
            });
        }
    }
    const bootstrapNode = nodes[0];
    const ingressNode = nodes.find((n) => n.role === "worker") ?? bootstrapNode;
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
