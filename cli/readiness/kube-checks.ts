// The Kubernetes side of Talos' default cluster checks, judged from one KubeObservation (pure):
// talos@v1.8.3 and v1.13.9:pkg/cluster/check/default.go `K8sComponentsReadinessChecks` and the
// checks after it, in their order — every node reported (kubernetes.go `K8sAllNodesReportedAssertion`),
// the control-plane static pods on every control plane and ready (`K8sFullControlPlaneAssertion`;
// Talos reads the StaticPodStatus resources, we read their mirror pods, which the kubelet
// writes from the same pods), every node Ready, kube-proxy and CoreDNS when present
// (`DaemonSetPresent`, `DeploymentPresent`, `K8sPodReadyAssertion`), every node schedulable.
// Before them, the API must answer /readyz (Talos' checks need a working client). Beyond Talos,
// the CNI's pods when it is Talos' flannel.
//
// Where the minors differ: from v1.13 Talos skips "nodes Ready" and "CoreDNS" when the config's
// CNI is `none` (default.go `cniDisabledStatus`); v1.8 – v1.12 wait for them, which never ends
// on a cluster that installs its CNI later. We skip them on every minor, as v1.13 does: a
// `cni: none` cluster waits for the API and for its nodes to register, and says so.

import type { DaemonSet, Deployment, Node, Pod } from "../kube/api";
import { CONTROL_PLANE_LABEL, CONTROL_PLANE_PODS, COREDNS, FLANNEL, KUBE_PROXY, type SystemWorkload } from "./components";
import { isLeaving, knownControlPlanes, type ExpectedCluster } from "./expected";
import type { KubeObservation } from "./kuberead";
import { counts, podAdvice, podReady, podWhy, skippedBecause } from "./pods";
import { PROFILE_KEYS, type ClusterProfile } from "./profile";
import { clip, KUBE_CHECK_IDS, ok, pending, skipped, waiting, type CheckResult, type Problem } from "./result";


export type KubeCheckId = (typeof KUBE_CHECK_IDS)[number];

/** What each waits for, in the words of Talos' conditions. */
export const KUBE_TITLES: Readonly<Record<KubeCheckId, string>> = {
    "api-ready": "the Kubernetes API to be ready", // with its URL: apiTitle
    "nodes-reported": "all k8s nodes to report",
    "static-pods": "all control plane static pods to be running",
    "control-plane-ready": "all control plane components to be ready",
    "nodes-ready": "all k8s nodes to report ready",
    "kube-proxy": "kube-proxy to report ready",
    coredns: "coredns to report ready",
    cni: "flannel to report ready",
    "nodes-schedulable": "all k8s nodes to report schedulable",
};

/** Why a `cni: none` cluster does not wait for Ready nodes. */
export const CNI_NONE_SKIP = `${PROFILE_KEYS.cni} is none: nodes stay NotReady until a CNI is installed, `
    + "so only their registration is waited for";

export function judgeKubernetes(obs: KubeObservation, expected: ExpectedCluster, profile: ClusterProfile, server: string): CheckResult[] {
    if (!obs.api.ok) {
        const api = waiting("api-ready", apiTitle(server), [{
            text: `the Kubernetes API at ${server} is not ready: ${obs.api.reason}`,
            read: ["docker logs <first control plane>", "talosctl -n <first control plane ip> service etcd"],
        }], obs.api.reason);
        return [api, ...KUBE_CHECK_IDS.slice(1).map((id) => pending(id, KUBE_TITLES[id], "the API is not ready"))];
    }
    // A node being removed is not judged: its removal runs after this wait (expected.ts isLeaving).
    const leaving = Array.isArray(obs.nodes) ? obs.nodes.filter((n) => isLeaving(expected, n.metadata.name)) : [];
    const nodes = Array.isArray(obs.nodes) ? obs.nodes.filter((n) => !leaving.includes(n)) : obs.nodes;
    const cniNone = profile.cni === "none";
    const nodeChecks = (fn: (nodes: Node[]) => CheckResult, id: KubeCheckId) =>
        Array.isArray(nodes) ? fn(nodes) : pending(id, KUBE_TITLES[id], `nodes could not be listed: ${nodes ?? "not read"}`);
    return [
        ok("api-ready", apiTitle(server), "API ready"),
        nodeChecks((n) => nodesReported(n, expected, leaving.map((l) => l.metadata.name)), "nodes-reported"),
        ...controlPlaneChecks(nodes, obs.pods, expected),
        cniNone
            ? skipped("nodes-ready", KUBE_TITLES["nodes-ready"], CNI_NONE_SKIP)
            : nodeChecks((n) => nodesReady(n, expected), "nodes-ready"),
        workloadCheck("kube-proxy", KUBE_PROXY, profile.kubeProxy, PROFILE_KEYS.kubeProxy, obs),
        cniNone
            ? skipped("coredns", KUBE_TITLES.coredns, `${PROFILE_KEYS.cni} is none: CoreDNS cannot be ready without a CNI`)
            : workloadCheck("coredns", COREDNS, profile.coreDns, PROFILE_KEYS.coreDns, obs),
        cniCheck(profile, obs),
        nodeChecks(nodesSchedulable, "nodes-schedulable"),
    ];
}

