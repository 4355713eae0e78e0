// The readiness judges on hand-made observations (pure): the Talos-side checks (etcd, apid, boot),
// the Kubernetes side's rules that the real-API tests do not reach (a second control plane's
// static pods, a stranger Node, a DaemonSet not counted yet), and the verdict's wording.

import { describe, expect, it } from "vitest";

import type { Node, Pod } from "../../cli/kube/api";
import { isLeaving, type ExpectedCluster } from "../../cli/readiness/expected";
import { judgeKubernetes } from "../../cli/readiness/kube-checks";
import type { KubeObservation } from "../../cli/readiness/kuberead";
import { judgeEtcdConsistent, judgeEtcdMembersAreControlPlanes, judgeTalos } from "../../cli/readiness/talos-checks";
import type { EtcdMemberView, TalosObservation } from "../../cli/readiness/talosread";
import { judgeReadiness } from "../../cli/readiness/verdict";
import type { ServiceInfo } from "../../talos/api";
import { clusterComponents } from "../../talos/config/components";
import { makeControlPlaneNode, makeNode, makePod, makeStaticPod } from "../support/fake-kube";

const SERVER = "https://127.0.0.1:6444";
const CP1 = { name: "cp-01", ip: "10.5.0.2", role: "controlplane" as const };
const CP2 = { name: "cp-02", ip: "10.5.0.3", role: "controlplane" as const };
const W1 = { name: "worker-01", ip: "10.5.0.4", role: "worker" as const };
const EXPECTED: ExpectedCluster = { count: 3, nodes: [CP1, CP2, W1] };

const member = (name: string, ip: string, id: string): EtcdMemberView => ({ id, hostname: name, peerUrls: [`https://${ip}:2380`], isLearner: false });

function kubeObs(over: Partial<KubeObservation> = {}): KubeObservation {
    const nodes: Node[] = [makeControlPlaneNode(CP1, true), makeControlPlaneNode(CP2, true), makeNode(W1, true)];
    const pods: Pod[] = [CP1, CP2].flatMap((cp) => ["kube-apiserver", "kube-controller-manager", "kube-scheduler"].map((app) => makeStaticPod(app, cp, "img", true)));
    return { api: { ok: true }, nodes, pods, daemonSets: [], deployments: [], ...over };
}

describe("the Talos-side checks", () => {
    const booted = { stage: "running" as const, ready: true, unmetConditions: [] };
    const healthyServices: ServiceInfo[] = ["etcd", "kubelet"].map((id) => ({ id, state: "Running", health: { unknown: false, healthy: true, last_message: "" }, events: null }));
    function talosObs(): TalosObservation {
        return {
            endpoint: "127.0.0.1:50000",
            unaddressed: [],
            nodes: [CP1, CP2, W1].map((node) => ({
                node,
                version: { ok: true as const, value: "v1.8.3" },
                machine: { ok: true as const, value: booted },
                ...(node.role === "controlplane"
                    ? { services: { ok: true as const, value: healthyServices }, etcdMembers: { ok: true as const, value: [member("cp-01", CP1.ip, "1"), member("cp-02", CP2.ip, "2")] } }
                    : {}),
            })),
        };
    }

    it("holds for a healthy cluster, in Talos' order", () => {
        const results = judgeTalos(talosObs(), [CP1, CP2]);
        expect(results.map((r) => [r.id, r.state])).toEqual([
            ["etcd-healthy", "ok"], ["etcd-consistent", "ok"], ["etcd-control-planes", "ok"], ["apid-ready", "ok"], ["kubelet-healthy", "ok"], ["nodes-booted", "ok"],
        ]);
    });

    it("waits for a node in maintenance and one whose apid does not answer, naming each", () => {
        const obs = talosObs();
        obs.nodes[2].machine = { ok: true, value: { stage: "maintenance", ready: false, unmetConditions: [] } };
        obs.nodes[1].version = { ok: false, reason: "connection refused", message: "…", fatal: false };
        const byId = Object.fromEntries(judgeTalos(obs, [CP1, CP2]).map((r) => [r.id, r]));
        expect(byId["nodes-booted"].problems.map((p) => p.text)).toEqual(["worker-01 (10.5.0.4) is maintenance"]);
        expect(byId["apid-ready"].problems.map((p) => p.text)).toEqual(["apid of cp-02 (10.5.0.3) does not answer through 127.0.0.1:50000: connection refused"]);
    });

    it("etcd: lists that differ are inconsistent; a member that is no control plane is a stranger", () => {
        const lists = [
            { node: CP1, members: [member("cp-01", CP1.ip, "1"), member("cp-02", CP2.ip, "2")] },
            { node: CP2, members: [member("cp-02", CP2.ip, "2")] },
        ];
        expect(judgeEtcdConsistent(lists).problems.map((p) => p.text)).toEqual(["cp-02 lists etcd members [cp-02], cp-01 lists [cp-01 cp-02]"]);
        const left = { node: CP1, members: [member("cp-01", CP1.ip, "1"), member("cp-03", "10.5.0.9", "3")] };
        const strangers = judgeEtcdMembersAreControlPlanes(left, [CP1, CP2]);
        expect(strangers.problems.map((p) => p.text)).toEqual(["etcd member cp-03 (10.5.0.9) is not a control plane of this cluster"]);
        expect(strangers.problems[0].read).toContain("talosctl -n 10.5.0.2 etcd remove-member <id>");
    });
});

