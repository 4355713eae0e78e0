// `remove-node` through the whole CLI against the fake apid (gRPC, mutual TLS from the test PKI,
// etcd membership behind it), the fake Kubernetes API (HTTPS with client certificates, the
// Eviction API with PodDisruptionBudgets, a kubelet that confirms terminated pods) and an
// in-memory Docker holding the node containers: a worker's drain and Node deletion, a control
// plane's etcd leave and its fallbacks and refusals, what Docker's view of the node and its
// cluster changes, in virtual time (kubectl's 5 s pause between refused evictions costs nothing).

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import type { Node, Pod } from "../../cli/kube/api";
import { fakeNode, FakeDocker, stopped } from "../support/fake-docker";
import { FakeKube, makeNode, type FakeNodeSpec } from "../support/fake-kube";
import { FakeTalos, type FakeEtcdMember, type FakeNode } from "../support/fake-talos";
import { FakeClock } from "./support/fakeclock";
import { kubeconfigFor, makeTestPki, runCli, talosconfigFor, type CliRun, type TestPki } from "./support/harness";
import { bundleStrings } from "../support/pki";

const CP1: FakeNodeSpec = { name: "talos-cp-01", ip: "172.30.0.2" };
const CP2: FakeNodeSpec = { name: "talos-cp-02", ip: "172.30.1.2" };
const CP3: FakeNodeSpec = { name: "talos-cp-03", ip: "172.30.1.3" };
const W1: FakeNodeSpec = { name: "talos-worker-01", ip: "172.30.0.3" };
const W2: FakeNodeSpec = { name: "talos-worker-02", ip: "172.30.0.4" };

// Real etcd member IDs are random 64-bit numbers: these do not fit a JavaScript number.
const MEMBERS: FakeEtcdMember[] = [
    { id: "13390861416003591456", hostname: CP1.name, ip: CP1.ip },
    { id: "9223372036854775809", hostname: CP2.name, ip: CP2.ip },
    { id: "18446744073709551557", hostname: CP3.name, ip: CP3.ip },
];
const hex = (id: string) => BigInt(id).toString(16).padStart(16, "0");

let pki: TestPki;
let apid: FakeTalos;
let kube: FakeKube;
let docker: FakeDocker;
let secrets: string[];

/** The cluster's name, as the kubeconfig's context admin@test and the node containers' labels give it. */
const CLUSTER = "test";
const ROLES: [FakeNodeSpec, "controlplane" | "worker"][] = [[CP1, "controlplane"], [CP2, "controlplane"], [CP3, "controlplane"], [W1, "worker"], [W2, "worker"]];

beforeAll(async () => {
    pki = await makeTestPki();
    apid = await FakeTalos.start({ osCa: pki.bundle.certs.os, self: CP1.ip });
    secrets = bundleStrings(pki.bundle);
});
afterAll(async () => apid.close());

beforeEach(async () => {
    kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s });
    kube.apiReady = true;
    kube.nodes = [CP1, CP2, CP3, W1, W2].map((n) => makeNode(n, true));
    apid.nodes = Object.fromEntries([CP1, CP2, CP3].map((n) => [n.ip, { controlPlane: true } satisfies FakeNode]));
    apid.etcd.members = MEMBERS.map((m) => ({ ...m }));
    apid.clearCalls();
    docker = new FakeDocker();
    docker.containers = ROLES.map(([n, role]) => fakeNode({ name: n.name, cluster: CLUSTER, role, ip: n.ip, network: CLUSTER }));
});
afterEach(async () => kube.close());

function env(over: Record<string, string> = {}): Record<string, string> {
    return { TALOS_DOCKER_TALOSCONFIG: talosconfigFor(pki, apid.endpoint), TALOS_DOCKER_KUBECONFIG: kubeconfigFor(pki, kube.url), ...over };
}

async function removeNode(node: FakeNodeSpec, role: "controlplane" | "worker", opts: { flags?: string[]; env?: Record<string, string> } = {}): Promise<CliRun> {
    const run = await runCli(
        ["remove-node", "--node", node.ip, "--container", node.name, "--role", role, ...(opts.flags ?? [])],
        opts.env ?? env(),
        { clock: new FakeClock(), clients: { docker: () => docker } },
    );
    expectNothingSecret(run);
    return run;
}

function expectNothingSecret(run: CliRun): void {
    for (const line of [...run.out, ...run.err]) {
        for (const secret of secrets) expect(line.includes(secret), `a bundle value in: ${line}`).toBe(false);
        expect(line).not.toMatch(/BEGIN|PRIVATE KEY/);
    }
}

