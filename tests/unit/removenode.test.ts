// The pure rules of `remove-node`: which pods a drain evicts (cli/removenode/pods.ts, kubectl
// drain's filters with the flags a leaving node needs), whether etcd keeps its quorum without
// the leaving member (cli/removenode/quorum.ts, etcd's own rule for removing a voting member), and
// what Docker's view of the node and its cluster means (cli/removenode/presence.ts).

import { describe, expect, it } from "vitest";

import type { Pod } from "../../cli/kube/api";
import { leaveCallTimeout } from "../../cli/removenode/etcd";
import { planDrain } from "../../cli/removenode/pods";
import { containerRuns, DOCKER_JUDGEMENT_MS, judge, judgementBound } from "../../cli/removenode/presence";
import { quorumOf, removalVerdict, type MemberHealth } from "../../cli/removenode/quorum";
import type { EtcdMember } from "../../talos/api";

const member = (id: string, opts: { learner?: boolean } = {}): EtcdMember => ({
    id, hostname: `cp-${id}`, peerUrls: [`https://172.30.1.${id}:2380`], clientUrls: [], isLearner: opts.learner ?? false,
});
const healthy = (id: string, opts: { learner?: boolean } = {}): MemberHealth => ({ member: member(id, opts) });
const sick = (id: string): MemberHealth => ({ member: member(id), problem: "its etcd does not answer" });

describe("quorum without the leaving member", () => {
    it("is a majority of the voters that stay", () => {
        expect([1, 2, 3, 4, 5].map(quorumOf)).toEqual([1, 2, 2, 3, 3]);
    });

    it("3 → 2 keeps it only when both others are healthy", () => {
        expect(removalVerdict(member("3"), [healthy("1"), healthy("2")])).toMatchObject({ kind: "keeps-quorum", voters: 2, quorum: 2, healthy: 2 });
        expect(removalVerdict(member("3"), [healthy("1"), sick("2")])).toMatchObject({ kind: "loses-quorum", voters: 2, quorum: 2, healthy: 1 });
    });

    it("5 → 4 tolerates one sick member, not two", () => {
        const others = [healthy("1"), healthy("2"), healthy("3"), sick("4")];
        expect(removalVerdict(member("5"), others)).toMatchObject({ kind: "keeps-quorum", voters: 4, quorum: 3, healthy: 3 });
        expect(removalVerdict(member("5"), [healthy("1"), healthy("2"), sick("3"), sick("4")]).kind).toBe("loses-quorum");
    });

    it("2 → 1: the survivor alone is a quorum when it answers", () => {
        expect(removalVerdict(member("2"), [healthy("1")])).toMatchObject({ kind: "keeps-quorum", voters: 1, quorum: 1 });
        expect(removalVerdict(member("2"), [sick("1")]).kind).toBe("loses-quorum");
    });

    it("learners neither vote nor count", () => {
        // The only other voter is the leaving member's peer; the learner does not make a quorum.
        expect(removalVerdict(member("3"), [healthy("1"), healthy("2", { learner: true })])).toMatchObject({ kind: "keeps-quorum", voters: 1 });
        expect(removalVerdict(member("3"), [sick("1"), healthy("2", { learner: true })]).kind).toBe("loses-quorum");
    });

    it("the only voter is the last member (its learners do not change that); a leaving learner is never the last", () => {
        expect(removalVerdict(member("1"), []).kind).toBe("last-member");
        expect(removalVerdict(member("1"), [healthy("2", { learner: true })]).kind).toBe("last-member");
        expect(removalVerdict(member("2", { learner: true }), [healthy("1")]).kind).toBe("keeps-quorum");
    });
});