describe("the Kubernetes-side checks", () => {
    const byId = (obs: KubeObservation, expected = EXPECTED, profile = {}) => Object.fromEntries(judgeKubernetes(obs, expected, profile, SERVER).map((r) => [r.id, r]));

    it("wants the static pods on every control plane, not only the first", () => {
        const obs = kubeObs();
        obs.pods = (obs.pods as Pod[]).filter((p) => !(p.spec?.nodeName === CP2.name && p.metadata.labels?.["k8s-app"] === "kube-scheduler"));
        const r = byId(obs)["static-pods"];
        expect(r.state).toBe("waiting");
        expect(r.problems.map((p) => p.text)).toEqual(["kube-scheduler is not running on cp-02 (no mirror pod kube-scheduler-cp-02 yet)"]);
        expect(r.problems[0].read).toEqual(["talosctl -n 10.5.0.3 get staticpodstatus", "talosctl -n 10.5.0.3 logs kubelet"]);
    });

    it("calls a Node no expected node is a stranger, when every node is known", () => {
        const obs = kubeObs();
        obs.nodes = [...(obs.nodes as Node[]), makeNode({ name: "worker-02", ip: "10.5.0.5" }, false)];
        const r = byId(obs)["nodes-reported"];
        expect(r.problems.map((p) => p.text)).toEqual(["node worker-02 is not one of the cluster's 3 nodes (left behind by a removed node?)"]);
        expect(r.problems[0].read).toContain("kubectl delete node worker-02");
        // Its NotReady does not hold "nodes Ready": only the cluster's nodes are judged.
        expect(byId(obs)["nodes-ready"].state).toBe("ok");
    });

    it("waits for a DaemonSet its controller has not counted, and for a deployed kube-proxy not yet created", () => {
        const obs = kubeObs({ daemonSets: [{ metadata: { name: "kube-proxy", labels: { "k8s-app": "kube-proxy" } } }], pods: [...(kubeObs().pods as Pod[]), makePod("kube-proxy-1", "kube-proxy", CP1.name, true)] });
        expect(byId(obs)["kube-proxy"].problems.map((p) => p.text)).toEqual(["kube-proxy: the DaemonSet controller has not counted its pods yet"]);
        expect(byId(kubeObs(), EXPECTED, { kubeProxy: true })["kube-proxy"].problems.map((p) => p.text)).toEqual(["kube-proxy: no DaemonSet kube-proxy in kube-system yet"]);
        expect(byId(kubeObs(), EXPECTED, { cni: "custom" }).cni).toMatchObject({ state: "skipped" });
    });

    it("judges nothing but the API while it is down, suspecting every node", () => {
        const v = judgeReadiness({ kube: { api: { ok: false, reason: "connection refused" } }, talos: { skipped: "no talosconfig" }, expected: EXPECTED, profile: {}, server: SERVER });
        expect(v).toMatchObject({ ready: false, state: `waiting for the Kubernetes API at ${SERVER} to be ready`, reason: "connection refused", suspects: ["*"] });
        expect(v.notChecked).toEqual(["not waiting for etcd to be healthy, etcd members to be consistent across nodes, etcd members to be control plane nodes, "
            + "apid to be ready, kubelet to be healthy, all nodes to finish boot sequence: no talosconfig"]);
    });
});

