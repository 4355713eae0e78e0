// What one fake node does with ApplyConfiguration and the COSI read of its machine config, as
// machined does (talos@v1.8.3 and v1.13.9:internal/app/machined/internal/server/v1alpha1/
// v1alpha1_server.go `ApplyConfiguration`; the mode rule from talos/applymode.ts; from v1.14
// auto never reboots and reboot is refused, talos commit 995bc30d5), and a reboot
// as it looks from outside a container node: down (Unavailable) for a while, then up with the
// config written to /system/state. Errors are thrown as gRPC statuses for the server to send.

import * as grpc from "@grpc/grpc-js";

import { checkImmediate, rebootsOnApply, type ApplyMode } from "../../talos/applymode";
import { applyModeOf, APPLY_MODE_NUMBERS, MACHINE_CONFIG_RESOURCE, messages, type ApplyConfigurationRequest } from "../../talos/api/messages";
import { nearestTalosMinor, parseTalosVersion, type TalosMinor } from "../../talos/versions";
import { isPlainObject, parseYamlDocuments } from "../../talos/yaml";

/** A node's machine config and the faults its ApplyConfiguration can show. */
export interface FakeMachine {
    /** the config it runs (COSI MachineConfig `v1alpha1`); none: the resource does not exist */
    config?: string;
    /** the config written for the next boot (COSI `persistent`; staged and reboot applies write it) */
    persistentConfig?: string;
    /** fault: ApplyConfiguration answers InvalidArgument with this reason (Talos' validation message) */
    refuseConfig?: string;
    /** fault: the node says every change needs a reboot, whatever the rule says */
    alwaysNeedsReboot?: boolean;
    /**
     * fault: ApplyConfiguration answers FailedPrecondition "another apply configuration is
     * already in progress" this many times first (Talos answers it from v1.12.9 and v1.13.3)
     */
    applyInProgress?: number;
    /** fault: after an apply the node goes on reporting the config it had */
    staleReadBack?: boolean;
    /** how long a reboot keeps it down; default 100 ms */
    rebootMs?: number;
    /** state: performance.now() until which it is rebooting (down) */
    rebootingUntil?: number;
    /** state: every ApplyConfiguration it answered, in order, with the config it was sent */
    applies?: { mode: ApplyMode; chosen: ApplyMode; dryRun: boolean; config: string }[];
    /** called with each config the node starts running (what its kubelet then starts from) */
    onActivate?: (config: string) => void;
}

/** What the node needs from the server around it. */
export interface MachineHost {
    now(): number;
    /** runs `fn` after `ms`, unless the server closes first */
    after(ms: number, fn: () => void): void;
}

/** Talos' default try-mode timeout (talos@v1.8.3:pkg/machinery/constants/constants.go `ConfigTryTimeout`). */
const CONFIG_TRY_TIMEOUT_MS = 60_000;
const DEFAULT_REBOOT_MS = 100;

export function isRebooting(machine: FakeMachine, host: MachineHost): boolean {
    return machine.rebootingUntil !== undefined && host.now() < machine.rebootingUntil;
}

/** The node's minor, from the tag it reports. */
export function minorOf(tag: string): TalosMinor {
    return nearestTalosMinor(parseTalosVersion(tag));
}

