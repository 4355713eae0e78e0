// Does the kubelet of the stack's Kubernetes version run on the engine's cgroup version?
//
// Talos itself does not mind: it asserts cgroup v2 only outside a container and, in one, uses
// what the container runtime gives it (talos@v1.8.3:internal/app/machined/pkg/runtime/v1alpha1/
// v1alpha1_sequencer_tasks.go and talos@v1.13.9:internal/app/machined/pkg/startup/cgroups.go,
// `CreateSystemCgroups`). The kubelet has its own rule, by Kubernetes minor:
// - up to 1.30 it supports cgroup v1;
// - from 1.31 cgroup v1 is in maintenance mode (KEP-4569, kubernetes/enhancements
//   keps/sig-node/4569-cgroup-v1-maintenance-mode): the kubelet runs and warns, and the
//   KubeletConfiguration field `failCgroupV1` appears, default false
//   (kubernetes@v1.31.0:pkg/kubelet/apis/config/v1beta1/defaults.go);
// - from 1.35 cgroup v1 is deprecated (KEP-5573, keps/sig-node/5573-remove-cgroup-v1):
//   `failCgroupV1` defaults to true (kubernetes@v1.35.0:pkg/kubelet/apis/config/v1beta1/defaults.go),
//   and the kubelet's config validation refuses to start on a cgroup v1 host ("kubelet is
//   configured to not run on a host using cgroup v1", kubernetes@v1.35.0:
//   pkg/kubelet/apis/config/validation/validation_linux.go); still so at v1.36.3.
// Talos passes `machine.kubelet.extraConfig` into the KubeletConfiguration and does not protect
// `failCgroupV1` (talos@v1.13.9:pkg/machinery/kubelet/kubelet.go `ProtectedConfigurationFields`),
// so a config patch can set it either way.

import type { ClusterSpec } from "../../model/config";
import { ourKey } from "../../model/configproblems";
import { rolePatches } from "../../model/machineinput";
import { MACHINE_ROLES } from "../../talos/machineconfig";
import type { ConfigPatch } from "../../talos/patches";
import { parseKubernetesVersion, versionContract } from "../../talos/versions";
import type { EngineInfo } from "../docker/api";
import type { Check } from "./checks";

/** The first Kubernetes minor whose kubelet puts cgroup v1 in maintenance mode, and the first that refuses it by default. */
export const CGROUP_V1 = { maintenanceFrom: 31, refusedFrom: 35 } as const;

/** What the kubelet of a Kubernetes version does on a cgroup v1 host, by default. */
export type KubeletOnCgroupV1 = "supported" | "maintenance" | "refused";

export function kubeletOnCgroupV1(kubernetesVersion: string): KubeletOnCgroupV1 | undefined {
    const version = parseKubernetesVersion(kubernetesVersion);
    if (version === undefined || version.major !== 1) return undefined;
    if (version.minor >= CGROUP_V1.refusedFrom) return "refused";
    return version.minor >= CGROUP_V1.maintenanceFrom ? "maintenance" : "supported";
}

/** The patch that lets the kubelet run on cgroup v1 from 1.35 on, as configPatches.all takes it. */
export const ALLOW_CGROUP_V1_PATCH = "machine: {kubelet: {extraConfig: {failCgroupV1: false}}}";

/**
 * The same from Talos v1.14, whose kubelet settings are the KubeletConfig document's (`config` is
 * merged into the KubeletConfiguration as `machine.kubelet.extraConfig` was, and failCgroupV1 is
 * still not protected: talos@v1.14.1:pkg/machinery/kubelet/kubelet.go); a `machine.kubelet`
 * patch there is refused next to that document.
 */
export const ALLOW_CGROUP_V1_DOCUMENT_PATCH = "{apiVersion: v1alpha1, kind: KubeletConfig, config: {failCgroupV1: false}}";

/** The patch for this Talos release's config. */
export function allowCgroupV1Patch(talosVersion: string): string {
    const contract = versionContract(talosVersion);
    return contract?.config.kubernetes === "kubeDocuments" ? ALLOW_CGROUP_V1_DOCUMENT_PATCH : ALLOW_CGROUP_V1_PATCH;
}

/**
 * `failCgroupV1` as these patches leave it, applied in order: true or false where a patch sets
 * it, undefined where none does (the kubelet's default then) or the last one removes it.
 */