describe("what Docker's view of a leaving node means", () => {
    const labels = { "talos.cluster.name": "talos", "talos.type": "worker" };
    const cp = (name: string, state: string) => ({ name, state });

    it("a container runs while Docker says State.Running: running, paused, restarting", () => {
        expect(["running", "paused", "restarting"].filter(containerRuns)).toHaveLength(3);
        expect(["created", "exited", "dead", "removing"].filter(containerRuns)).toEqual([]);
    });

    it("a node that runs is removed through its APIs, whatever its cluster's control planes do", () => {
        expect(judge({ state: "running", labels }, "talos", [])).toEqual({ kind: "node-runs" });
        expect(judge({ state: "paused", labels }, "talos", [cp("talos-cp-01", "exited")])).toEqual({ kind: "node-runs" });
    });

    it("a node that does not run, no control plane running: the cluster is down", () => {
        expect(judge({ state: "exited", labels }, "talos", [cp("talos-cp-01", "exited"), cp("talos-cp-02", "created")]))
            .toEqual({ kind: "cluster-down", why: "its container is exited", cluster: "talos" });
        expect(judge(undefined, undefined, [])).toEqual({ kind: "cluster-down", why: "it has no container", cluster: undefined });
    });

    it("a node that does not run, a control plane running: the node alone is down; the running ones named, sorted", () => {
        expect(judge({ state: "dead", labels }, "talos", [cp("talos-cp-03", "running"), cp("talos-cp-02", "exited"), cp("talos-cp-01", "restarting")]))
            .toEqual({ kind: "node-down", why: "its container is dead", cluster: "talos", controlPlanes: ["talos-cp-01", "talos-cp-03"] });
    });

    it("Docker gets a quarter of the command's time, a few seconds at most", () => {
        expect(judgementBound(1_000)).toBe(250);
        expect(judgementBound(10 * 60_000)).toBe(DOCKER_JUDGEMENT_MS);
        expect(DOCKER_JUDGEMENT_MS).toBeLessThanOrEqual(5_000);
        expect(judgementBound(2)).toBe(1);
    });
});

describe("the leave's bound", () => {
    it("keeps a quarter of the time left, at most a minute, for the removal through another member", () => {
        expect(leaveCallTimeout(600_000)).toBe(540_000);
        expect(leaveCallTimeout(120_000)).toBe(90_000);
        expect(leaveCallTimeout(240_000)).toBe(180_000);
        expect(leaveCallTimeout(400)).toBe(300);
        expect(leaveCallTimeout(50)).toBe(100);
    });
});

const pod = (name: string, opts: { owner?: string; phase?: string; mirror?: boolean; emptyDir?: boolean } = {}): Pod => ({
    metadata: {
        name,
        namespace: "default",
        annotations: opts.mirror === true ? { "kubernetes.io/config.mirror": "abc" } : undefined,
        ownerReferences: opts.owner === undefined ? undefined : [{ apiVersion: "apps/v1", kind: opts.owner, name: "x", uid: "u", controller: true }],
    },
    spec: { volumes: opts.emptyDir === true ? [{ name: "v", emptyDir: {} }] : [] },
    status: { phase: opts.phase ?? "Running" },
});

describe("which pods a drain evicts", () => {
    it("leaves DaemonSet, mirror and finished pods; evicts the rest, noting unmanaged and emptyDir ones", () => {
        const plan = planDrain([
            pod("rs", { owner: "ReplicaSet" }),
            pod("ds", { owner: "DaemonSet" }),
            pod("static", { mirror: true }),
            pod("done", { owner: "Job", phase: "Succeeded" }),
            pod("evicted", { owner: "ReplicaSet", phase: "Failed" }),
            pod("bare"),
            pod("scratch", { owner: "StatefulSet", emptyDir: true }),
        ]);
        const names = (pods: Pod[]) => pods.map((p) => p.metadata.name);
        expect(names(plan.evict)).toEqual(["rs", "bare", "scratch"]);
        expect(plan.skipped.map((s) => [s.pod.metadata.name, s.why])).toEqual([
            ["ds", "daemonset"], ["static", "mirror"], ["done", "finished"], ["evicted", "finished"],
        ]);
        expect(names(plan.unmanaged)).toEqual(["bare"]);
        expect(names(plan.localStorage)).toEqual(["scratch"]);
    });

    it("a controller reference that is not the controller does not make a pod managed", () => {
        const p = pod("orphan");
        p.metadata.ownerReferences = [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid: "u" }];
        expect(planDrain([p]).unmanaged).toHaveLength(1);
    });
});