/** The lines without their elapsed time: " (3s)" goes, " (3s, reason)" becomes " (reason)". */
const timeless = (lines: string[]) => lines.map((l) => l.replace(/ \((?:\d+s|\d+m\d\ds)(?:, (.*))?\)$/, (_, reason?: string) => (reason === undefined ? "" : ` (${reason})`)));

/** A pod bound to `node`, Running and Ready as its kubelet reports it. */
function pod(name: string, node: FakeNodeSpec, opts: { namespace?: string; owner?: string; labels?: Record<string, string>; annotations?: Record<string, string>; emptyDir?: boolean; phase?: string } = {}): Pod {
    const owner = opts.owner === undefined ? undefined : opts.owner.split("/");
    return {
        metadata: {
            name,
            namespace: opts.namespace ?? "default",
            uid: `uid-${name}`,
            labels: opts.labels,
            annotations: opts.annotations,
            ownerReferences: owner === undefined ? undefined : [{ apiVersion: "apps/v1", kind: owner[0], name: owner[1], uid: `uid-${owner[1]}`, controller: true }],
        },
        spec: { nodeName: node.name, containers: [{ name: "main", image: "registry.k8s.io/pause:3.10" }], volumes: opts.emptyDir ? [{ name: "scratch", emptyDir: {} }] : [] },
        status: { phase: opts.phase ?? "Running", conditions: [{ type: "Ready", status: "True" }] },
    };
}

/** What a worker runs: a web replica behind a budget, a DaemonSet pod, a mirror pod, an unmanaged pod, one with emptyDir, a finished job. */
function workload(node: FakeNodeSpec): Pod[] {
    return [
        pod("web-7d4b9-x2v9q", node, { owner: "ReplicaSet/web-7d4b9", labels: { app: "web" } }),
        pod("kube-proxy-m4q9d", node, { namespace: "kube-system", owner: "DaemonSet/kube-proxy", labels: { "k8s-app": "kube-proxy" } }),
        pod(`static-web-${node.name}`, node, { namespace: "kube-system", annotations: { "kubernetes.io/config.mirror": "0b1c" } }),
        pod("debug", node),
        pod("cache-5f6c7-p7k4m", node, { owner: "ReplicaSet/cache-5f6c7", emptyDir: true }),
        pod("report-28790", node, { owner: "Job/report", phase: "Succeeded" }),
    ];
}

const nodeNamed = (name: string): Node | undefined => kube.nodes.find((n) => n.metadata.name === name);
const requests = () => kube.log.map((r) => `${r.method} ${r.path}`);

