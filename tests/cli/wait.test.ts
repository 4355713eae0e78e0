// `wait` against a fake Kubernetes API (HTTPS, client certificates from the test PKI), through the whole CLI.

import { performance } from "node:perf_hooks";

import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { FakeKube, makeNode, type FakeNodeSpec } from "../support/fake-kube";
import { makeSecretsBundle } from "../support/pki";
import { issueCert } from "./support/certs";
import { kubeconfigFor, makeTestPki, runCli, type TestPki } from "./support/harness";

let pki: TestPki;
const fakes: FakeKube[] = [];

beforeAll(async () => {
    pki = await makeTestPki();
    // `wait` loads the Kubernetes client on first use; load it now so the timings below are the wait's.
    await import("../../cli/kube/client");
});

afterEach(async () => {
    await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fake(deferListen = false): Promise<FakeKube> {
    const f = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s, deferListen });
    fakes.push(f);
    return f;
}

const NODES: FakeNodeSpec[] = [
    { name: "talos-cp-1", ip: "172.30.0.2" },
    { name: "talos-worker-1", ip: "172.30.0.3" },
    { name: "talos-worker-2", ip: "172.30.0.4" },
];
const CONTAINERS = NODES.map((n) => `${n.name}=${n.ip}`).join(",");
const env = (kubeconfig: string) => ({ TALOS_DOCKER_KUBECONFIG: kubeconfig });
const waitArgs = (timeout: string) => ["wait", "--nodes", "3", "--timeout", timeout, "--containers", CONTAINERS];
/** As the program runs it: the nodes by role, what the config deploys. */
const programArgs = (timeout: string) => [
    "wait", "--timeout", timeout, "--control-planes", `${NODES[0].name}=${NODES[0].ip}`,
    "--workers", NODES.slice(1).map((n) => `${n.name}=${n.ip}`).join(","), "--cni", "flannel", "--kube-proxy", "on", "--coredns", "on",
];
const NO_TALOS = "[wait] not waiting for etcd to be healthy, etcd members to be consistent across nodes, etcd members to be control plane nodes, " +
    "apid to be ready, kubelet to be healthy, all nodes to finish boot sequence: no talosconfig (the Talos-side checks need one) (0s)";