// A scale-down: the engine runs the ready step (with the new, smaller set of nodes) before the
// removed nodes' remove-node, so their Node objects and etcd members are still there.
describe("nodes being removed (named as the cluster's own nodes, not among the expected ones)", () => {
    const T_CP1 = { name: "talos-cp-01", ip: "10.5.0.2", role: "controlplane" as const };
    const T_W1 = { name: "talos-worker-01", ip: "10.5.0.3", role: "worker" as const };
    const expected: ExpectedCluster = { count: 2, nodes: [T_CP1, T_W1], clusterName: "talos" };
    const cordoned = (node: Node): Node => ({ ...node, spec: { ...node.spec, unschedulable: true } });
    const obs = (extra: Node[]) => ({
        api: { ok: true as const },
        nodes: [makeControlPlaneNode(T_CP1, true), makeNode(T_W1, true), ...extra],
        pods: ["kube-apiserver", "kube-controller-manager", "kube-scheduler"].map((app) => makeStaticPod(app, T_CP1, "img", true)),
        daemonSets: [],
        deployments: [],
    });
    const states = (o: KubeObservation, e = expected) => Object.fromEntries(judgeKubernetes(o, e, {}, SERVER).map((r) => [r.id, r]));

    it("are noted, not waited for: Ready or not, cordoned or not", () => {
        const leaving = [cordoned(makeNode({ name: "talos-worker-02", ip: "10.5.0.4" }, false)), makeControlPlaneNode({ name: "talos-cp-02", ip: "10.5.0.254" }, true)];
        const r = states(obs(leaving));
        expect(Object.values(r).filter((c) => c.state !== "ok" && c.state !== "skipped").map((c) => c.id)).toEqual([]);
        expect(r["nodes-reported"].detail).toBe("2/2 nodes registered; leaving, removed after this wait: talos-worker-02, talos-cp-02");
        expect(r["nodes-schedulable"].detail).toBe("2/2 schedulable");
    });

    it("a Node of another name, or without the cluster's name given, is still a stranger waited for", () => {
        const other = makeNode({ name: "talos-worker-2", ip: "10.5.0.4" }, true);
        expect(states(obs([other]))["nodes-reported"].state).toBe("waiting");
        const ours = makeNode({ name: "talos-worker-02", ip: "10.5.0.4" }, true);
        expect(states(obs([ours]), { ...expected, clusterName: undefined })["nodes-reported"].state).toBe("waiting");
        expect(states(obs([ours]), { ...expected, clusterName: "other" })["nodes-reported"].state).toBe("waiting");
    });

    it("their etcd member is noted, a stranger member still waited for", () => {
        const list = { node: T_CP1, members: [member("talos-cp-01", T_CP1.ip, "1"), member("talos-cp-02", "10.5.0.254", "2")] };
        const leaving = (name: string) => isLeaving(expected, name);
        const r = judgeEtcdMembersAreControlPlanes(list, [T_CP1], leaving);
        expect(r).toMatchObject({ state: "ok", detail: "etcd members are the control planes; leaving, removed after this wait: talos-cp-02" });
        const stranger = { ...list, members: [...list.members, member("cp-09", "10.5.0.9", "9")] };
        expect(judgeEtcdMembersAreControlPlanes(stranger, [T_CP1], leaving).problems.map((p) => p.text))
            .toEqual(["etcd member cp-09 (10.5.0.9) is not a control plane of this cluster"]);
    });
});

describe("the config's components", () => {
    it("reads the CNI, kube-proxy and CoreDNS as Talos does: no cni section is flannel", () => {
        expect(clusterComponents([{ machine: {}, cluster: {} }])).toEqual({ cni: "flannel", kubeProxy: true, coreDns: true });
        expect(clusterComponents([{ machine: {}, cluster: { network: { cni: { name: "none" } }, proxy: { disabled: true }, coreDNS: { disabled: true } } }]))
            .toEqual({ cni: "none", kubeProxy: false, coreDns: false });
        expect(clusterComponents([{ machine: {}, cluster: { network: { cni: { name: "custom", urls: ["https://x/cilium.yaml"] } } } }]).cni).toBe("custom");
    });
});
