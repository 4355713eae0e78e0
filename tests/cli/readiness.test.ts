// The readiness verdict on hand-made observations (pure).

import { describe, expect, it } from "vitest";

import { judge, type Observation } from "../../cli/wait/readiness";
import { makeNode, makePod } from "../support/fake-kube";

const SERVER = "https://127.0.0.1:6444";
const nodes = [makeNode({ name: "cp", ip: "10.0.0.2" }, true), makeNode({ name: "w1", ip: "10.0.0.3" }, true)];
const healthyPods = [
    makePod("coredns-a", "kube-dns", "cp", true),
    makePod("coredns-b", "kube-dns", "cp", true),
    ...["cp", "w1"].flatMap((n) => [makePod(`kube-proxy-${n}`, "kube-proxy", n, true), makePod(`kube-flannel-${n}`, "flannel", n, true)]),
];
const healthy: Observation = { api: { ok: true }, nodes, pods: healthyPods };

describe("judge", () => {
    it("is ready when the API, every node and every system pod are", () => {
        const v = judge(healthy, 2, SERVER);
        expect(v.ready).toBe(true);
        expect(v.summary).toBe("API ready, 2/2 nodes Ready, CoreDNS 2/2, kube-proxy 2/2, flannel 2/2 ready");
    });

    it("waits for the API first, suspecting every node", () => {
        const v = judge({ api: { ok: false, reason: "connection refused" } }, 2, SERVER);
        expect(v).toMatchObject({ ready: false, state: `waiting for the Kubernetes API at ${SERVER}`, reason: "connection refused", suspects: ["*"] });
    });

    it("wants a DaemonSet pod per node", () => {
        const v = judge({ ...healthy, pods: healthyPods.filter((p) => p.metadata.name !== "kube-flannel-w1") }, 2, SERVER);
        expect(v.ready).toBe(false);
        expect(v.state).toBe("waiting for kube-system pods: CoreDNS 2/2, kube-proxy 2/2, flannel 1/2 ready");
        expect(v.problems).toEqual(["flannel: 1 of 2 pods exist"]);
    });

    it("ignores pods being deleted, counts a crash-looping one", () => {
        const old = makePod("coredns-old", "kube-dns", "w1", false);
        old.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
        const crashing = makePod("coredns-c", "kube-dns", "w1", false);
        crashing.status = { phase: "Running", conditions: [{ type: "Ready", status: "False" }], containerStatuses: [{ name: "coredns", ready: false, state: { waiting: { reason: "CrashLoopBackOff" } } }] };
        expect(judge({ ...healthy, pods: [...healthyPods, old] }, 2, SERVER).ready).toBe(true);
        const v = judge({ ...healthy, pods: [...healthyPods, crashing] }, 2, SERVER);
        expect(v.problems).toEqual(["pod kube-system/coredns-c on w1 is not ready (Running: CrashLoopBackOff)"]);
        expect(v.suspects).toEqual(["w1"]);
    });

    it("is not ready with more nodes expected than registered", () => {
        const v = judge(healthy, 3, SERVER, ["cp", "w1", "w2"]);
        expect(v.ready).toBe(false);
        expect(v.state).toBe("waiting for nodes: 2/3 nodes Ready");
        expect(v.problems[0]).toBe("only 2 of 3 nodes have registered (missing: w2)");
    });

    it("reports lists it could not read", () => {
        const v = judge({ api: { ok: true }, nodes: "HTTP 503", pods: "connection reset" }, 1, SERVER);
        expect(v.problems).toEqual(["nodes could not be listed: HTTP 503", "kube-system pods could not be listed: connection reset"]);
    });
});