describe("remove-node --role worker", () => {
    it("cordons, evicts every pod but DaemonSet, mirror and finished pods (retrying a budget's refusals), waits until they are gone, deletes the Node", async () => {
        kube.pods = [...workload(W2), pod("web-7d4b9-b8w3n", W1, { owner: "ReplicaSet/web-7d4b9", labels: { app: "web" } })];
        kube.pdbs = [{ name: "web", namespace: "default", matchLabels: { app: "web" }, disruptionsAllowed: 0, desiredHealthy: 2, currentHealthy: 2, allowAfterRefusals: 2 }];
        const run = await removeNode(W2, "worker");
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        const lines = timeless(run.out);
        expect(lines.slice(0, 9)).toEqual([
            `[remove-node] removing worker ${W2.ip} (container ${W2.name}): cordon, drain, delete its Node`,
            `[remove-node] finding the Node of ${W2.ip}`,
            `[remove-node] cordoning Node ${W2.name}`,
            `[remove-node] cordoned Node ${W2.name}: no new pod is scheduled on it`,
            `[remove-node] listing the pods on ${W2.name}`,
            "[remove-node] leaving DaemonSet pods in place (they go with the Node): kube-system/kube-proxy-m4q9d",
            `[remove-node] leaving static (mirror) pods in place: kube-system/static-web-${W2.name}`,
            "[remove-node] leaving finished pods in place (they go with the Node): default/report-28790",
            "[remove-node] evicting pods no controller owns (nothing recreates them): default/debug",
        ]);
        expect(lines).toContain("[remove-node] evicting pods with emptyDir data (it is deleted with them): default/cache-5f6c7-p7k4m");
        expect(lines).toContain("[remove-node] evicting 3 pods: default/web-7d4b9-x2v9q, default/debug, default/cache-5f6c7-p7k4m");
        expect(lines).toContain(
            `[remove-node] waiting for PodDisruptionBudgets to allow evicting pods of ${W2.name} ` +
                "(default/web-7d4b9-x2v9q: The disruption budget web needs 2 healthy pods and has 2 currently)",
        );
        expect(lines).toContain("[remove-node] evicted default/web-7d4b9-x2v9q");
        expect(lines).toContain(`[remove-node] the evicted pods are gone from ${W2.name}`);
        expect(lines.slice(-3)).toEqual([
            `[remove-node] deleting Node ${W2.name}`,
            `[remove-node] deleted Node ${W2.name}`,
            `[remove-node] done: ${W2.name} is out of the cluster; its container can go`,
        ]);
        // Refused twice by its budget, 5 s apart as kubectl retries, then evicted; the others once each.
        expect(kube.evictions.map((e) => [e.pod, e.status])).toEqual(expect.arrayContaining([
            ["default/web-7d4b9-x2v9q", 429], ["default/web-7d4b9-x2v9q", 429], ["default/web-7d4b9-x2v9q", 201],
            ["default/debug", 201], ["default/cache-5f6c7-p7k4m", 201],
        ]));
        expect(kube.evictions).toHaveLength(5);
        expect(kube.evictions.every((e) => JSON.stringify(e.deleteOptions) === "{}")).toBe(true);
        // Cordoned before the first eviction; the Node deleted after the last pod was gone.
        const log = requests();
        const cordon = log.indexOf(`PATCH /api/v1/nodes/${W2.name}`);
        const firstEviction = log.findIndex((r) => r.endsWith("/eviction"));
        const deletion = log.indexOf(`DELETE /api/v1/nodes/${W2.name}`);
        expect(cordon).toBeGreaterThanOrEqual(0);
        expect(cordon).toBeLessThan(firstEviction);
        expect(deletion).toBe(log.length - 1);
        expect(nodeNamed(W2.name)).toBeUndefined();
        // What stays on the deleted Node: the DaemonSet, mirror and finished pods, for the pod garbage collector.
        expect(kube.pods.filter((p) => p.spec?.nodeName === W2.name).map((p) => p.metadata.name))
            .toEqual(["kube-proxy-m4q9d", `static-web-${W2.name}`, "report-28790"]);
        // Another node's replica is untouched.
        expect(kube.pods.some((p) => p.metadata.name === "web-7d4b9-b8w3n" && p.metadata.deletionTimestamp === undefined)).toBe(true);
        expect(nodeNamed(W1.name)?.spec?.unschedulable).toBeUndefined();
        // A worker's removal never calls the Talos API.
        expect(apid.received).toEqual([]);
    });

    it("fails at the bound naming the pods a budget still protects and the budget; the Node stays, cordoned (exit 4)", async () => {
        kube.pods = workload(W2);
        kube.pdbs = [{ name: "web", namespace: "default", matchLabels: { app: "web" }, disruptionsAllowed: 0, desiredHealthy: 2, currentHealthy: 2 }];
        const run = await removeNode(W2, "worker", { flags: ["--timeout", "30s"] });
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err).toHaveLength(1);
        expect(run.err[0]).toBe(
            "[remove-node] error: timed out after 30s waiting for PodDisruptionBudgets to allow evicting default/web-7d4b9-x2v9q " +
                "(default/web-7d4b9-x2v9q: The disruption budget web needs 2 healthy pods and has 2 currently).\n" +
                "PodDisruptionBudgets web (kubectl -n default get poddisruptionbudgets) forbid evicting this pod: give the workload " +
                "more ready replicas elsewhere, or relax the budget, then run `pulumi up` again. Node talos-worker-02 stays cordoned.\n" +
                "172.30.0.4 (container talos-worker-02) is still in the cluster. If the whole stack is being destroyed, nothing needs " +
                "to leave it: run `npm run destroy`, or `TALOS_DOCKER_DESTROYING=1 pulumi destroy`.",
        );
        // Asked every 5 s for 30 s.
        expect(kube.evictions.filter((e) => e.pod === "default/web-7d4b9-x2v9q").length).toBe(6);
        expect(nodeNamed(W2.name)?.spec?.unschedulable).toBe(true);
        expect(requests()).not.toContain(`DELETE /api/v1/nodes/${W2.name}`);
    });

    it("evicted pods that never terminate (their kubelet does not confirm): timed out naming them", async () => {
        kube.pods = [pod("web-7d4b9-x2v9q", W2, { owner: "ReplicaSet/web-7d4b9" })];
        kube.terminationReads = Infinity;
        const run = await removeNode(W2, "worker", { flags: ["--timeout", "20s"] });
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err[0]).toMatch(/^\[remove-node\] error: timed out after 20s waiting for the evicted pods to terminate on talos-worker-02 \(last: still there: default\/web-7d4b9-x2v9q\)\.\nA pod with a deletionTimestamp is gone once its kubelet confirms it stopped: is talos-worker-02 running/);
        expect(nodeNamed(W2.name)).toBeDefined();
    });

    it("finds the Node by its container's name when no Node has the address", async () => {
        kube.nodes = kube.nodes.map((n) => (n.metadata.name === W2.name ? { ...n, status: { ...n.status, addresses: [] } } : n));
        const run = await removeNode(W2, "worker");
        expect(run.code).toBe(ExitCode.OK);
        expect(nodeNamed(W2.name)).toBeUndefined();
        expect(timeless(run.out)).toContain(`[remove-node] no pod on ${W2.name} to evict`);
    });

    it("a Node that is gone already is success, and so is a second run", async () => {
        const first = await removeNode(W2, "worker");
        expect(first.code).toBe(ExitCode.OK);
        const second = await removeNode(W2, "worker");
        expect(second.err).toEqual([]);
        expect(second.code).toBe(ExitCode.OK);
        expect(timeless(second.out)).toEqual([
            `[remove-node] removing worker ${W2.ip} (container ${W2.name}): cordon, drain, delete its Node`,
            `[remove-node] finding the Node of ${W2.ip}`,
            `[remove-node] no Node has address ${W2.ip} or name ${W2.name}: it is gone already, nothing to drain`,
            `[remove-node] done: ${W2.name} is out of the cluster; its container can go`,
        ]);
    });

    it("a pod two budgets select cannot be evicted: the API's refusal, exit 3", async () => {
        kube.pods = [pod("web-7d4b9-x2v9q", W2, { owner: "ReplicaSet/web-7d4b9", labels: { app: "web" } })];
        kube.pdbs = ["web", "web-too"].map((name) => ({ name, namespace: "default", matchLabels: { app: "web" }, disruptionsAllowed: 1, desiredHealthy: 1, currentHealthy: 2 }));
        const run = await removeNode(W2, "worker");
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.err).toEqual([
            "[remove-node] error: the Kubernetes API refused to evict default/web-7d4b9-x2v9q: HTTP 500: " +
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ]);
        expect(requests()).not.toContain(`DELETE /api/v1/nodes/${W2.name}`);
    });

    it("an API that does not answer: timed out, with what to do when the whole stack is going", async () => {
        await kube.close();
        const run = await removeNode(W2, "worker", { flags: ["--timeout", "10s"] });
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err[0]).toBe(
            `[remove-node] error: timed out after 10s waiting for the Kubernetes API to list the nodes, at the Kubernetes API ${kube.url} ` +
                "(last: connection refused).\n" +
                "172.30.0.4 (container talos-worker-02) is still in the cluster. If the whole stack is being destroyed, nothing needs " +
                "to leave it: run `npm run destroy`, or `TALOS_DOCKER_DESTROYING=1 pulumi destroy`.",
        );
    });

    it("a kubeconfig of another CA fails at once (exit 3)", async () => {
        const other = await makeTestPki();
        const run = await removeNode(W2, "worker", { env: env({ TALOS_DOCKER_KUBECONFIG: kubeconfigFor(pki, kube.url, { ca: other.bundle.certs.k8s.crt }) }) });
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.err[0]).toMatch(/failed TLS verification/);
    });
});