/** The API check names the server it waits for. */
function apiTitle(server: string): string {
    return `the Kubernetes API at ${server} to be ready`;
}

function internalIp(node: Node | undefined): string | undefined {
    return node?.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
}

function talosctlKubelet(name: string, ip: string | undefined): string {
    return `talosctl -n ${ip ?? `<ip of ${name}>`} logs kubelet`;
}

/**
 * Every expected node has a Node object, and no Node is a stranger (Talos' NodesMatch), but for
 * the `leaving` ones (being removed), which are named in the result.
 */
function nodesReported(nodes: Node[], expected: ExpectedCluster, leaving: readonly string[]): CheckResult {
    const id = "nodes-reported";
    const title = KUBE_TITLES[id];
    const names = new Set(nodes.map((n) => n.metadata.name));
    const problems: Problem[] = [];
    if (nodes.length < expected.count) {
        const missing = expected.nodes.filter((n) => !names.has(n.name));
        const list = missing.length > 0 ? ` (missing: ${missing.map((n) => n.name).join(", ")})` : "";
        problems.push({
            text: `only ${nodes.length} of ${expected.count} nodes have registered${list}`,
            nodes: missing.map((n) => n.name),
            read: missing.length > 0
                ? missing.flatMap((n) => [`docker logs ${n.name}`, talosctlKubelet(n.name, n.ip)])
                : ["docker logs <node container>"],
        });
    }
    // Only when every node is known by name can a Node be called a stranger.
    if (expected.nodes.length === expected.count) {
        const known = new Set(expected.nodes.map((n) => n.name));
        for (const node of nodes.filter((n) => !known.has(n.metadata.name))) {
            const name = node.metadata.name;
            problems.push({
                text: `node ${name} is not one of the cluster's ${expected.count} nodes (left behind by a removed node?)`,
                node: name,
                read: [`kubectl describe node ${name}`, `kubectl delete node ${name}`],
            });
        }
    }
    const beingRemoved = leaving.length === 0 ? "" : `; leaving, removed after this wait: ${leaving.join(", ")}`;
    if (problems.length > 0) {
        return waiting(id, title, problems, `${nodes.length}/${expected.count} nodes registered${beingRemoved}`);
    }
    return ok(id, title, `${nodes.length}/${expected.count} nodes registered${beingRemoved}`);
}

/** The control planes by name: the known ones, else the Nodes labelled as control planes. */
function controlPlaneNames(nodes: Node[], expected: ExpectedCluster): string[] {
    const known = knownControlPlanes(expected);
    if (known !== undefined) return known.map((n) => n.name);
    return nodes.filter((n) => n.metadata.labels?.[CONTROL_PLANE_LABEL] !== undefined).map((n) => n.metadata.name);
}