describe("wait", () => {
    it("follows the cluster up and notices it is ready within a second", async () => {
        const kube = await fake(true);
        setTimeout(() => void kube.listen(), 300);
        let readyAt = 0;
        setTimeout(() => {
            kube.setHealthy(NODES);
            kube.setNodeNotReady("talos-worker-2");
        }, 2000);
        setTimeout(() => {
            kube.setHealthy(NODES);
            readyAt = performance.now();
        }, 2700);
        const run = await runCli(programArgs("10s"), env(kubeconfigFor(pki, kube.url)));
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(performance.now() - readyAt).toBeLessThan(1000);
        expect(run.out).toEqual([
            NO_TALOS,
            `[wait] waiting for the Kubernetes API at ${kube.url} to be ready (0s, connection refused)`,
            // a new reason waits a second after the last line; a new state is printed at once
            expect.stringMatching(new RegExp(`^\\[wait\\] waiting for the Kubernetes API at ${kube.url} to be ready \\([12]s, readyz 500 \\(failing: etcd\\)\\)$`)),
            expect.stringMatching(/^\[wait\] waiting for all k8s nodes to report ready \([23]s, 2\/3 nodes Ready \(NotReady: talos-worker-2\)\)$/),
            expect.stringMatching(new RegExp("^\\[wait\\] done: API ready, 3/3 nodes registered, 3/3 static pods running, control plane 3/3 ready, " +
                "3/3 nodes Ready, kube-proxy 3/3 ready, CoreDNS 2/2 ready, flannel 3/3 ready, 3/3 schedulable \\([34]s\\)$")),
        ]);
    });

    it("times out when the API never gets ready, pointing at every node's logs, polling twice a second at most", async () => {
        const kube = await fake();
        const run = await runCli(waitArgs("2s"), env(kubeconfigFor(pki, kube.url)));
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err).toEqual([
            [
                "[wait] error: timed out after 2s waiting for the cluster to be ready. Not ready:",
                `  - the Kubernetes API at ${kube.url} is not ready: readyz 500 (failing: etcd)`,
                "  - not judged yet: all k8s nodes to report, all control plane static pods to be running, all control plane components to be ready, " +
                    "all k8s nodes to report ready, kube-proxy to report ready, coredns to report ready, flannel to report ready, " +
                    "all k8s nodes to report schedulable (the API is not ready)",
                "Read the logs:",
                ...NODES.flatMap((n) => [`  docker logs ${n.name}`, `  talosctl -n ${n.ip} dmesg`, `  talosctl -n ${n.ip} logs kubelet`]),
            ].join("\n"),
        ]);
        // 2 s at one poll per 500 ms: 4 or 5 polls of /readyz alone (nodes and pods wait for it)
        expect(kube.totalRequests).toBeGreaterThanOrEqual(4);
        expect(kube.totalRequests).toBeLessThanOrEqual(5);
        expect(run.out).toEqual([NO_TALOS, `[wait] waiting for the Kubernetes API at ${kube.url} to be ready (0s, readyz 500 (failing: etcd))`]);
    });

    it("times out when one node never gets Ready, naming it, its pods and its logs", async () => {
        const kube = await fake();
        kube.setHealthy(NODES);
        kube.setNodeNotReady("talos-worker-2");
        const run = await runCli(waitArgs("2s"), env(kubeconfigFor(pki, kube.url)));
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err).toEqual([
            [
                "[wait] error: timed out after 2s waiting for the cluster to be ready. Not ready:",
                "  - node talos-worker-2 is NotReady (KubeletNotReady: container runtime network not ready: NetworkReady=false " +
                    "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized)",
                "  - pod kube-system/kube-proxy-b8w3n on talos-worker-2 is not ready (Pending: ContainerCreating)",
                "  - pod kube-system/kube-flannel-b8w3n on talos-worker-2 is not ready (Pending: ContainerCreating)",
                "Read the logs:",
                "  docker logs talos-worker-2",
                "  talosctl -n 172.30.0.4 dmesg",
                "  talosctl -n 172.30.0.4 logs kubelet",
            ].join("\n"),
        ]);
        // five GETs a poll (readyz, nodes, pods, DaemonSets, Deployments), a poll every 500 ms
        expect(kube.totalRequests).toBeLessThanOrEqual(25);
    });

    it("names the nodes that never registered and the system pods that never appeared", async () => {
        const kube = await fake();
        kube.apiReady = true;
        kube.nodes = [makeNode(NODES[0], true)];
        const run = await runCli(["wait", "--nodes", "3", "--timeout", "2s", "--containers", "talos-cp-1,talos-worker-1,talos-worker-2"], env(kubeconfigFor(pki, kube.url)));
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err).toEqual([
            [
                "[wait] error: timed out after 2s waiting for the cluster to be ready. Not ready:",
                "  - only 1 of 3 nodes have registered (missing: talos-worker-1, talos-worker-2)",
                "  - not judged yet: all k8s nodes to report ready (1/3 nodes Ready (not every node has registered))",
                "Read the logs:",
                "  docker logs talos-worker-1",
                "  talosctl -n <ip of talos-worker-1> dmesg",
                "  talosctl -n <ip of talos-worker-1> logs kubelet",
                "  docker logs talos-worker-2",
                "  talosctl -n <ip of talos-worker-2> dmesg",
                "  talosctl -n <ip of talos-worker-2> logs kubelet",
            ].join("\n"),
        ]);
    });

    it("fails at once when the kubeconfig's CA is not the cluster's", async () => {
        const kube = await fake();
        const other = await makeSecretsBundle({ rsaBits: 2048 });
        const run = await runCli(waitArgs("30s"), env(kubeconfigFor(pki, kube.url, { ca: other.certs.k8s.crt })));
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.ms).toBeLessThan(2000);
        expect(run.err).toEqual([
            `[wait] error: the Kubernetes API at ${kube.url} failed TLS verification (CERT_SIGNATURE_FAILURE): the kubeconfig's ` +
                "certificate-authority-data is not the CA of this cluster. Use the kubeconfig of this stack (`pulumi stack output kubeconfig --show-secrets`).",
        ]);
    });

    it("fails at once when the API server does not accept the client certificate", async () => {
        const kube = await fake();
        const stranger = await issueCert((await makeSecretsBundle({ rsaBits: 2048 })).certs.k8s, { commonName: "admin", organizations: ["system:masters"], usage: "client" });
        const run = await runCli(waitArgs("30s"), env(kubeconfigFor(pki, kube.url, { client: stranger })));
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.ms).toBeLessThan(2000);
        expect(run.err).toEqual([
            `[wait] error: the Kubernetes API at ${kube.url} answered 401 Unauthorized: it does not accept the kubeconfig's client certificate. ` +
                "Use the admin kubeconfig of this stack (`pulumi stack output kubeconfig --show-secrets`).",
        ]);
    });
});

describe("wait input", () => {
    it("needs --nodes", async () => {
        const run = await runCli(["wait"], env("apiVersion: v1"));
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(["[wait] error: wait: --nodes N is required (the number of nodes the cluster has), unless --control-planes/--workers list them"]);
    });

    it("names every bad flag at once, with what is allowed", async () => {
        const run = await runCli(
            ["wait", "--nodes", "2", "--control-planes", "cp=10.0.0.2", "--cni", "cilium", "--kube-proxy", "yes", "--cluster", "My_Lab"], env("apiVersion: v1"));
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual([
            "[wait] error: wait: --cni \"cilium\" is not one of flannel, custom, none; --kube-proxy \"yes\" is not on or off; " +
                "--nodes 2 does not match the 1 nodes --control-planes and --workers list; " +
                "--cluster \"My_Lab\" is not a cluster name (a DNS label, as clusterName is)",
        ]);
    });

    it("needs a kubeconfig", async () => {
        const run = await runCli(["wait", "--nodes", "1"], {});
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(["[wait] error: wait: no kubeconfig: set TALOS_DOCKER_KUBECONFIG to its YAML text or pass --kubeconfig FILE"]);
    });

    it("never quotes a malformed kubeconfig", async () => {
        const run = await runCli(["wait", "--nodes", "1"], env("users:\n- name: a\n  user: {client-key-data: c2VjcmV0, [\n"));
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err.join("\n")).not.toContain("c2VjcmV0");
        expect(run.err).toEqual(["[wait] error: kubeconfig: not valid YAML (line 4, column 1)"]);
    });
});