describe("remove-node while the whole stack is destroyed", () => {
    it(`with TALOS_DOCKER_DESTROYING=1 does nothing and reads no config`, async () => {
        const run = await removeNode(W2, "worker", { env: { TALOS_DOCKER_DESTROYING: "1" } });
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toEqual([
            "[remove-node] the whole stack is being destroyed (TALOS_DOCKER_DESTROYING=1): talos-worker-02 (172.30.0.4) is " +
                "neither drained nor taken out of etcd; it goes with every other node",
        ]);
        const cp = await removeNode(CP3, "controlplane", { env: { TALOS_DOCKER_DESTROYING: "true" } });
        expect(cp.code).toBe(ExitCode.OK);
        expect(kube.totalRequests).toBe(0);
        expect(apid.received).toEqual([]);
    });

    it("refuses a value it does not know", async () => {
        const run = await removeNode(W2, "worker", { env: env({ TALOS_DOCKER_DESTROYING: "yes" }) });
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(['[remove-node] error: remove-node: TALOS_DOCKER_DESTROYING="yes" is not 1 (the whole stack is being destroyed) or unset']);
    });
});

describe("remove-node --role controlplane", () => {
    it("checks the members, leaves etcd on the node, reads the members back, then drains and deletes its Node", async () => {
        kube.pods = [pod(`kube-apiserver-${CP3.name}`, CP3, { namespace: "kube-system", annotations: { "kubernetes.io/config.mirror": "1a2b" } })];
        const run = await removeNode(CP3, "controlplane");
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(timeless(run.out).slice(0, 8)).toEqual([
            `[remove-node] removing control plane ${CP3.ip} (container ${CP3.name}): leave etcd, then cordon, drain, delete its Node`,
            `[remove-node] reading the etcd members through ${apid.endpoint}`,
            `[remove-node] ${CP3.ip} is etcd member ${CP3.name} (member ${hex(MEMBERS[2].id)}), one of 3`,
            `[remove-node] etcd keeps its quorum without ${CP3.ip}: 2 of 2 voting members healthy, 2 needed`,
            `[remove-node] ${CP3.ip} leaving etcd (talosctl -n ${CP3.ip} etcd leave)`,
            `[remove-node] ${CP3.ip} left etcd; its etcd is stopped and its data removed`,
            `[remove-node] etcd no longer lists ${CP3.name} (member ${hex(MEMBERS[2].id)})`,
            `[remove-node] finding the Node of ${CP3.ip}`,
        ]);
        expect(timeless(run.out).at(-1)).toBe(`[remove-node] done: ${CP3.name} is out of etcd and of the cluster; its container can go`);
        // The member list through the endpoint, each other member's own view (query_local), the
        // leave on the node with `nodes` as talosctl -n sends it, the read-back through a healthy member.
        expect(apid.received).toEqual([
            { method: "etcdMemberList", nodes: [], node: [] },
            { method: "etcdMemberList", nodes: [CP1.ip], node: [] },
            { method: "etcdMemberList", nodes: [CP2.ip], node: [] },
            { method: "etcdLeaveCluster", nodes: [CP3.ip], node: [] },
            { method: "etcdMemberList", nodes: [CP1.ip], node: [] },
        ]);
        expect(apid.requests.map((r) => (r as { query_local?: boolean }).query_local)).toEqual([false, true, true, undefined, false]);
        expect(apid.etcd.members.map((m) => m.hostname)).toEqual([CP1.name, CP2.name]);
        expect(nodeNamed(CP3.name)).toBeUndefined();
        expect(kube.evictions).toEqual([]);
    });

    it("removes the member by its ID through another control plane when the node does not answer", async () => {
        apid.nodes[CP3.ip].down = true;
        const run = await removeNode(CP3, "controlplane");
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        const lines = timeless(run.out);
        expect(lines).toContain(`[remove-node] ${CP3.ip} does not answer (connection refused): removing its member through ${CP1.ip} instead`);
        expect(lines).toContain(`[remove-node] ${CP1.ip} removed member ${hex(MEMBERS[2].id)}`);
        const removal = apid.received.findIndex((c) => c.method === "etcdRemoveMemberById");
        expect(apid.received[removal]).toEqual({ method: "etcdRemoveMemberById", nodes: [CP1.ip], node: [] });
        // The ID as etcd has it, every digit of the 64-bit number.
        expect(apid.requests[removal]).toEqual({ member_id: MEMBERS[2].id });
        expect(apid.etcd.members.map((m) => m.id)).toEqual([MEMBERS[0].id, MEMBERS[1].id]);
        expect(nodeNamed(CP3.name)).toBeUndefined();
    });

    it("the endpoint's apid does not answer: timed out reading the members, nothing changed (exit 4)", async () => {
        // A port nothing listens on: the talosconfig's endpoint is down.
        const down = await FakeTalos.start({ osCa: pki.bundle.certs.os, deferListen: true });
        const run = await removeNode(CP3, "controlplane", {
            flags: ["--timeout", "20s"],
            env: env({ TALOS_DOCKER_TALOSCONFIG: talosconfigFor(pki, down.endpoint) }),
        });
        await down.close();
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err[0]).toMatch(
            new RegExp(`^\\[remove-node\\] error: timed out after 20s waiting for the etcd members from ${down.endpoint} \\(last: connection refused\\)\\.`),
        );
        expect(run.err[0]).toContain(`${CP3.ip} (container ${CP3.name}) is still in the cluster`);
        expect(apid.etcd.members).toHaveLength(3);
        expect(kube.totalRequests).toBe(0);
    });

    it("refuses, changing nothing, when the members left could not make a quorum (exit 5)", async () => {
        apid.nodes[CP2.ip].etcdUnhealthy = "context deadline exceeded";
        const run = await removeNode(CP3, "controlplane");
        expect(run.code).toBe(ExitCode.UNHEALTHY);
        expect(run.err).toEqual([
            `[remove-node] error: removing ${CP3.ip} from etcd would leave 2 voting members of which 1 answers as healthy, ` +
                `fewer than the 2 a quorum needs (${CP2.name} (member ${hex(MEMBERS[1].id)}): its etcd does not answer ` +
                `(unavailable)). Nothing was changed: ${CP3.ip} is still a member. Bring the other members back ` +
                "(docker start <container>; talosctl -n <ip> service etcd) and run `pulumi up` again.",
        ]);
        expect(apid.received.map((c) => c.method)).not.toContain("etcdLeaveCluster");
        expect(apid.etcd.members).toHaveLength(3);
        expect(nodeNamed(CP3.name)?.spec?.unschedulable).toBeUndefined();
        expect(kube.totalRequests).toBe(0);
    });

    it("goes ahead with a warning when an unhealthy member does not cost the quorum", async () => {
        const extra = [{ name: "talos-cp-04", ip: "172.30.1.4" }, { name: "talos-cp-05", ip: "172.30.1.5" }];
        for (const n of extra) apid.nodes[n.ip] = { controlPlane: true };
        apid.etcd.members.push({ id: "4", hostname: extra[0].name, ip: extra[0].ip }, { id: "5", hostname: extra[1].name, ip: extra[1].ip });
        apid.nodes[extra[1].ip].down = true;
        const run = await removeNode(CP3, "controlplane");
        expect(run.code).toBe(ExitCode.OK);
        const lines = timeless(run.out);
        expect(lines).toContain(`[remove-node] warning: not healthy, and not counted: ${extra[1].name} (member 0000000000000005): its etcd does not answer (connection refused)`);
        expect(lines).toContain(`[remove-node] etcd keeps its quorum without ${CP3.ip}: 3 of 4 voting members healthy, 3 needed`);
        expect(apid.etcd.members).toHaveLength(4);
    });

    it("a leave Talos refuses ends the command with its reason and the way out (exit 3)", async () => {
        apid.nodes[CP3.ip].leaveRefusal = "etcdserver: unhealthy cluster";
        const run = await removeNode(CP3, "controlplane");
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.err).toEqual([
            `[remove-node] error: EtcdLeaveCluster on ${CP3.ip} on ${apid.endpoint} failed: UNKNOWN (failed to leave cluster: etcdserver: unhealthy cluster)\n` +
                `${CP3.ip} is still an etcd member. If its etcd is broken, remove the member through another control plane ` +
                `(talosctl -n ${CP1.ip} etcd remove-member ${hex(MEMBERS[2].id)}), then run \`pulumi up\` again.`,
        ]);
        expect(apid.etcd.members).toHaveLength(3);
        expect(kube.totalRequests).toBe(0);
    });

    it("a member that left already: straight to the drain", async () => {
        apid.etcd.members = apid.etcd.members.filter((m) => m.ip !== CP3.ip);
        const run = await removeNode(CP3, "controlplane");
        expect(run.code).toBe(ExitCode.OK);
        expect(timeless(run.out)).toContain(`[remove-node] ${CP3.ip} is not an etcd member (of 2): it has left etcd already`);
        expect(apid.received.map((c) => c.method)).toEqual(["etcdMemberList"]);
        expect(nodeNamed(CP3.name)).toBeUndefined();
    });

    it("etcd's only member is left alone: the cluster ends with it", async () => {
        apid.etcd.members = [MEMBERS[0]];
        const run = await removeNode(CP1, "controlplane");
        expect(run.code).toBe(ExitCode.OK);
        expect(timeless(run.out).slice(-2)).toEqual([
            `[remove-node] warning: ${CP1.ip} is etcd's only voting member, so it neither leaves etcd nor is drained: the cluster ends ` +
                "with it (its last control plane goes only when the whole stack is destroyed)",
            `[remove-node] done: nothing to do for ${CP1.name}; the cluster goes with it`,
        ]);
        expect(apid.etcd.members).toHaveLength(1);
        expect(kube.totalRequests).toBe(0);
    });
});

