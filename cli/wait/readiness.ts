// When is the cluster usable? Pure judgement of one observation, after the checks of
// talos@v1.8.3:pkg/cluster/check/default.go that concern Kubernetes: the API is ready, all
// nodes are Ready, and kube-proxy, CoreDNS and the CNI report ready. The verdict carries both
// the one-line progress state and, for a timeout, every problem and the nodes to look at.

import type { Node, Pod } from "../kube/api";

/** The kube-system workloads Talos deploys, by their `k8s-app` label. */
export interface SystemComponent {
    name: string;
    label: string;
    /** a DaemonSet: one ready pod per node */
    perNode: boolean;
}

export const SYSTEM_COMPONENTS: readonly SystemComponent[] = [
    // Deployment coredns (talos@v1.8.3:internal/app/machined/pkg/controllers/k8s/templates/core-dns-template.yaml)
    { name: "CoreDNS", label: "kube-dns", perNode: false },
    // DaemonSet kube-proxy (…/templates/kube-proxy-template.yaml)
    { name: "kube-proxy", label: "kube-proxy", perNode: true },
    // DaemonSet kube-flannel, Talos' default CNI (talos@v1.8.3:pkg/flannel/template.go)
    { name: "flannel", label: "flannel", perNode: true },
];

/** One poll's view of the cluster; a part is an error reason when it could not be read. */
export interface Observation {
    api: { ok: true } | { ok: false; reason: string; timedOut?: boolean };
    nodes?: Node[] | string;
    pods?: Pod[] | string;
}

export interface Verdict {
    ready: boolean;
    /** what we wait for now, for the progress line */
    state: string;
    /** why it is not there yet, short */
    reason?: string;
    /** everything that is not ready, one item each, for the timeout message */
    problems: string[];
    /** node names worth reading logs of; "*" when the API itself is down (all of them) */
    suspects: string[];
    /** node name → InternalIP, as far as known */
    nodeIps: Record<string, string>;
    /** the one-line summary when ready */
    summary: string;
}

/**
 * `containers` are the node names we expect (node containers are named after their nodes), to
 * name the ones that have not registered; it may be empty.
 */
export function judge(obs: Observation, expectedNodes: number, server: string, containers: readonly string[] = []): Verdict {
    if (!obs.api.ok) {
        return {
            ready: false,
            state: `waiting for the Kubernetes API at ${server}`,
            reason: obs.api.reason,
            problems: [`the Kubernetes API at ${server} is not ready: ${obs.api.reason}`],
            suspects: ["*"],
            nodeIps: {},
            summary: "",
        };
    }
    const problems: string[] = [];
    const suspects = new Set<string>();
    const nodeIps: Record<string, string> = {};

    // Nodes.
    let readyNodes = 0;
    let nodesOk = false;
    let nodeState = "";
    if (typeof obs.nodes === "string" || obs.nodes === undefined) {
        problems.push(`nodes could not be listed: ${obs.nodes ?? "not read"}`);
        nodeState = `nodes unknown (${obs.nodes ?? "not read"})`;
    } else {
        const notReady: string[] = [];
        for (const node of obs.nodes) {
            const name = node.metadata.name;
            const ip = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
            if (ip) nodeIps[name] = ip;
            const ready = node.status?.conditions?.find((c) => c.type === "Ready");
            if (ready?.status === "True") {
                readyNodes++;
                continue;
            }
            notReady.push(name);
            suspects.add(name);
            const why = ready ? [ready.reason, ready.message].filter(Boolean).join(": ") : "no Ready condition yet";
            problems.push(`node ${name} is NotReady (${clip(why)})`);
        }
        if (obs.nodes.length < expectedNodes) {
            const names = new Set(obs.nodes.map((n) => n.metadata.name));
            const missing = containers.filter((c) => !names.has(c));
            for (const m of missing) suspects.add(m);
            problems.push(`only ${obs.nodes.length} of ${expectedNodes} nodes have registered${missing.length > 0 ? ` (missing: ${missing.join(", ")})` : ""}`);
        }
        nodesOk = notReady.length === 0 && obs.nodes.length >= expectedNodes;
        nodeState = `${readyNodes}/${expectedNodes} nodes Ready`;
        if (notReady.length > 0) nodeState += ` (NotReady: ${notReady.join(", ")})`;
    }

    // kube-system pods.
    const podStates: string[] = [];
    let podsReady = true;
    if (typeof obs.pods === "string" || obs.pods === undefined) {
        problems.push(`kube-system pods could not be listed: ${obs.pods ?? "not read"}`);
        podsReady = false;
        podStates.push("pods unknown");
    } else {
        for (const component of SYSTEM_COMPONENTS) {
            const live = obs.pods.filter((p) => p.metadata.labels?.["k8s-app"] === component.label && !p.metadata.deletionTimestamp);
            const ready = live.filter(podReady);
            const want = component.perNode ? expectedNodes : 1;
            podStates.push(`${component.name} ${ready.length}/${Math.max(want, live.length)}`);
            if (ready.length === live.length && ready.length >= want) continue;
            podsReady = false;
            if (live.length === 0) {
                problems.push(`${component.name}: no pods in kube-system with k8s-app=${component.label} yet`);
            } else if (live.length < want) {
                problems.push(`${component.name}: ${live.length} of ${want} pods exist`);
            }
            for (const pod of live.filter((p) => !podReady(p))) {
                const on = pod.spec?.nodeName;
                if (on) suspects.add(on);
                problems.push(`pod kube-system/${pod.metadata.name}${on ? ` on ${on}` : ""} is not ready (${podWhy(pod)})`);
            }
        }
    }

    const podSummary = podStates.join(", ");
    if (nodesOk && podsReady) {
        return { ready: true, state: "", problems: [], suspects: [], nodeIps, summary: `API ready, ${nodeState}, ${podSummary} ready` };
    }
    return {
        ready: false,
        state: nodesOk ? `waiting for kube-system pods: ${podSummary} ready` : `waiting for nodes: ${nodeState}`,
        problems,
        suspects: [...suspects],
        nodeIps,
        summary: "",
    };
}

function podReady(pod: Pod): boolean {
    return pod.status?.phase === "Running" && pod.status.conditions?.find((c) => c.type === "Ready")?.status === "True";
}

/** "Pending: ContainerCreating", "Running: CrashLoopBackOff", … */
function podWhy(pod: Pod): string {
    const phase = pod.status?.phase ?? "Unknown";
    const waiting = (pod.status?.containerStatuses ?? [])
        .map((c) => c.state?.waiting?.reason ?? c.state?.terminated?.reason)
        .filter((r): r is string => r !== undefined);
    if (waiting.length > 0) return `${phase}: ${[...new Set(waiting)].join(", ")}`;
    const cond = pod.status?.conditions?.find((c) => c.status !== "True" && c.reason);
    return cond ? `${phase}: ${cond.reason}` : phase;
}

/** Kubelet messages run long; a problem stays one readable line. */
function clip(text: string, max = 240): string {
    const one = text.replace(/\s+/g, " ").trim();
    return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
