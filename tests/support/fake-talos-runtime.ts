// What a fake node answers for its machine status over COSI (talos/api/runtime.ts): the stage and
// readiness a test gives it, by default a booted node (running, every condition met).

import * as grpc from "@grpc/grpc-js";

import { encodeMachineStatus, MACHINE_STATUS_RESOURCE, type MachineStatus } from "../../talos/api/runtime";

/** A node that has booted: what MachineStatus says once the boot sequence is done. */
export const BOOTED: MachineStatus = { stage: "running", ready: true, unmetConditions: [] };

/** Whether a COSI Get asks for the machine status (else it is the machine config's to answer). */
export function isMachineStatusRequest(req: { type: string }): boolean {
    return req.type === MACHINE_STATUS_RESOURCE.type;
}

export function machineStatusResource(status: MachineStatus | undefined, req: { namespace: string; type: string; id: string }): object {
    if (req.namespace !== MACHINE_STATUS_RESOURCE.namespace || req.id !== MACHINE_STATUS_RESOURCE.id) {
        // cosi-project/runtime@v0.5.5:pkg/state/protobuf/server/server.go Get; the in-memory state's error text.
        throw { code: grpc.status.NOT_FOUND, details: `resource ${req.type}(${req.namespace}/${req.id}@undefined) doesn't exist` };
    }
    return {
        resource: {
            metadata: { ...MACHINE_STATUS_RESOURCE, version: "1", phase: "running" },
            spec: { proto_spec: Buffer.from(encodeMachineStatus(status ?? BOOTED)) },
        },
    };
}