describe("remove-node usage", () => {
    it("names every missing or bad flag at once", async () => {
        const run = await runCli(["remove-node", "--node", "172.30.0.300", "--role", "master"], env());
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual([
            '[remove-node] error: remove-node: --node "172.30.0.300" is not an IPv4 address like 172.30.0.3; ' +
                '--container NAME is required (the node\'s container); --role "master" is not controlplane or worker',
        ]);
    });

    it("needs the kubeconfig, and a control plane the talosconfig too", async () => {
        const worker = await runCli(["remove-node", "--node", W2.ip, "--container", W2.name, "--role", "worker"], {});
        expect(worker.code).toBe(ExitCode.USAGE);
        expect(worker.err).toEqual(["[remove-node] error: remove-node: no kubeconfig: set TALOS_DOCKER_KUBECONFIG to its YAML text or pass --kubeconfig FILE"]);
        const cp = await runCli(["remove-node", "--node", CP3.ip, "--container", CP3.name, "--role", "controlplane"], { TALOS_DOCKER_KUBECONFIG: "x" });
        expect(cp.code).toBe(ExitCode.USAGE);
        expect(cp.err).toEqual(["[remove-node] error: remove-node: no talosconfig: set TALOS_DOCKER_TALOSCONFIG to its YAML text or pass --talosconfig FILE"]);
    });

    it("a control plane's bad kubeconfig is refused before etcd is touched", async () => {
        const run = await removeNode(CP3, "controlplane", { env: env({ TALOS_DOCKER_KUBECONFIG: "clusters: []\n" }) });
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err[0]).toMatch(/^\[remove-node\] error: kubeconfig: /);
        expect(apid.received).toEqual([]);
    });

    it("prints its help with the exit codes", async () => {
        const run = await runCli(["remove-node", "--help"], {});
        expect(run.code).toBe(ExitCode.OK);
        const help = run.out.join("\n");
        expect(help).toMatch(/^Usage: remove-node --node IP --container NAME --role controlplane\|worker \[flags\]/);
        expect(help).toContain("TALOS_DOCKER_DESTROYING");
        expect(help).toMatch(/Exit codes:\n {2}0 {2}done\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 .*\n {2}5 .*$/);
    });
});

