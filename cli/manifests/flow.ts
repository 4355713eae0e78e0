// `manifests`: the bootstrap manifest a Kubernetes version change must update and Talos does not.
// machined creates its bootstrap manifests once and never updates them (talos@v1.13.9:
// internal/app/machined/pkg/controllers/k8s/manifest_apply.go: an object that exists is skipped);
// talosctl upgrade-k8s syncs them last (pkg/cluster/kubernetes/talos_managed.go `Upgrade`). For a
// version change the one that differs is the kube-proxy DaemonSet's image; CoreDNS' is not
// touched by upgrade-k8s. So: set the `kube-proxy` container of kube-system/kube-proxy to the
// image Talos renders for the version, and wait for the rollout as upgrade-k8s waits
// (siderolabs/go-kubernetes@v0.2.12:kubernetes/manifests/rollout.go `waitForDaemonSetsRollout`:
// generation observed, and updated, current, available and ready pods all the desired number,
// for up to 5 minutes). A cluster without kube-proxy (the proxy disabled) has nothing to update.
//
// The change is a strategic merge patch of that one field, under a field manager of our own.
// Talos v1.13 creates the manifests by server-side apply as field manager `talos`, and its
// upgrade-k8s re-applies them so; a server-side apply of only the image as `talos` would drop
// every other field `talos` owns. A patch changes the image alone, and a later `talosctl
// upgrade-k8s` takes the field back (it forces ownership), while one before v1.13 replaces the
// object as rendered.

import { formatDuration } from "../../model/duration";
import { kubernetesImage, PROXY_IMAGE } from "../../talos/config/defaults";
import { imageVersion } from "../../talos/k8supgrade";
import type { Clock } from "../context";
import { CliError, ExitCode } from "../exitcodes";
import {
    daemonSetPath,
    KubeRequestError,
    STRATEGIC_MERGE_PATCH,
    type DaemonSet,
    type KubeApi,
    type KubeResponse,
} from "../kube/api";
import { Progress } from "../progress";
import { DeadlineReached, fixedInterval, retryUntil, type StepResult } from "../retry";

/** Our field manager for the image we set. */
export const FIELD_MANAGER = "talos-docker";

/** upgrade-k8s' bound on a DaemonSet rollout (rollout.go: `retry.Constant(5*time.Minute, …)`). */
export const ROLLOUT_WAIT_MS = 5 * 60_000;

const NAMESPACE = "kube-system";
const NAME = "kube-proxy";
const CONTAINER = "kube-proxy";
const POLL_MS = 500;

export interface ManifestsOptions {
    /** "1.31.2", no leading v */
    kubernetesVersion: string;
    timeoutMs: number;
    /** one request at most */
    requestTimeoutMs: number;
}

export type ManifestsOutcome = "updated" | "already" | "no-kube-proxy";

