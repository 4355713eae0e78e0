// A machine config's documents, as Talos' generator makes them for one role and contract
// (talos@v1.8.3:pkg/machinery/config/generate/generate.go `Input.Config`; controlplane.go is the
// init config with type "controlplane"). No container-mode additions here: see container.ts.

import { clusterSection } from "./cluster";
import { extraDocuments } from "./documents";
import type { GenerateInput } from "./input";
import { machineSection } from "./machine";

export function generateDocuments(input: GenerateInput): Record<string, unknown>[] {
    const v1alpha1 = {
        version: "v1alpha1",
        debug: false,
        persist: true,
        machine: machineSection(input),
        cluster: clusterSection(input),
    };
    return [v1alpha1, ...extraDocuments(input)];
}