/** The three static pods on every control plane (running), then ready. */
function controlPlaneChecks(nodes: KubeObservation["nodes"], pods: KubeObservation["pods"], expected: ExpectedCluster): CheckResult[] {
    const runningTitle = KUBE_TITLES["static-pods"];
    const readyTitle = KUBE_TITLES["control-plane-ready"];
    if (!Array.isArray(pods) || !Array.isArray(nodes)) {
        const why = !Array.isArray(pods)
            ? `kube-system pods could not be listed: ${pods ?? "not read"}`
            : `nodes could not be listed: ${nodes ?? "not read"}`;
        return [pending("static-pods", runningTitle, why), pending("control-plane-ready", readyTitle, why)];
    }
    const cps = controlPlaneNames(nodes, expected);
    if (cps.length === 0) {
        // Without roles (by hand) nothing says which nodes must run them.
        const why = `no control plane is known (no roles given, no Node labelled ${CONTROL_PLANE_LABEL})`;
        return [skipped("static-pods", runningTitle, why), skipped("control-plane-ready", readyTitle, why)];
    }
    const missing: Problem[] = [];
    const notReady: Problem[] = [];
    const ipOf = (name: string) =>
        expected.nodes.find((n) => n.name === name)?.ip ?? internalIp(nodes.find((n) => n.metadata.name === name));
    for (const cp of cps) {
        const ip = ipOf(cp) ?? `<ip of ${cp}>`;
        for (const app of CONTROL_PLANE_PODS) {
            const found = pods.filter((p) => p.metadata.labels?.["k8s-app"] === app && p.spec?.nodeName === cp && counts(p));
            if (found.length === 0) {
                missing.push({
                    text: `${app} is not running on ${cp} (no mirror pod ${app}-${cp} yet)`,
                    node: cp,
                    read: [`talosctl -n ${ip} get staticpodstatus`, `talosctl -n ${ip} logs kubelet`],
                });
                continue;
            }
            for (const pod of found.filter((p) => !podReady(p))) {
                notReady.push({
                    text: `pod kube-system/${pod.metadata.name} on ${cp} is not ready (${podWhy(pod)})`,
                    node: cp,
                    read: podAdvice(pod),
                });
            }
        }
    }
    const total = cps.length * CONTROL_PLANE_PODS.length;
    const running = missing.length > 0
        ? waiting("static-pods", runningTitle, missing, `${total - missing.length}/${total} static pods running`)
        : ok("static-pods", runningTitle, `${total}/${total} static pods running`);
    if (missing.length > 0) return [running, pending("control-plane-ready", readyTitle, "not every static pod is running")];
    const ready = notReady.length > 0
        ? waiting("control-plane-ready", readyTitle, notReady, `${total - notReady.length}/${total} control plane pods ready`)
        : ok("control-plane-ready", readyTitle, `control plane ${total}/${total} ready`);
    return [running, ready];
}

/** The expected nodes Ready (every Node when none is known by name). */
function nodesReady(nodes: Node[], expected: ExpectedCluster): CheckResult {
    const id = "nodes-ready";
    const title = KUBE_TITLES[id];
    const known = new Set(expected.nodes.map((n) => n.name));
    const judged = expected.nodes.length === expected.count ? nodes.filter((n) => known.has(n.metadata.name)) : nodes;
    const problems: Problem[] = [];
    let ready = 0;
    for (const node of judged) {
        const name = node.metadata.name;
        const condition = node.status?.conditions?.find((c) => c.type === "Ready");
        if (condition?.status === "True") {
            ready++;
            continue;
        }
        const why = condition ? [condition.reason, condition.message].filter(Boolean).join(": ") : "no Ready condition yet";
        problems.push({
            text: `node ${name} is NotReady (${clip(why)})`,
            node: name,
            read: [`kubectl describe node ${name}`, talosctlKubelet(name, internalIp(node))],
        });
    }
    const detail = `${ready}/${expected.count} nodes Ready`;
    if (problems.length > 0) {
        const names = problems.map((p) => p.node).join(", ");
        return waiting(id, title, problems, `${detail} (NotReady: ${names})`);
    }
    if (ready < expected.count) return pending(id, title, `${detail} (not every node has registered)`);
    return ok(id, title, detail);
}

/** No node cordoned (K8sAllNodesSchedulableAssertion). */
function nodesSchedulable(nodes: Node[]): CheckResult {
    const id = "nodes-schedulable";
    const title = KUBE_TITLES[id];
    const cordoned = nodes.filter((n) => n.spec?.unschedulable === true);
    if (cordoned.length === 0) return ok(id, title, `${nodes.length}/${nodes.length} schedulable`);
    return waiting(id, title, cordoned.map((n) => ({
        text: `node ${n.metadata.name} is cordoned (unschedulable)`,
        node: n.metadata.name,
        read: [`kubectl describe node ${n.metadata.name}`, `kubectl uncordon ${n.metadata.name}`],
    })));
}

/** The CNI's pods, when the CNI is Talos' flannel. */
function cniCheck(profile: ClusterProfile, obs: KubeObservation): CheckResult {
    const title = KUBE_TITLES.cni;
    switch (profile.cni) {
        case "none":
            return skipped("cni", title, `${PROFILE_KEYS.cni} is none: there is no CNI to wait for`);
        case "custom":
            return skipped("cni", title, `${PROFILE_KEYS.cni} is custom: its pods are not known here (nodes Ready shows it works)`);
        case "flannel":
            return workloadCheck("cni", FLANNEL, true, PROFILE_KEYS.cni, obs);
        case undefined:
            return workloadCheck("cni", FLANNEL, undefined, PROFILE_KEYS.cni, obs);
        default: {
            const never: never = profile.cni;
            throw new Error(`unknown CNI ${String(never)}`);
        }
    }
}

/** A workload as listed: absent, or present with the pod count it wants (undefined: not counted yet). */
type Listed = { found: false } | { found: true; wanted: number | undefined };

