// Between the steps of a Kubernetes version change, what talosctl upgrade-k8s waits for before
// the next one (talos@v1.8.3:pkg/cluster/kubernetes/talos_managed.go `checkPodStatus`, kubelet.go
// `checkNodeKubeletVersion`): the node's static pod of the component — the kube-system pod
// labelled `k8s-app=<component>` whose host IP is the node — running the new image and Ready
// (for up to 5 minutes), and after the kubelet step the Node with that address reporting the new
// kubelet version and Ready (for up to 3 minutes). Talos matches the pod by its static-pod config
// version, which the Kubernetes API does not show us; the image is what the step changed.

import { formatDuration } from "../../model/duration";
import { imageVersion, type KubernetesStep } from "../../talos/k8supgrade";
import { CliError, ExitCode } from "../exitcodes";
import { kubeSystemPodsOf, KubeRequestError, PATHS, type KubeApi, type List, type Node, type Pod } from "../kube/api";
import { DeadlineReached, fixedInterval, retryUntil, type StepResult } from "../retry";
import type { NodeSession } from "./node";

/**
 * upgrade-k8s' bounds (talos_managed.go: `context.WithTimeout(ctx, 5*time.Minute)`; kubelet.go:
 * `retry.Constant(3*time.Minute, …)`).
 */
export const STATIC_POD_WAIT_MS = 5 * 60_000;
export const KUBELET_WAIT_MS = 3 * 60_000;

/** Between polls of the Kubernetes API (as `wait` polls it). */
const POLL_MS = 500;
/** One request at most. */
const REQUEST_MS = 5_000;

/**
 * Waits until the node runs what `step` changed, as upgrade-k8s does; kube-proxy has no wait there
 * (its DaemonSet is updated last).
 */
export async function waitForComponent(kube: KubeApi, session: NodeSession, step: KubernetesStep): Promise<void> {
    const version = imageVersion(step.image);
    switch (step.component) {
        case "kube-apiserver":
        case "kube-controller-manager":
        case "kube-scheduler":
            return poll(
                kube,
                session,
                STATIC_POD_WAIT_MS,
                `the ${step.component} pod on ${session.node} to run ${version} and be Ready`,
                async (timeoutMs) => {
                    const pods = await list<Pod>(kube, kubeSystemPodsOf(step.component), timeoutMs);
                    return staticPodState(pods, step, session.node);
                },
                `kubectl -n kube-system get pods -l k8s-app=${step.component} -o wide`,
            );
        case "kube-proxy":
            return;
        case "kubelet":
            return poll(
                kube,
                session,
                KUBELET_WAIT_MS,
                `the Node ${session.node} to report kubelet ${version} and be Ready`,
                async (timeoutMs) => kubeletState(await list<Node>(kube, PATHS.nodes, timeoutMs), version, session.node),
                "kubectl get nodes -o wide",
            );
        default: {
            const unreachable: never = step.component;
            throw new Error(`unknown component ${String(unreachable)}`);
        }
    }
}

/** Why the static pod is not there yet, or undefined once it runs the step's image and is Ready. */
function staticPodState(pods: Pod[] | string, step: KubernetesStep, node: string): string | undefined {
    if (typeof pods === "string") return pods;
    const pod = pods.find((p) => p.status?.hostIP === node && p.metadata.deletionTimestamp === undefined);
    if (pod === undefined) return "no pod on the node yet";
    const image = pod.spec?.containers?.find((c) => c.name === step.component)?.image;
    if (image !== step.image) return `it runs ${image === undefined ? "no such container" : imageVersion(image)}`;
    return isReady(pod.status?.conditions) ? undefined : "not Ready";
}

/** Why the Node is not there yet, or undefined once its kubelet reports `version` and it is Ready. */
function kubeletState(nodes: Node[] | string, version: string, node: string): string | undefined {
    if (typeof nodes === "string") return nodes;
    const found = nodes.find((n) => n.status?.addresses?.some((a) => a.address === node));
    if (found === undefined) return "no Node with this address";
    const reported = found.status?.nodeInfo?.kubeletVersion;
    if (reported !== version) return `its kubelet reports ${reported ?? "no version"}`;
    return isReady(found.status?.conditions) ? undefined : "not Ready";
}

function isReady(conditions: { type: string; status: string }[] | undefined): boolean {
    return conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Polls `state` until it says nothing is missing, within `boundMs` and the command's deadline. */
async function poll(
    kube: KubeApi,
    session: NodeSession,
    boundMs: number,
    what: string,
    state: (timeoutMs: number) => Promise<string | undefined>,
    inspect: string,
): Promise<void> {
    const started = session.clock.now();
    const deadline = Math.min(session.deadline, started + boundMs);
    const waiting = `waiting for ${what}`;
    session.progress.waiting(waiting);
    try {
        await retryUntil(session.clock, deadline, fixedInterval(POLL_MS), async (remaining) => {
            const missing = await state(Math.min(REQUEST_MS, remaining));
            if (missing === undefined) return { done: true, value: undefined } satisfies StepResult<void>;
            session.progress.waiting(waiting, missing);
            return { done: false, reason: missing } satisfies StepResult<void>;
        });
    } catch (err) {
        if (!(err instanceof DeadlineReached)) throw err;
        const bound = deadline < session.deadline
            ? `${formatDuration(boundMs)} (talosctl upgrade-k8s' bound)`
            : `${formatDuration(deadline - started)} (what was left of --timeout)`;
        throw new CliError(
            ExitCode.TIMEOUT,
            `timed out after ${bound} waiting for ${what}${err.lastReason ? ` (last: ${err.lastReason})` : ""}, ` +
                `at the Kubernetes API ${kube.server}.\n` +
                `See \`${inspect}\` and the node's kubelet log (talosctl -n ${session.node} logs kubelet).\n` +
                session.logAdvice(),
        );
    }
}

/** A list's items, or why there are none; 401/403 and TLS failures end the command (exit 3). */
async function list<T>(kube: KubeApi, path: string, timeoutMs: number): Promise<T[] | string> {
    try {
        const res = await kube.get(path, timeoutMs);
        if (res.status !== 200) return `the Kubernetes API answered HTTP ${res.status}`;
        return (JSON.parse(res.body) as List<T>).items ?? [];
    } catch (err) {
        if (err instanceof KubeRequestError && err.kind === "retryable") return err.reason;
        if (err instanceof KubeRequestError) throw new CliError(ExitCode.FATAL, err.message);
        if (err instanceof SyntaxError) return "the Kubernetes API answered with something that is not JSON";
        throw err;
    }
}
