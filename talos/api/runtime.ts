// The machine status Talos keeps as a COSI resource (what `talosctl get machinestatus` shows): the
// stage of the node's boot and whether every condition of that stage is met. Read by the
// readiness checks the way Talos' own "all nodes to finish boot sequence" check reads it
// (talos@v1.8.3 and v1.13.9:pkg/cluster/check/events.go `AllNodesBootedAssertion`, which watches
// the same resource with `node` metadata). The spec's protobuf, with the names and field numbers
// of talos@v1.8.3:api/resource/definitions/runtime/runtime.proto `MachineStatusSpec`,
// `MachineStatusStatus`, `UnmetCondition` and api/resource/definitions/enums/enums.proto
// `RuntimeMachineStage` (identical at v1.13.9), is declared here; the COSI Get envelope around
// it is messages.ts'.

import * as protobuf from "protobufjs";

const root = protobuf.Root.fromJSON({
    nested: {
        talos: {
            nested: {
                resource: {
                    nested: {
                        definitions: {
                            nested: {
                                runtime: {
                                    nested: {
                                        // stage is the enum RuntimeMachineStage: a varint on the wire, read as its number.
                                        MachineStatusSpec: {
                                            fields: {
                                                stage: { type: "int32", id: 1 },
                                                status: { type: "MachineStatusStatus", id: 2 },
                                            },
                                        },
                                        MachineStatusStatus: {
                                            fields: {
                                                ready: { type: "bool", id: 1 },
                                                unmet_conditions: { rule: "repeated", type: "UnmetCondition", id: 2 },
                                            },
                                        },
                                        UnmetCondition: {
                                            fields: {
                                                name: { type: "string", id: 1 },
                                                reason: { type: "string", id: 2 },
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
});

const SPEC = root.lookupType("talos.resource.definitions.runtime.MachineStatusSpec");

/**
 * The machine status as COSI serves it (talos@v1.8.3:pkg/machinery/resources/runtime/
 * machine_status.go): namespace `runtime` (resources/v1alpha1 `NamespaceName`), the full type
 * name, and the singleton ID `machine`. It is not Sensitive: os:reader may read it.
 */
export const MACHINE_STATUS_RESOURCE = {
    namespace: "runtime",
    type: "MachineStatuses.runtime.talos.dev",
    id: "machine",
} as const;

/** `RuntimeMachineStage` by wire number, in talosctl's words (MachineStage.String() without the prefix). */
export const MACHINE_STAGES = [
    "unknown",
    "booting",
    "installing",
    "maintenance",
    "running",
    "rebooting",
    "shutting down",
    "resetting",
    "upgrading",
] as const;

export type MachineStage = (typeof MACHINE_STAGES)[number];

/** A node's machine status. */
export interface MachineStatus {
    /** the stage, or `stage <n>` for a number this table does not know (a newer Talos) */
    stage: MachineStage | `stage ${number}`;
    /** every condition of the stage is met */
    ready: boolean;
    /** the conditions that are not, with Talos' reason: `{ name: "time", reason: "time is not in sync" }` */
    unmetConditions: { name: string; reason: string }[];
}

/** The stage a node has reached once it has booted (`MACHINE_STAGE_RUNNING`). */
export const RUNNING_STAGE: MachineStage = "running";

/** The resource's proto_spec bytes → the status. */
export function decodeMachineStatus(protoSpec: Uint8Array): MachineStatus {
    const spec = SPEC.toObject(SPEC.decode(protoSpec), { defaults: true, arrays: true }) as {
        stage: number;
        status: { ready: boolean; unmet_conditions: { name: string; reason: string }[] } | null;
    };
    return {
        stage: MACHINE_STAGES[spec.stage] ?? `stage ${spec.stage}`,
        ready: spec.status?.ready ?? false,
        unmetConditions: (spec.status?.unmet_conditions ?? []).map((c) => ({ name: c.name, reason: c.reason })),
    };
}

/** The proto_spec bytes of a status, for fake servers. */
export function encodeMachineStatus(status: MachineStatus): Uint8Array {
    const known = MACHINE_STAGES.findIndex((s) => s === status.stage);
    return SPEC.encode(SPEC.fromObject({
        stage: known >= 0 ? known : Number(status.stage.replace("stage ", "")),
        status: { ready: status.ready, unmet_conditions: status.unmetConditions },
    })).finish();
}
