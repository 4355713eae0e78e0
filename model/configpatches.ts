// `configPatches` in stack config: each patch parsed, then applied to the machine config of its
// role as the cluster will apply it, so a patch Talos would refuse fails before anything exists.
// Pure; part of the stack-config parser (./config.ts).

import { stringify as toYaml } from "yaml";

import { findPatchError, MACHINE_ROLES } from "../talos/machineconfig";
import { parsePatch, PatchError, type ConfigPatch } from "../talos/patches";
import { versionContract } from "../talos/versions";
import { ourKey, type Problems } from "./configproblems";
import { machineConfigInput, rolePatches, type MachineConfigSpec } from "./machineinput";

/** A parsed patch with the key and value it came from, so a later problem can name them. */
export interface LabelledPatch {
    key: string;
    value: unknown;
    patch: ConfigPatch;
}

/** A patch that did not parse (already reported): the patches after it cannot be tried. */
interface BrokenPatch {
    key: string;
    patch?: undefined;
}

export type PatchLists = Record<"all" | "controlPlane" | "worker", (LabelledPatch | BrokenPatch)[]>;

/** The patches of one list that parsed, in order. */
export function parsedPatches(list: PatchLists[keyof PatchLists]): ConfigPatch[] {
    return list.flatMap((l) => (l.patch === undefined ? [] : [l.patch]));
}

export function parsePatchLists(p: Problems, cp: Record<string, unknown>): PatchLists {
    return {
        all: patches(p, "configPatches.all", cp.all),
        controlPlane: patches(p, "configPatches.controlPlane", cp.controlPlane),
        worker: patches(p, "configPatches.worker", cp.worker),
    };
}

/** Patches may be YAML text or YAML written inline in the stack file (then it arrives as an object). */
function patches(p: Problems, key: string, value: unknown): (LabelledPatch | BrokenPatch)[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
        p.add(key, value, "must be a list of config patches (YAML text or inline YAML)",
            `edit ${ourKey(key)} in ${p.stackFile} into a list, one "- " item per patch, or ${p.rm(key)}`);
        return [];
    }
    const result: (LabelledPatch | BrokenPatch)[] = [];
    value.forEach((item, i) => {
        const text = typeof item === "string" ? item : toYaml(item);
        const itemKey = `${key}[${i}]`;
        try {
            result.push({ key: itemKey, value: item, patch: parsePatch(text) });
        } catch (err) {
            if (!(err instanceof PatchError)) throw err;
            p.add(itemKey, item, `is not a valid config patch: ${err.message}`,
                `edit ${ourKey(itemKey)} in ${p.stackFile} (positions are within the patch), or ${p.rm(itemKey)}`);
            result.push({ key: itemKey });
        }
    });
    return result;
}

/**
 * Applies each role's patches to that role's config, as the cluster will, and names the first
 * patch that fails (unknown key, missing path, a form this Talos version refuses). A patch in
 * `all` that fails for both roles is reported once. Runs beside the other keys' problems; what it
 * cannot try because of one of them (a bad talosVersion, a patch after one that does not parse)
 * is said once in a note instead of reported as a problem of its own.
 *
 * `target` is what the configs are made from, with the defaults in place of keys that are wrong
 * (those are reported on their own); undefined when talosVersion is wrong, since the patches mean
 * nothing without the config they patch.
 */
export function checkPatchesApply(p: Problems, target: MachineConfigSpec | undefined, lists: PatchLists): void {
    const all = [...lists.all, ...lists.controlPlane, ...lists.worker];
    if (all.length === 0) return;
    if (target === undefined) {
        p.note(`${ourKey("configPatches")} not checked: a patch is checked against the config of talosVersion, ` +
            "which is not valid");
        return;
    }
    const { talosVersion } = target;
    const reported = new Set<string>();
    const unchecked = new Map<string, string>();
    for (const role of MACHINE_ROLES) {
        const sequence = rolePatches(lists, role);
        const broken = sequence.findIndex((l) => l.patch === undefined);
        for (const later of broken < 0 ? [] : sequence.slice(broken + 1)) {
            if (later.patch !== undefined) unchecked.set(later.key, sequence[broken].key);
        }
        const labelled = (broken < 0 ? sequence : sequence.slice(0, broken))
            .filter((l): l is LabelledPatch => l.patch !== undefined);
        const check = (count: number) => findPatchError(
            machineConfigInput(target, role, labelled.slice(0, count).map((l) => l.patch)));
        if (labelled.length === 0 || check(labelled.length) === undefined) continue;
        // Find the first patch that breaks: later ones may rely on earlier ones.
        for (let i = 1; i <= labelled.length; i++) {
            const error = check(i);
            if (error === undefined) continue;
            const failed = labelled[i - 1];
            if (!reported.has(failed.key)) {
                reported.add(failed.key);
                p.add(failed.key, failed.value,
                    `does not apply to the ${role} config of Talos ${talosVersion}: ${error.message}`,
                    patchFix(p, failed, error, talosVersion));
            }
            break;
        }
    }
    for (const [key, after] of unchecked) {
        p.note(`${ourKey(key)} not checked: it applies after ${ourKey(after)}, which does not parse`);
    }
}

/** Edit the patch where Talos refuses it: the field it names, or the form this version refuses. */
function patchFix(p: Problems, failed: LabelledPatch, error: PatchError, talosVersion: string): string {
    const where = `${ourKey(failed.key)} in ${p.stackFile}`;
    const contract = versionContract(talosVersion);
    if (failed.patch.kind === "json6902" && contract?.multiDocument === true) {
        return `rewrite ${where} as a strategic merge patch (a YAML mapping): Talos v${contract.minor} configs are ` +
            "multi-document and Talos applies JSON6902 only to single-document ones";
    }
    const at = error.fields.length > 0 ? ` at ${error.fields.join(", ")}` : "";
    return `edit ${where}${at}, or ${p.rm(failed.key)}`;
}