export async function runManifests(
    kube: KubeApi,
    opts: ManifestsOptions,
    out: (line: string) => void,
    clock: Clock,
): Promise<ManifestsOutcome> {
    const progress = new Progress("manifests", out, clock);
    const deadline = clock.now() + opts.timeoutMs;
    const image = kubernetesImage(PROXY_IMAGE, opts.kubernetesVersion);
    const version = imageVersion(image);
    const path = daemonSetPath(NAMESPACE, NAME);
    const where = `${NAMESPACE}/${NAME} at ${kube.server}`;
    const request = (remaining: number) => Math.min(opts.requestTimeoutMs, remaining);

    const read = `reading the DaemonSet ${where}`;
    progress.waiting(read);
    const reading = async (remaining: number): Promise<StepResult<DaemonSet | undefined>> => {
        const res = await kube.get(path, request(remaining));
        if (res.status === 404) return { done: true, value: undefined };
        return answered(res, `reading ${NAMESPACE}/${NAME}`);
    };
    const found = await until(`the Kubernetes API to answer for ${NAMESPACE}/${NAME}`, deadline, read, reading);
    if (found === undefined) {
        progress.note(`done: there is no DaemonSet ${NAMESPACE}/${NAME} (kube-proxy is disabled): nothing to update`);
        return "no-kube-proxy";
    }
    const running = found.spec?.template?.spec?.containers?.find((c) => c.name === CONTAINER)?.image;
    if (running === undefined) {
        const message = `the DaemonSet ${where} has no container ${CONTAINER}: ` +
            "it is not the one Talos made, so it is left alone";
        throw new CliError(ExitCode.FAILED, message);
    }

    const outcome: ManifestsOutcome = running === image ? "already" : "updated";
    if (outcome === "updated") {
        const patching = `setting ${CONTAINER} of ${NAMESPACE}/${NAME} to ${version} (it runs ${imageVersion(running)})`;
        progress.waiting(patching);
        const body = JSON.stringify({ spec: { template: { spec: { containers: [{ name: CONTAINER, image }] } } } });
        const patchPath = `${path}?fieldManager=${FIELD_MANAGER}`;
        await until(`the Kubernetes API to take the patch of ${NAMESPACE}/${NAME}`, deadline, patching, async (remaining) => {
            const res = await kube.patch(patchPath, body, STRATEGIC_MERGE_PATCH, request(remaining));
            return answered(res, `patching ${NAMESPACE}/${NAME}`);
        });
        progress.note(`set ${CONTAINER} of ${NAMESPACE}/${NAME} to ${version}`);
    } else {
        progress.note(`${NAMESPACE}/${NAME} already runs ${version}`);
    }

    const rolloutDeadline = Math.min(deadline, clock.now() + ROLLOUT_WAIT_MS);
    const rolling = `waiting for the rollout of ${NAMESPACE}/${NAME}`;
    progress.waiting(rolling);
    const bound = rolloutDeadline < deadline
        ? `${formatDuration(ROLLOUT_WAIT_MS)} (talosctl upgrade-k8s' bound)`
        : undefined;
    await until(`the rollout of ${NAMESPACE}/${NAME}`, rolloutDeadline, rolling, async (remaining) => {
        const res = await kube.get(path, request(remaining));
        const step = answered(res, `reading ${NAMESPACE}/${NAME}`);
        if (!step.done) return step;
        const missing = rolloutState(step.value);
        if (missing === undefined) return { done: true, value: undefined };
        progress.waiting(rolling, missing);
        return { done: false, reason: missing };
    }, bound);
    progress.note(`done: ${NAMESPACE}/${NAME} runs ${version} on every node it schedules`);
    return outcome;

    /** retryUntil with progress for retryable failures; the deadline becomes exit 4. */
    async function until<T>(
        what: string,
        by: number,
        state: string,
        step: (remaining: number) => Promise<StepResult<T>>,
        boundText?: string,
    ): Promise<T> {
        try {
            return await retryUntil(clock, by, fixedInterval(POLL_MS), async (remaining) => {
                try {
                    const result = await step(remaining);
                    if (!result.done) progress.waiting(state, result.reason);
                    return result;
                } catch (err) {
                    if (err instanceof KubeRequestError && err.kind === "retryable") {
                        progress.waiting(state, err.reason);
                        return { done: false, reason: err.reason };
                    }
                    if (err instanceof KubeRequestError) throw new CliError(ExitCode.FATAL, err.message);
                    throw err;
                }
            });
        } catch (err) {
            if (!(err instanceof DeadlineReached)) throw err;
            throw new CliError(
                ExitCode.TIMEOUT,
                `timed out after ${boundText ?? formatDuration(opts.timeoutMs)} waiting for ${what}` +
                    `${err.lastReason ? ` (last: ${err.lastReason})` : ""}.\n` +
                    `See \`kubectl -n ${NAMESPACE} rollout status daemonset/${NAME}\` and ` +
                    `\`kubectl -n ${NAMESPACE} get pods -l k8s-app=${NAME} -o wide\`.`,
            );
        }
    }
}

/** The DaemonSet of a 200 answer; another status is worth retrying, except what waiting cannot change. */
function answered(res: KubeResponse, what: string): StepResult<DaemonSet> {
    if (res.status === 200) {
        try {
            return { done: true, value: JSON.parse(res.body) as DaemonSet };
        } catch {
            return { done: false, reason: "the answer is not JSON" };
        }
    }
    // A request the API server will refuse every time (a patch it cannot take, a bad path).
    if ([400, 404, 405, 415, 422].includes(res.status)) {
        const message = `${what}: the Kubernetes API answered HTTP ${res.status}${statusMessage(res.body)}`;
        throw new CliError(ExitCode.FAILED, message);
    }
    return { done: false, reason: `HTTP ${res.status}` };
}

/** A Kubernetes Status' message, when the body is one. */
function statusMessage(body: string): string {
    try {
        const message = (JSON.parse(body) as { message?: unknown }).message;
        return typeof message === "string" && message !== "" ? ` (${message})` : "";
    } catch {
        return "";
    }
}

/** Why the rollout is not complete, or undefined once it is (rollout.go's checks, in its order). */
function rolloutState(ds: DaemonSet): string | undefined {
    const s = ds.status ?? {};
    const desired = s.desiredNumberScheduled ?? 0;
    if ((ds.metadata.generation ?? 0) !== (s.observedGeneration ?? 0)) return "the controller has not seen the change yet";
    const counts: [number | undefined, string][] = [
        [s.updatedNumberScheduled, "updated"],
        [s.currentNumberScheduled, "scheduled"],
        [s.numberAvailable, "available"],
        [s.numberReady, "ready"],
    ];
    const short = counts.find(([n]) => (n ?? 0) !== desired);
    return short === undefined ? undefined : `${short[0] ?? 0} of ${desired} pods ${short[1]}`;
}