describe("remove-node asks Docker first", () => {
    const stop = (...names: string[]) => {
        docker.containers = docker.containers.map((c) => (names.includes(c.name) ? stopped(c) : c));
    };
    const remove = (...names: string[]) => {
        docker.containers = docker.containers.filter((c) => !names.includes(c.name));
    };
    const downLine = (n: FakeNodeSpec, why: string) =>
        `[remove-node] ${n.name} (${n.ip}): ${why}, and no control plane of cluster ${CLUSTER} runs: the cluster is down, ` +
        "so nothing can leave it and nothing needs to; its Node object and etcd member, if any, go with the cluster";

    it("a cluster stopped with docker stop: says so in one line, exits 0 at once, calls neither API", async () => {
        stop(...ROLES.map(([n]) => n.name));
        for (const [n, role] of [[W2, "worker"], [CP3, "controlplane"]] as const) {
            const run = await removeNode(n, role);
            expect(run.err).toEqual([]);
            expect(run.code).toBe(ExitCode.OK);
            expect(run.out).toEqual([downLine(n, "its container is exited")]);
            expect(run.ms).toBeLessThan(1_000);
        }
        expect(kube.totalRequests).toBe(0);
        expect(apid.received).toEqual([]);
    });

    it("a cluster removed behind Pulumi's back (another cluster's control plane running): down too, by the kubeconfig's cluster name", async () => {
        docker.containers = [fakeNode({ name: "other-cp-01", cluster: "other", role: "controlplane", ip: "10.9.0.2", network: "other" })];
        const run = await removeNode(CP3, "controlplane");
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toEqual([downLine(CP3, "it has no container")]);
        expect(kube.totalRequests).toBe(0);
        expect(apid.received).toEqual([]);
    });

    it("only the worker stopped: not drained; its Node deleted, its pods left to the pod garbage collector; twice is fine", async () => {
        stop(W2.name);
        kube.pods = workload(W2);
        // No kubelet would confirm an evicted pod gone: a drain would wait until the deadline.
        kube.terminationReads = Infinity;
        const run = await removeNode(W2, "worker");
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(timeless(run.out)).toEqual([
            `[remove-node] removing worker ${W2.ip} (container ${W2.name}): its container is exited while cluster ${CLUSTER} runs ` +
                `(${CP1.name}, ${CP2.name}, ${CP3.name}), so its Node is deleted without a drain (no kubelet would confirm its pods ` +
                "gone; the pod garbage collector deletes them)",
            `[remove-node] finding the Node of ${W2.ip}`,
            `[remove-node] deleting Node ${W2.name}`,
            `[remove-node] deleted Node ${W2.name}`,
            `[remove-node] done: ${W2.name} is out of the cluster; its container can go`,
        ]);
        expect(requests()).toEqual(["GET /api/v1/nodes", `DELETE /api/v1/nodes/${W2.name}`]);
        expect(kube.evictions).toEqual([]);
        expect(nodeNamed(W2.name)).toBeUndefined();
        expect(kube.pods.filter((p) => p.spec?.nodeName === W2.name)).toHaveLength(workload(W2).length);
        expect(apid.received).toEqual([]);

        const again = await removeNode(W2, "worker");
        expect(again.code).toBe(ExitCode.OK);
        expect(timeless(again.out)).toContain(`[remove-node] no Node has address ${W2.ip} or name ${W2.name}: it is gone already`);
    });

    it("the worker's container removed, the cluster running: its Node deleted, the cluster named by the kubeconfig", async () => {
        remove(W2.name);
        const run = await removeNode(W2, "worker");
        expect(run.code).toBe(ExitCode.OK);
        expect(timeless(run.out)[0]).toMatch(new RegExp(`^\\[remove-node\\] removing worker ${W2.ip} \\(container ${W2.name}\\): it has no container while cluster ${CLUSTER} runs `));
        expect(requests()).toEqual(["GET /api/v1/nodes", `DELETE /api/v1/nodes/${W2.name}`]);
    });

    it("a stopped control plane of a running cluster: the quorum checked, its member removed through another control plane, its Node deleted", async () => {
        stop(CP3.name);
        apid.nodes[CP3.ip].down = true;
        const run = await removeNode(CP3, "controlplane");
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        const id = hex(MEMBERS[2].id);
        expect(timeless(run.out)).toEqual([
            `[remove-node] removing control plane ${CP3.ip} (container ${CP3.name}): its container is exited while cluster ${CLUSTER} ` +
                `runs (${CP1.name}, ${CP2.name}), so its etcd member is removed through another control plane and its Node deleted ` +
                "without a drain (no kubelet would confirm its pods gone; the pod garbage collector deletes them)",
            `[remove-node] reading the etcd members through ${apid.endpoint}`,
            `[remove-node] ${CP3.ip} is etcd member ${CP3.name} (member ${id}), one of 3`,
            `[remove-node] etcd keeps its quorum without ${CP3.ip}: 2 of 2 voting members healthy, 2 needed`,
            `[remove-node] removing member ${id} through ${CP1.ip} (talosctl -n ${CP1.ip} etcd remove-member)`,
            `[remove-node] ${CP1.ip} removed member ${id}`,
            `[remove-node] etcd no longer lists ${CP3.name} (member ${id})`,
            `[remove-node] finding the Node of ${CP3.ip}`,
            `[remove-node] deleting Node ${CP3.name}`,
            `[remove-node] deleted Node ${CP3.name}`,
            `[remove-node] done: ${CP3.name} is out of etcd and of the cluster; its container can go`,
        ]);
        // Never asked to leave: straight to the removal by ID.
        expect(apid.received).toEqual([
            { method: "etcdMemberList", nodes: [], node: [] },
            { method: "etcdMemberList", nodes: [CP1.ip], node: [] },
            { method: "etcdMemberList", nodes: [CP2.ip], node: [] },
            { method: "etcdRemoveMemberById", nodes: [CP1.ip], node: [] },
            { method: "etcdMemberList", nodes: [CP1.ip], node: [] },
        ]);
        expect(apid.etcd.members.map((m) => m.id)).toEqual([MEMBERS[0].id, MEMBERS[1].id]);
        expect(requests()).toEqual(["GET /api/v1/nodes", `DELETE /api/v1/nodes/${CP3.name}`]);
    });

    it("a stopped control plane whose removal would cost the quorum is refused as before (exit 5)", async () => {
        stop(CP3.name);
        apid.nodes[CP2.ip].etcdUnhealthy = "context deadline exceeded";
        const run = await removeNode(CP3, "controlplane");
        expect(run.code).toBe(ExitCode.UNHEALTHY);
        expect(run.err[0]).toMatch(/would leave 2 voting members of which 1 answers as healthy/);
        expect(apid.etcd.members).toHaveLength(3);
        expect(kube.totalRequests).toBe(0);
    });

    it("a paused node container counts as running: drained as today", async () => {
        docker.containers = docker.containers.map((c) => (c.name === W2.name ? { ...c, status: "paused" } : c));
        const run = await removeNode(W2, "worker");
        expect(run.code).toBe(ExitCode.OK);
        expect(timeless(run.out)[0]).toBe(`[remove-node] removing worker ${W2.ip} (container ${W2.name}): cordon, drain, delete its Node`);
        expect(requests()).toContain(`PATCH /api/v1/nodes/${W2.name}`);
    });

    it("Docker not running: says so, then removes the node as today", async () => {
        docker.down = true;
        const run = await removeNode(W2, "worker");
        expect(run.code).toBe(ExitCode.OK);
        expect(timeless(run.out).slice(0, 2)).toEqual([
            `[remove-node] warning: Docker cannot tell whether ${W2.name} (${W2.ip}) runs (the Docker Engine at ${docker.host} is not ` +
                "running (ECONNREFUSED): start it); going on as if it does",
            `[remove-node] removing worker ${W2.ip} (container ${W2.name}): cordon, drain, delete its Node`,
        ]);
        expect(requests()).toContain(`PATCH /api/v1/nodes/${W2.name}`);
        expect(nodeNamed(W2.name)).toBeUndefined();
    });

    it("Docker silent: gives up on it within its bound (a quarter of --timeout), then removes the node as today", async () => {
        docker.silent = true;
        const run = await removeNode(W2, "worker", { flags: ["--timeout", "2s"] });
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out[0]).toBe(
            `[remove-node] warning: Docker cannot tell whether ${W2.name} (${W2.ip}) runs (docker inspect ${W2.name}: the Docker ` +
                `Engine at ${docker.host} did not answer in 500 ms); going on as if it does`,
        );
        expect(run.ms).toBeGreaterThanOrEqual(490);
        expect(run.ms).toBeLessThan(1_500);
        expect(nodeNamed(W2.name)).toBeUndefined();
    });
});