/** ApplyConfiguration on a node running Talos `tag`: the reply message without metadata, or a thrown status. */
export function applyConfiguration(machine: FakeMachine, tag: string, req: ApplyConfigurationRequest, host: MachineHost): object {
    const minor = minorOf(tag);
    if ((machine.applyInProgress ?? 0) > 0) {
        machine.applyInProgress = (machine.applyInProgress ?? 0) - 1;
        throw status(grpc.status.FAILED_PRECONDITION, "another apply configuration is already in progress");
    }
    const next = Buffer.from(req.data).toString("utf8");
    loadable(next, minor);
    if (machine.refuseConfig !== undefined) throw status(grpc.status.INVALID_ARGUMENT, machine.refuseConfig);

    const asked = applyModeOf(req.mode);
    if (asked === undefined) throw status(grpc.status.UNKNOWN, `incorrect mode '${req.mode}' specified for the apply config call`);
    const { chosen, details, modeErr } = chooseMode(machine, minor, rebootsOnApply(tag), asked, next);
    (machine.applies ??= []).push({ mode: asked, chosen, dryRun: req.dry_run === true, config: next });

    if (req.dry_run === true) {
        const diff = configDiff(machine.config ?? "", next);
        return { mode: APPLY_MODE_NUMBERS[chosen], mode_details: `Dry run summary:\n${details} (skipped in dry-run).\nConfig diff:\n\n${diff === "" ? "No changes." : diff}`, warnings: [] };
    }

    let modeDetails = details;
    switch (chosen) {
        case "try": {
            const timeout = req.try_mode_timeout === undefined ? CONFIG_TRY_TIMEOUT_MS : durationMs(req.try_mode_timeout);
            modeDetails += `\nThe config is applied in 'try' mode and will be automatically reverted back in ${goDuration(timeout)}`;
            const previous = machine.config;
            activate(machine, next);
            host.after(timeout, () => {
                if (machine.config === next) machine.config = previous;
            });
            break;
        }
        case "no-reboot":
            machine.persistentConfig = next;
            activate(machine, next);
            break;
        case "staged":
            machine.persistentConfig = next;
            break;
        case "reboot": {
            machine.persistentConfig = next;
            const rebootMs = machine.rebootMs ?? DEFAULT_REBOOT_MS;
            machine.rebootingUntil = host.now() + rebootMs;
            // It boots from /system/state, where the apply wrote the config.
            host.after(rebootMs, () => activate(machine, next));
            break;
        }
        case "auto":
            throw new Error("auto is always resolved to a mode");
        default: {
            const unreachable: never = chosen;
            throw new Error(`unknown mode ${String(unreachable)}`);
        }
    }
    return { mode: APPLY_MODE_NUMBERS[chosen], mode_details: modeDetails + modeErr, warnings: [] };
}

/** The config resource the node holds under `id`, as GetResponse, or a thrown status as the COSI server and Talos' access filter answer. */
export function machineConfigResource(machine: FakeMachine, minor: TalosMinor, req: { namespace: string; type: string; id: string }): object {
    if (req.namespace !== MACHINE_CONFIG_RESOURCE.namespace) {
        throw status(grpc.status.PERMISSION_DENIED, `namespace ${JSON.stringify(req.namespace)} is not supported`);
    }
    if (req.type !== MACHINE_CONFIG_RESOURCE.type) throw status(grpc.status.PERMISSION_DENIED, `resource type ${JSON.stringify(req.type)} is not supported`);
    // `persistent` exists from v1.10 (talos@v1.10.9:pkg/machinery/resources/config/machine_config.go `PersistentID`).
    const persistent = req.id === "persistent" && !["1.8", "1.9"].includes(minor);
    const text = persistent ? machine.persistentConfig ?? machine.config : req.id === MACHINE_CONFIG_RESOURCE.id ? machine.config : undefined;
    if (text === undefined) {
        // cosi-project/runtime@v0.5.5:pkg/state/protobuf/server/server.go Get; the in-memory state's error text.
        throw status(grpc.status.NOT_FOUND, `resource ${req.type}(${req.namespace}/${req.id}@undefined) doesn't exist`);
    }
    return {
        resource: {
            metadata: { namespace: req.namespace, type: req.type, id: req.id, version: "1", phase: "running" },
            // The spec is the resource's own protobuf: MachineConfigSpec with the config as submitted.
            spec: { proto_spec: messages.machineConfigSpec.serialize({ yaml_marshalled: Buffer.from(text, "utf8") }) },
        },
    };
}

/**
 * What a node with this config answers: in order, Talos' checks for a config it cannot take
 * (it does not load; from v1.10, no v1alpha1 document).
 */