export function failCgroupV1Setting(patches: readonly ConfigPatch[]): boolean | undefined {
    let setting: boolean | undefined;
    for (const patch of patches) {
        switch (patch.kind) {
            case "strategic":
                for (const doc of patch.documents) {
                    // The v1alpha1 document (no apiVersion/kind) has `machine`; v1.14's KubeletConfig `config`.
                    if (!isRecord(doc) || (doc.kind !== undefined && doc.kind !== "KubeletConfig")) continue;
                    const path = doc.kind === "KubeletConfig"
                        ? ["config", "failCgroupV1"]
                        : ["machine", "kubelet", "extraConfig", "failCgroupV1"];
                    const value = dig(doc, path);
                    if (typeof value === "boolean") setting = value;
                }
                break;
            case "json6902":
                for (const op of patch.operations) {
                    const path = ["machine", "kubelet", "extraConfig", "failCgroupV1"];
                    const at = pointerDepth(op.path, path);
                    if (at === undefined) continue;
                    if (op.op === "remove") setting = undefined;
                    else if (op.op === "add" || op.op === "replace") {
                        const value = at === path.length ? op.value : dig(op.value, path.slice(at));
                        setting = typeof value === "boolean" ? value : undefined;
                    }
                }
                break;
            default: {
                const never: never = patch;
                throw new Error(`unknown patch kind ${String(never)}`);
            }
        }
    }
    return setting;
}

const HOST_FIX = "boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line; "
    + "the default of current distributions and Docker Desktop), then restart Docker";

/** The check: ok on cgroup v2; on v1 fail where the kubelet would refuse, warn where it runs deprecated. */
export function cgroupCheck(info: EngineInfo, spec?: ClusterSpec): Check {
    const name = "cgroup v2";
    if (info.cgroupVersion === "2") return { name, status: "ok", detail: "the engine runs cgroup v2" };
    const engine = `the engine runs cgroup v${info.cgroupVersion}`;
    const refusedFrom = `1.${CGROUP_V1.refusedFrom}`;
    if (spec === undefined) {
        return {
            name,
            status: "warn",
            detail: `${engine}: whether the kubelet starts on it depends on ${ourKey("kubernetesVersion")} `
                + `(from ${refusedFrom} it refuses), which the config above does not give`,
            fix: HOST_FIX,
        };
    }
    const k8s = spec.kubernetesVersion;
    const rule = kubeletOnCgroupV1(k8s) ?? "refused";
    // The kubelet runs on every node: each role's patches decide for its nodes.
    const roles = MACHINE_ROLES.filter((role) => role === "controlplane" || spec.workers.count > 0);
    const settings = roles.map((role) => failCgroupV1Setting(rolePatches(spec.configPatches, role)));
    if (settings.some((s) => s === true)) {
        return {
            name,
            status: "fail",
            detail: `${engine}, and configPatches set failCgroupV1: true, so the kubelet (Kubernetes ${k8s}) refuses to start `
                + "and no node becomes Ready; Talos itself runs",
            fix: `${HOST_FIX}; or drop the failCgroupV1: true patch`,
        };
    }
    if (rule === "refused" && settings.some((s) => s === undefined)) {
        return {
            name,
            status: "fail",
            detail: `${engine}: the kubelet of Kubernetes ${k8s} refuses to start on it (failCgroupV1 defaults to true `
                + `from ${refusedFrom}), so no node becomes Ready; Talos itself runs`,
            fix: `${HOST_FIX}; or set ${ourKey("kubernetesVersion")} to a 1.${CGROUP_V1.refusedFrom - 1} release `
                + "or older (if talosVersion supports it); or let the kubelet run on cgroup v1 anyway, deprecated: "
                + `add \`${allowCgroupV1Patch(spec.talosVersion)}\` to ${ourKey("configPatches.all")}`,
        };
    }
    switch (rule) {
        case "supported":
            return {
                name,
                status: "ok",
                detail: `${engine}, which the kubelet of Kubernetes ${k8s} supports (from ${refusedFrom} it refuses it by default); `
                    + "Talos does not need cgroup v2 in a container",
            };
        case "maintenance":
            return {
                name,
                status: "warn",
                detail: `${engine}: the kubelet of Kubernetes ${k8s} runs on it, but cgroup v1 is in maintenance mode `
                    + `from 1.${CGROUP_V1.maintenanceFrom} and refused by default from ${refusedFrom}`,
                fix: HOST_FIX,
            };
        case "refused":
            return {
                name,
                status: "warn",
                detail: `${engine}: the kubelet of Kubernetes ${k8s} runs on it only because configPatches set failCgroupV1: false; `
                    + `cgroup v1 is deprecated from ${refusedFrom}`,
                fix: HOST_FIX,
            };
        default: {
            const never: never = rule;
            throw new Error(`unknown kubelet rule ${String(never)}`);
        }
    }
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** value[path[0]][path[1]]…, or undefined where a step is missing. */
function dig(value: unknown, path: readonly string[]): unknown {
    let at = value;
    for (const key of path) {
        if (!isRecord(at)) return undefined;
        at = at[key];
    }
    return at;
}

/** How many leading segments of `path` a JSON pointer names (1 to path.length), or undefined when it is elsewhere. */
function pointerDepth(pointer: string, path: readonly string[]): number | undefined {
    const segments = pointer.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (segments.length === 0 || segments.length > path.length) return undefined;
    return segments.every((s, i) => s === path[i]) ? segments.length : undefined;
}
