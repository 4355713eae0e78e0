// The readiness verdict: the Talos-side and Kubernetes-side checks of one round, in Talos'
// order (talos@v1.8.3:pkg/cluster/check/default.go: the pre-boot-sequence checks, then the
// Kubernetes ones), as one answer — ready or not, what is waited for now, every problem with the
// nodes to look at, and what is not checked and why. Pure: `wait` and `status` both judge by it.

import { isLeaving, knownControlPlanes, type ExpectedCluster } from "./expected";
import { judgeKubernetes } from "./kube-checks";
import type { KubeObservation } from "./kuberead";
import type { ClusterProfile } from "./profile";
import type { CheckResult } from "./result";
import { judgeTalos, talosChecksSkipped } from "./talos-checks";
import type { TalosObservation } from "./talosread";

export interface ReadinessInput {
    kube: KubeObservation;
    /** the Talos side's reads, or why there are none (no talosconfig) */
    talos: TalosObservation | { skipped: string };
    expected: ExpectedCluster;
    profile: ClusterProfile;
    /** the Kubernetes API's URL, for the lines that name it */
    server: string;
}

export interface Verdict {
    ready: boolean;
    /** every check, in Talos' order */
    checks: CheckResult[];
    /** what is waited for now ("waiting for …"), for the progress line; empty when ready */
    state: string;
    /** why it is not there yet, short */
    reason?: string;
    /** everything that is not ready, one line each */
    problems: string[];
    /** node names worth reading the logs of; "*" when the API itself is down (all of them) */
    suspects: string[];
    /** node name → cluster-network address, as far as known */
    nodeIps: Record<string, string>;
    /** what holds, one line (when ready: the result) */
    summary: string;
    /** "not waiting for X: why", one a skipped check */
    notChecked: string[];
}

export function judgeReadiness(input: ReadinessInput): Verdict {
    const talos = "skipped" in input.talos
        ? talosChecksSkipped(input.talos.skipped)
        : judgeTalos(input.talos, knownControlPlanes(input.expected), (name) => isLeaving(input.expected, name));
    const kube = judgeKubernetes(input.kube, input.expected, input.profile, input.server);
    const checks = [...talos, ...kube];
    const open = checks.filter((c) => c.state === "waiting" || c.state === "pending");
    const first = open[0];
    const apiDown = kube[0]?.state !== "ok";
    const suspects = new Set<string>();
    for (const p of open.flatMap((c) => c.problems)) {
        for (const name of [...(p.node === undefined ? [] : [p.node]), ...(p.nodes ?? [])]) suspects.add(name);
    }
    return {
        ready: first === undefined,
        checks,
        state: first === undefined ? "" : `waiting for ${first.title}`,
        reason: first?.detail,
        problems: [
            ...open.flatMap((c) => c.problems.map((p) => p.text)),
            ...grouped(open.filter((c) => c.state === "pending"), (titles, why) => `not judged yet: ${titles} (${why})`),
        ],
        suspects: apiDown ? ["*"] : [...suspects],
        nodeIps: nodeIps(input),
        summary: checks.filter((c) => c.state === "ok").map((c) => c.detail).join(", "),
        notChecked: notChecked(checks),
    };
}

/** The skipped checks, those skipped for one reason on one line. */
function notChecked(checks: readonly CheckResult[]): string[] {
    return grouped(checks.filter((c) => c.state === "skipped"), (titles, why) => `not waiting for ${titles}: ${why}`);
}

/** One line for the checks of one detail. */
function grouped(checks: readonly CheckResult[], line: (titles: string, detail: string) => string): string[] {
    const byDetail = new Map<string, string[]>();
    for (const c of checks) byDetail.set(c.detail, [...(byDetail.get(c.detail) ?? []), c.title]);
    return [...byDetail].map(([detail, titles]) => line(titles.join(", "), detail));
}

function nodeIps(input: ReadinessInput): Record<string, string> {
    const ips: Record<string, string> = {};
    for (const n of input.expected.nodes) if (n.ip !== undefined) ips[n.name] = n.ip;
    if (Array.isArray(input.kube.nodes)) {
        for (const node of input.kube.nodes) {
            const ip = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
            if (ip !== undefined) ips[node.metadata.name] ??= ip;
        }
    }
    return ips;
}
