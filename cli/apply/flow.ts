// `apply`: make a running node run the machine config the stack declares, as `talosctl -n <node>
// apply-config` does (through the talosconfig's endpoint, `nodes` metadata; mode auto, its
// default: talos@v1.8.3:cmd/talosctl/pkg/talos/helpers/mode.go), reading the config back over
// COSI (`talosctl get machineconfig`, `node` metadata) until the node reports exactly what it was
// sent. A node that already runs the config costs one read. A Kubernetes version change goes
// first, image by image, as talosctl upgrade-k8s makes it (talos/k8supgrade.ts), each step
// applied without a reboot and read back, and, given a kubeconfig, waited for (kubewait.ts).
// In container mode a reboot ends the node's container (machined is PID 1 and calls reboot(2));
// Docker starts it again by its restart policy, and it boots from the config the apply wrote to
// /system/state.

import type { TalosApi } from "../../talos/api";
import { checkImmediate, rebootsOnApply } from "../../talos/applymode";
import { imageVersion, kubernetesUpgradeSteps } from "../../talos/k8supgrade";
import { nearestTalosMinor, parseTalosVersion } from "../../talos/versions";
import type { Clock } from "../context";
import { CliError, ExitCode } from "../exitcodes";
import { KUBECONFIG_ENV } from "../invocation";
import type { KubeApi } from "../kube/api";
import { Progress } from "../progress";
import { waitForComponent } from "./kubewait";
import { describePaths, differences, NodeSession, type NodeSessionOptions } from "./node";

export interface ApplyOptions extends NodeSessionOptions {
    /** the config the node must run, every document: a secret */
    desired: string;
    /**
     * Opens the Kubernetes API client when a Kubernetes version change needs it (the steps are
     * waited for); absent without a kubeconfig. The flow closes what it opened.
     */
    kube?: () => Promise<KubeApi>;
}

/** in-sync: nothing was sent; applied: it runs the config, changed in place; restarted: it restarted to run it. */
export type ApplyOutcome = "in-sync" | "applied" | "restarted";

export async function runApply(
    api: TalosApi,
    opts: ApplyOptions,
    out: (line: string) => void,
    clock: Clock,
): Promise<ApplyOutcome> {
    const session = new NodeSession(api, opts, new Progress("apply", out, clock), clock);
    const { node, progress } = session;

    const tag = await session.answer();
    progress.note(`${node} answers: Talos ${tag}`);
    const current = await session.readConfig();
    if (current === opts.desired) {
        progress.note(`done: ${node} already runs this config`);
        return "in-sync";
    }
    describeChange(session, tag, current, opts.desired);

    let running = current;
    const steps = kubernetesUpgradeSteps(current, opts.desired);
    if (steps.length > 0) {
        progress.note(
            `Kubernetes images change: ${steps.map((s) => `${s.component} ${imageVersion(s.image)}`).join(", ")}; ` +
                "applied one at a time in talosctl upgrade-k8s' order, each without a reboot",
        );
        const kube = await openKube(opts, progress);
        try {
            for (const step of steps) {
                await sendInPlace(session, step.config, step.component);
                running = step.config;
                if (kube !== undefined) await waitForComponent(kube, session, step);
            }
        } finally {
            kube?.close();
        }
    }
    if (running === opts.desired) {
        progress.note(`done: ${node} runs the new config`);
        return "applied";
    }
    const outcome = await sendAuto(session, opts.desired);
    progress.note(`done: ${node} runs the new config${outcome === "restarted" ? " (restarted)" : ""}`);
    return outcome;
}

/** What changes, by path, and whether Talos can apply it in place. */
function describeChange(session: NodeSession, tag: string, current: string, desired: string): void {
    const { node, progress } = session;
    progress.note(`${node} runs another config; it changes at ${describePaths(differences(current, desired))}`);
    const verdict = checkImmediate(nearestTalosMinor(parseTalosVersion(tag)), current, desired);
    const bootOnly = verdict.problem ?? describePaths(verdict.rebootPaths);
    if (verdict.immediate) {
        progress.note(`it applies in place: ${node} does not restart`);
    } else if (!rebootsOnApply(tag)) {
        progress.note(
            `it applies in place (Talos ${tag} applies every change without a reboot); ` +
                `what it reads only at boot (${bootOnly}) takes effect when ${session.container} next restarts`,
        );
    } else {
        progress.note(`it restarts ${node}: Talos applies ${bootOnly} only at boot`);
    }
}

/** A step of a Kubernetes version change: no-reboot, as upgrade-k8s sends it, then read back. */
async function sendInPlace(session: NodeSession, config: string, what: string): Promise<void> {
    const sent = await session.send(config, "no-reboot", what);
    if (sent.kind === "answered") session.progress.note(`${what}: ${sent.result.modeDetails}`);
    await session.readBack(config, false);
}

/** The whole config in mode auto; Talos picks no-reboot or reboot, and a reboot restarts the container. */
async function sendAuto(session: NodeSession, config: string): Promise<"applied" | "restarted"> {
    const { node, progress, container } = session;
    const sent = await session.send(config, "auto", "the config");
    if (sent.kind === "already-reported") {
        progress.note(`${node} already reports the config: an earlier attempt took it`);
        return "applied";
    }
    const { result } = sent;
    for (const warning of result.warnings) progress.note(`Talos warns: ${warning}`);
    switch (result.mode) {
        case "no-reboot":
        case "try":
            progress.note(`Talos chose ${result.mode}: ${result.modeDetails}`);
            await session.readBack(config, false);
            return "applied";
        case "reboot":
            progress.note(
                `Talos chose reboot: ${container} restarts ` +
                    "(its container ends and Docker starts it again by its restart policy); " +
                    `waiting for ${node} to answer with the new config`,
            );
            await session.readBack(config, true);
            return "restarted";
        case "staged":
        case "auto":
            throw new CliError(
                ExitCode.FAILED,
                `${node} answered the apply with mode ${result.mode}, which Talos does not choose for auto`,
            );
        default: {
            const unreachable: never = result.mode;
            throw new Error(`unknown mode ${String(unreachable)}`);
        }
    }
}

async function openKube(opts: ApplyOptions, progress: Progress): Promise<KubeApi | undefined> {
    if (opts.kube === undefined) {
        progress.note(
            `not waiting for the static pods and the kubelet to run the new images: ${KUBECONFIG_ENV} is not set`,
        );
        return undefined;
    }
    return opts.kube();
}
