// Which config changes a running node takes without a reboot, as machined decides it for
// ApplyConfiguration in modes AUTO, NO_REBOOT and TRY (`Runtime.CanApplyImmediate`,
// talos@v1.8.3 … v1.13.9:internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go). The rule
// lives in machined, not in machinery, so it is restated here; tests/unit/talos/applymode.test.ts
// pins it per minor.
//
// machined deep-copies the new v1alpha1 document, overwrites the fields below with the running
// config's values and compares the two with reflect.DeepEqual: any other difference in the
// v1alpha1 document needs a reboot. Other documents (HostnameConfig, RegistryMirrorConfig, … from
// v1.12) are not compared, so changing them never forces one. Talos v1.14 drops the rule: every
// change applies without a reboot and REBOOT mode is refused (talos@v1.14.0-rc.1 commit 995bc30d5
// "feat: drop apply config method reboot"); a TalosMinor for it must decide what it means here.

import { differingPaths, normaliseTree } from "./configpaths";
import { parseTalosVersion, type TalosMinor } from "./versions";
import { isPlainObject, parseYamlDocuments } from "./yaml";

/**
 * `talosctl apply-config --mode` (talos@v1.13.9:cmd/talosctl/pkg/talos/helpers/mode.go): what a
 * caller asks for. auto lets the node pick no-reboot or reboot by the rule above; no-reboot and
 * try are refused when the rule says a reboot is needed; staged takes effect at the next boot.
 * In container mode a reboot ends the container (machined is PID 1 and calls reboot(2)); only a
 * restart policy brings it back, and it boots from the config written to /system/state.
 */
export type ApplyMode = "auto" | "no-reboot" | "reboot" | "staged" | "try";

/** Every mode, in talosctl's order. */
export const APPLY_MODES: readonly ApplyMode[] = ["auto", "no-reboot", "reboot", "staged", "try"];

/** The verdict on a change from one config text to another. */
export interface ImmediateCheck {
    /** machined applies it without a reboot */
    immediate: boolean;
    /**
     * Dotted paths in the v1alpha1 document (`machine.token`, `machine.files[0].content`) whose
     * change forces the reboot; [] when immediate. Paths only: the values may be secrets.
     */
    rebootPaths: string[];
    /** machined's reason when a config has no v1alpha1 document, which also forces a reboot */
    problem?: string;
}

/** A config text that is not YAML: the message gives positions, never the text. */
export class ApplyModeInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ApplyModeInputError";
    }
}

/** The fields of `machine` that may change without a reboot, at every minor (YAML keys of v1alpha1_types.go). */
const MACHINE_FIELDS = [
    "ca",
    "acceptedCAs",
    "time",
    "certSANs",
    "install",
    "network",
    "sysfs",
    "sysctls",
    "logging",
    "controlPlane",
    "kubelet",
    "kernel",
    // "note that auth is not applied immediately, containerd limitation" (machined's comment)
    "registries",
    "pods",
    "seccompProfiles",
    "nodeAnnotations",
    "nodeLabels",
    "nodeTaints",
] as const;

/** The fields of `machine.features` that may change without a reboot at a minor. */
function featureFields(minor: TalosMinor): readonly string[] {
    const base = ["kubernetesTalosAPIAccess", "kubePrism", "hostDNS"];
    switch (minor) {
        case "1.8":
            return base;
        // imageCache and nodeAddressSortAlgorithm join at v1.9.0 (talos@v1.9.0, same file); the
        // list is then the same at every patch up to v1.13.9 (and at every v1.8 patch before).
        case "1.9":
        case "1.10":
        case "1.11":
        case "1.12":
        case "1.13":
        // v1.14 has no such rule (machined no longer has CanApplyImmediate at v1.14.0-rc.1, and
        // rebootsOnApply says it never reboots for an apply): its last list still names the fields
        // an older machined read only at boot.
        case "1.14":
            return [...base, "imageCache", "nodeAddressSortAlgorithm"];
        default: {
            const unreachable: never = minor;
            throw new Error(`unknown Talos minor ${String(unreachable)}`);
        }
    }
}

/** The top-level fields of the v1alpha1 document that may change without a reboot. */
const DOCUMENT_FIELDS = ["debug", "cluster"] as const;