function loadable(text: string, minor: TalosMinor): void {
    const { documents, problems } = parseYamlDocuments(text);
    if (problems.length > 0 || documents.length === 0) throw status(grpc.status.INVALID_ARGUMENT, "failed to decode config: not valid YAML");
    const hasV1alpha1 = documents.some((d) => isPlainObject(d) && d.kind === undefined);
    if (!hasV1alpha1 && !["1.8", "1.9"].includes(minor)) {
        throw status(grpc.status.INVALID_ARGUMENT, "the applied machine configuration doesn't contain v1alpha1 config, did you mean to patch the machine config instead?");
    }
}

/** machined's mode switch (v1.13.9, outside maintenance mode; v1.14 when `reboots` is false). */
function chooseMode(
    machine: FakeMachine,
    minor: TalosMinor,
    reboots: boolean,
    asked: ApplyMode,
    next: string,
): { chosen: ApplyMode; details: string; modeErr: string } {
    const current = machine.config;
    if (!reboots) {
        if (asked === "reboot") throw status(grpc.status.UNIMPLEMENTED, "the REBOOT mode is not supported, please use AUTO or NO_REBOOT modes instead");
        if (asked === "staged") return { chosen: asked, details: "Staged configuration to be applied after the next reboot", modeErr: "" };
        return { chosen: asked === "auto" ? "no-reboot" : asked, details: "Applied configuration without a reboot", modeErr: "" };
    }
    const refusal = current === undefined ? "no current config" : immediateRefusal(machine, minor, current, next);
    switch (asked) {
        case "try":
        case "no-reboot":
            if (refusal !== undefined) throw status(grpc.status.INVALID_ARGUMENT, refusal);
            return { chosen: asked, details: "Applied configuration without a reboot", modeErr: "" };
        case "staged":
            return { chosen: asked, details: "Staged configuration to be applied after the next reboot", modeErr: "" };
        case "auto":
            if (refusal !== undefined) return { chosen: "reboot", details: "Applied configuration with a reboot", modeErr: `: ${refusal}` };
            return { chosen: "no-reboot", details: "Applied configuration without a reboot", modeErr: "" };
        case "reboot":
            return { chosen: asked, details: "Applied configuration with a reboot", modeErr: "" };
        default: {
            const unreachable: never = asked;
            throw new Error(`unknown mode ${String(unreachable)}`);
        }
    }
}

/** CanApplyImmediate's error text, or undefined when the change applies without a reboot. */
function immediateRefusal(machine: FakeMachine, minor: TalosMinor, current: string, next: string): string | undefined {
    const verdict = checkImmediate(minor, current, next);
    if (verdict.problem !== undefined) return verdict.problem;
    if (verdict.immediate && !machine.alwaysNeedsReboot) return undefined;
    return `this config change can't be applied in immediate mode\ndiff:\n${configDiff(current, next)}`;
}

function activate(machine: FakeMachine, text: string): void {
    if (machine.staleReadBack) return;
    machine.config = text;
    machine.onActivate?.(text);
}

/** A line diff in the unified shape Talos prints (not a minimal one): "" when the texts are equal. */
function configDiff(a: string, b: string): string {
    if (a === b) return "";
    const before = a.split("\n");
    const after = b.split("\n");
    const removed = before.filter((line) => !after.includes(line)).map((line) => `-${line}`);
    const added = after.filter((line) => !before.includes(line)).map((line) => `+${line}`);
    return `--- a\n+++ b\n@@ -1,${before.length} +1,${after.length} @@\n${[...removed, ...added].join("\n")}\n`;
}

function durationMs(d: { seconds: number | string; nanos: number }): number {
    return Number(d.seconds) * 1000 + Math.round(d.nanos / 1_000_000);
}

/** Go's time.Duration String for whole milliseconds: "1m0s", "1.5s", "500ms". */
function goDuration(ms: number): string {
    if (ms < 1000) return `${ms}ms`;
    const hours = Math.floor(ms / 3_600_000);
    const minutes = Math.floor((ms % 3_600_000) / 60_000);
    const seconds = String((ms % 60_000) / 1000);
    if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
    if (minutes > 0) return `${minutes}m${seconds}s`;
    return `${seconds}s`;
}

function status(code: grpc.status, details: string): Partial<grpc.ServiceError> {
    return { code, details };
}
