// What a role's machine config is made from, built here and nowhere else: the program renders it
// (components/cluster.ts) and the stack-config parser tries the patches on it (./configpatches.ts),
// so the config a patch is checked against is the config the nodes boot. Pure.

import { DOCKER_TALOS_API_HOST } from "../talos/config/container";
import type { MachineConfigInput, MachineRole } from "../talos/machineconfig";
import type { ConfigPatch } from "../talos/patches";
import type { ClusterSpec } from "./config";
import { dialAddress } from "./hostaddress";
import { controlPlaneEndpoint } from "./plan";
import { controlPlanesSchedulable, SCHEDULE_ON_CONTROL_PLANES_PATCH } from "./scheduling";
import { nodeMirrors, type RegistrySpec } from "./registries";

/**
 * The parts of a ClusterSpec a machine config is made from. The patches are given apart: the
 * parser tries them one by one, before the spec exists.
 */
export interface MachineConfigSpec {
    clusterName: string;
    talosVersion: string;
    kubernetesVersion: string;
    network: Pick<ClusterSpec["network"], "subnet">;
    ports: Pick<ClusterSpec["ports"], "bindAddress">;
    storage: Pick<ClusterSpec["storage"], "enabled" | "path">;
    /** Whether there are workers decides whether the control planes take workloads (./scheduling.ts). */
    workers: Pick<ClusterSpec["workers"], "count">;
    /** The stack's mirrors; none when absent. */
    registryMirrors?: RegistrySpec["registryMirrors"];
    /** The pull-through cache; off when absent. */
    registryCache?: RegistrySpec["registryCache"];
}

/** The input without the secrets, which join it only where they are known (inside an Output). */
export type MachineConfigRecipe = Omit<MachineConfigInput, "secrets">;

/** The patches of each list, as ClusterSpec["configPatches"] holds them (or the parser, labelled). */
export interface RolePatchLists<T> {
    all: readonly T[];
    controlPlane: readonly T[];
    worker: readonly T[];
}

/**
 * One role's config input: every node of a role boots from the same document, as with talosctl.
 * `schedulable`: the control planes take workloads (./scheduling.ts; by default as for a new
 * cluster, when there are no workers), which our own patch says before the user's.
 */
export function machineConfigInput(
    spec: MachineConfigSpec,
    role: MachineRole,
    patches: readonly ConfigPatch[],
    schedulable = controlPlanesSchedulable(spec.workers.count),
): MachineConfigRecipe {
    const ours = role === "controlplane" && schedulable ? [SCHEDULE_ON_CONTROL_PLANES_PATCH] : [];
    return {
        role,
        clusterName: spec.clusterName,
        controlPlaneEndpoint: controlPlaneEndpoint(spec.network.subnet),
        talosVersion: spec.talosVersion,
        kubernetesVersion: spec.kubernetesVersion,
        additionalSANs: extraSANs(spec.ports.bindAddress),
        storagePath: spec.storage.enabled ? spec.storage.path : undefined,
        patches: [...ours, ...patches],
        registryMirrors: nodeMirrors(spec),
    };
}

/** A role's patches in the order they apply: those for every node, then the role's own. */
export function rolePatches<T>(lists: RolePatchLists<T>, role: MachineRole): T[] {
    switch (role) {
        case "controlplane":
            return [...lists.all, ...lists.controlPlane];
        case "worker":
            return [...lists.all, ...lists.worker];
        default: {
            const never: never = role;
            throw new Error(`unknown role ${String(never)}`);
        }
    }
}

/**
 * The configs already have the host the APIs are reached at on all interfaces or loopback as a SAN
 * (DOCKER_TALOS_API_HOST); a specific host address they are published on must be one too.
 */
function extraSANs(bindAddress: string): string[] {
    return dialAddress(bindAddress) === DOCKER_TALOS_API_HOST ? [] : [bindAddress];
}