/** The kube-system DaemonSet of `workload`, as its controller counts it (status.desiredNumberScheduled). */
function listedDaemonSet(workload: SystemWorkload, list: readonly DaemonSet[]): Listed {
    const ds = list.find((o) => o.metadata.labels?.["k8s-app"] === workload.app);
    if (ds === undefined) return { found: false };
    const desired = ds.status?.desiredNumberScheduled;
    return { found: true, wanted: desired === undefined || desired === 0 ? undefined : desired };
}

/** The kube-system Deployment of `workload`: its replicas (the API server defaults them to 1). */
function listedDeployment(workload: SystemWorkload, list: readonly Deployment[]): Listed {
    const deployment = list.find((o) => o.metadata.labels?.["k8s-app"] === workload.app);
    return deployment === undefined ? { found: false } : { found: true, wanted: deployment.spec?.replicas ?? 1 };
}

function listed(
    workload: SystemWorkload,
    daemonSets: KubeObservation["daemonSets"],
    deployments: KubeObservation["deployments"],
): Listed | string {
    switch (workload.kind) {
        case "DaemonSet":
            return Array.isArray(daemonSets)
                ? listedDaemonSet(workload, daemonSets)
                : `kube-system DaemonSets could not be listed: ${daemonSets ?? "not read"}`;
        case "Deployment":
            return Array.isArray(deployments)
                ? listedDeployment(workload, deployments)
                : `kube-system Deployments could not be listed: ${deployments ?? "not read"}`;
        default: {
            const never: never = workload.kind;
            throw new Error(`unknown kind ${String(never)}`);
        }
    }
}

/**
 * A kube-system workload's pods ready (K8sPodReadyAssertion): as many ready pods as the workload
 * wants (a DaemonSet's desiredNumberScheduled, a Deployment's replicas), none counting and not
 * ready. `deployed`: what the config says (false: skipped; true: waited for even before its
 * object exists; undefined: checked only when the object exists, as Talos does).
 */
function workloadCheck(
    id: "kube-proxy" | "coredns" | "cni",
    workload: SystemWorkload,
    deployed: boolean | undefined,
    key: string,
    obs: KubeObservation,
): CheckResult {
    const title = KUBE_TITLES[id];
    if (deployed === false) return skipped(id, title, `the config does not deploy ${workload.name} (${key})`);
    const state = listed(workload, obs.daemonSets, obs.deployments);
    const pods = obs.pods;
    if (typeof state === "string") return pending(id, title, state);
    if (!Array.isArray(pods)) return pending(id, title, `kube-system pods could not be listed: ${pods ?? "not read"}`);
    if (!state.found) {
        if (deployed === undefined) return skipped(id, title, `no ${workload.kind} ${workload.objectName} in kube-system`);
        return waiting(id, title, [{
            text: `${workload.name}: no ${workload.kind} ${workload.objectName} in kube-system yet`,
            read: ["talosctl -n <first control plane ip> get manifests", "talosctl -n <first control plane ip> logs controller-runtime"],
        }]);
    }
    const wanted = state.wanted;
    const ours = pods.filter((p) => p.metadata.labels?.["k8s-app"] === workload.app);
    const counted = ours.filter(counts);
    const ready = counted.filter(podReady);
    const detail = `${workload.name} ${ready.length}/${wanted ?? "?"}`;
    const describe = `kubectl -n kube-system describe ${workload.kind.toLowerCase()} ${workload.objectName}`;
    const problems: Problem[] = counted.filter((p) => !podReady(p)).map((pod) => {
        const on = pod.spec?.nodeName;
        const text = `pod kube-system/${pod.metadata.name}${on ? ` on ${on}` : ""} is not ready (${podWhy(pod)})`;
        return { text, node: on, read: podAdvice(pod) };
    });
    if (problems.length === 0 && wanted === undefined) {
        problems.push({ text: `${workload.name}: the ${workload.kind} controller has not counted its pods yet`, read: [describe] });
    } else if (problems.length === 0 && ready.length === 0) {
        problems.push({ text: `${workload.name}: no pods in kube-system with k8s-app=${workload.app} yet`, read: [describe] });
    } else if (problems.length === 0 && ready.length !== wanted) {
        problems.push({
            text: `${workload.name}: ${ready.length} of ${wanted} pods ready`,
            read: [`kubectl -n kube-system get pods -l k8s-app=${workload.app} -o wide`],
        });
    }
    if (problems.length > 0) return waiting(id, title, problems, detail);
    const ignored = ours.length - counted.length;
    return ok(id, title, `${detail} ready${ignored > 0 ? ` (${ignored} ignored: ${ignoredWhy(ours)})` : ""}`);
}

function ignoredWhy(pods: Pod[]): string {
    const reasons = pods.map(skippedBecause).filter((r): r is string => r !== undefined);
    return [...new Set(reasons)].sort().join(", ");
}