/** The v1alpha1 fields (YAML keys) that may change without a reboot at a minor, by where they are. */
export interface ImmediateFields {
    /** top-level keys of the v1alpha1 document */
    document: readonly string[];
    /** keys of `machine` */
    machine: readonly string[];
    /** keys of `machine.features` */
    features: readonly string[];
}

export function immediateFields(minor: TalosMinor): ImmediateFields {
    return { document: DOCUMENT_FIELDS, machine: MACHINE_FIELDS, features: featureFields(minor) };
}

/** Whether machined at `minor` applies the change from config text `current` to `next` without a reboot. */
export function checkImmediate(minor: TalosMinor, current: string, next: string): ImmediateCheck {
    const running = v1alpha1Document(current, "the running config");
    const wanted = v1alpha1Document(next, "the new config");
    // machined's own errors, in its order.
    if (running === undefined) return { immediate: false, rebootPaths: [], problem: "current config is not v1alpha1" };
    if (wanted === undefined) return { immediate: false, rebootPaths: [], problem: "new config is not v1alpha1" };

    const masked = maskImmediateFields(minor, running, wanted);
    const rebootPaths = differingPaths(normaliseTree(running), normaliseTree(masked), "");
    return { immediate: rebootPaths.length === 0, rebootPaths };
}

/**
 * Whether a Talos release ever reboots for an apply: from v1.14 AUTO applies every change without
 * a reboot and REBOOT is refused (talos commit 995bc30d5 "feat: drop apply config method reboot",
 * first in v1.14.0-alpha.2: `ApplyConfiguration` no longer calls CanApplyImmediate). Fields the
 * rule above reads only at boot then take effect at the node's next restart. A tag that does not
 * parse is taken as a release that reboots.
 */
export function rebootsOnApply(talosVersion: string): boolean {
    const v = parseTalosVersion(talosVersion);
    return v === undefined || v.major < 1 || (v.major === 1 && v.minor < 14);
}

/** The mode machined picks for `auto`: no-reboot when the change allows it, else reboot. */
export function autoApplyMode(minor: TalosMinor, current: string, next: string): "no-reboot" | "reboot" {
    return checkImmediate(minor, current, next).immediate ? "no-reboot" : "reboot";
}

/**
 * `next` with every field that may change without a reboot set to the running config's value,
 * as machined does: `machine.*` only when both documents have `machine`, `machine.features.*`
 * only when both have `machine.features`.
 */
function maskImmediateFields(
    minor: TalosMinor,
    running: Record<string, unknown>,
    wanted: Record<string, unknown>,
): Record<string, unknown> {
    const fields = immediateFields(minor);
    const out: Record<string, unknown> = { ...wanted };
    for (const key of fields.document) copyField(out, running, key);
    const runningMachine = running.machine;
    const wantedMachine = wanted.machine;
    if (!isPlainObject(runningMachine) || !isPlainObject(wantedMachine)) return out;
    const machine: Record<string, unknown> = { ...wantedMachine };
    for (const key of fields.machine) copyField(machine, runningMachine, key);
    const runningFeatures = runningMachine.features;
    const wantedFeatures = wantedMachine.features;
    if (isPlainObject(runningFeatures) && isPlainObject(wantedFeatures)) {
        const features: Record<string, unknown> = { ...wantedFeatures };
        for (const key of fields.features) copyField(features, runningFeatures, key);
        machine.features = features;
    }
    out.machine = machine;
    return out;
}

function copyField(into: Record<string, unknown>, from: Record<string, unknown>, key: string): void {
    if (Object.hasOwn(from, key)) into[key] = from[key];
    else delete into[key];
}

/**
 * The v1alpha1 document of a config text: the one without `kind`
 * (talos@v1.13.9:pkg/machinery/config/configloader/internal/decoder/decoder.go), or undefined.
 */
function v1alpha1Document(text: string, what: string): Record<string, unknown> | undefined {
    const { documents, problems } = parseYamlDocuments(text);
    if (problems.length > 0) {
        const first = problems[0];
        const at = first.line === undefined ? "" : ` at line ${first.line}`;
        throw new ApplyModeInputError(`${what} is not valid YAML${at} (${first.code})`);
    }
    return documents.find((doc): doc is Record<string, unknown> => isPlainObject(doc) && doc.kind === undefined);
}
