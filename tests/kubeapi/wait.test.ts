// `wait` and `status`' Kubernetes section against a real kube-apiserver
// (tests/support/kube-apiserver.ts), the cluster's state written as kubelets and controllers
// write it (tests/support/kubelet.ts): nodes registering, NotReady with the kubelet's reason,
// Failed pods beside ready ones, kube-proxy and the CNI absent, the API restarting mid-wait, and
// the credentials it refuses. Skipped, with the reason printed, where the server cannot be built
// or etcd is missing.

import { performance } from "node:perf_hooks";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import type { StatusReport } from "../../cli/status/report";
import type { SecretsBundle } from "../../talos/secretsbundle";
import { issueCert } from "../cli/support/certs";
import { runCli } from "../cli/support/harness";
import { FakeDocker } from "../support/fake-docker";
import { kubeApiserverAvailability, startRealKube, type RealKube } from "../support/kube-apiserver";
import { CNI_NOT_READY, Kubelets } from "../support/kubelet";
import { makeSecretsBundle } from "../support/pki";
import { renderKubeconfig } from "../../talos/clientconfig";

const available = kubeApiserverAvailability();
if ("why" in available) console.warn(`tests/kubeapi/wait skipped: ${available.why}`);

const CP = { name: "talos-cp-01", ip: "172.30.0.2" };
const WORKERS = [{ name: "talos-worker-01", ip: "172.30.0.3" }, { name: "talos-worker-02", ip: "172.30.0.4" }];
const NODES = [CP, ...WORKERS];
const STATIC_PODS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/** The ready command's line as the program writes it (cli/invocation.ts waitArgs), for a config. */
function programArgs(timeout: string, cni = "flannel", kubeProxy = "on"): string[] {
    return [
        "wait", "--nodes", "3", "--timeout", timeout, "--control-planes", `${CP.name}=${CP.ip}`,
        "--workers", WORKERS.map((n) => `${n.name}=${n.ip}`).join(","), "--cni", cni, "--kube-proxy", kubeProxy, "--coredns", "on",
    ];
}

describe.skipIf("why" in available)("wait against a real kube-apiserver", () => {
    let secrets: SecretsBundle;
    let kube: RealKube;
    let kubelets: Kubelets;
    const env = () => ({ TALOS_DOCKER_KUBECONFIG: kube.kubeconfig });

    beforeAll(async () => {
        secrets = await makeSecretsBundle({ rsaBits: 2048 });
        kube = await startRealKube(secrets);
        kubelets = await Kubelets.connect(kube.kubeconfig);
        // `wait` loads the Kubernetes client on first use; load it now so the timings are the wait's.
        await import("../../cli/kube/client");
    }, 120_000);
    afterEach(async () => kubelets.reset());
    afterAll(async () => {
        kubelets?.close();
        await kube?.stop();
    });

    async function registerAll(): Promise<void> {
        await Promise.all(NODES.map((n) => kubelets.registerNode(n.name, n.ip, n === CP)));
    }

    async function controlPlanePods(): Promise<void> {
        await Promise.all(STATIC_PODS.map((app) => kubelets.runPod(`${app}-${CP.name}`, app, CP.name, "ready")));
    }

    /** What Talos deploys once the nodes are up: kube-proxy and flannel on each, CoreDNS ×2. */
    async function systemPods(opts: { kubeProxy?: boolean; flannel?: boolean } = {}): Promise<void> {
        const daemonSets: [string, string][] = [];
        if (opts.kubeProxy ?? true) daemonSets.push(["kube-proxy", "kube-proxy"]);
        if (opts.flannel ?? true) daemonSets.push(["kube-flannel", "flannel"]);
        await Promise.all([
            ...daemonSets.map(([name, app]) => kubelets.daemonSet(name, app, NODES.length)),
            kubelets.deployment("coredns", "kube-dns", 2),
            ...daemonSets.flatMap(([name, app]) => NODES.map((n, i) => kubelets.runPod(`${name}-${i}`, app, n.name, "ready"))),
            kubelets.runPod("coredns-a", "kube-dns", WORKERS[0].name, "ready"),
            kubelets.runPod("coredns-b", "kube-dns", WORKERS[1].name, "ready"),
        ]);
    }

    async function healthy(): Promise<void> {
        await registerAll();
        await Promise.all([controlPlanePods(), ...NODES.map((n) => kubelets.setNodeReady(n.name))]);
        await systemPods();
    }

    it("follows the nodes registering and NotReady to ready, and notices within a second", async () => {
        let readyAt = 0;
        const cluster = (async () => {
            await sleep(1200);
            await registerAll();
            await sleep(1500);
            await controlPlanePods();
            await Promise.all(NODES.map((n) => kubelets.setNodeReady(n.name)));
            await systemPods();
            readyAt = performance.now();
        })();
        const run = await runCli(programArgs("30s"), env());
        await cluster;
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(performance.now() - readyAt).toBeLessThan(1000);
        expect(run.out[1]).toMatch(/^\[wait\] waiting for all k8s nodes to report \(0s, 0\/3 nodes registered\)$/);
        expect(run.out).toContainEqual(expect.stringMatching(/^\[wait\] waiting for all control plane static pods to be running \(\ds, 0\/3 static pods running\)$/));
        expect(run.out.at(-1)).toMatch(new RegExp("^\\[wait\\] done: API ready, 3/3 nodes registered, 3/3 static pods running, control plane 3/3 ready, "
            + "3/3 nodes Ready, kube-proxy 3/3 ready, CoreDNS 2/2 ready, flannel 3/3 ready, 3/3 schedulable \\(\\ds\\)$"));
    });

    it("times out on a NotReady node, giving the kubelet's reason and its pods' state", async () => {
        await healthy();
        await kubelets.reset();
        await registerAll();
        await Promise.all([controlPlanePods(), kubelets.setNodeReady(CP.name), kubelets.setNodeReady(WORKERS[0].name)]);
        await systemPods();
        await kubelets.podState("kube-flannel-2", "flannel", "crashing");
        const run = await runCli(programArgs("2s"), env());
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err[0].split("\n").slice(0, 3)).toEqual([
            "[wait] error: timed out after 2s waiting for the cluster to be ready. Not ready:",
            `  - node talos-worker-02 is NotReady (KubeletNotReady: ${CNI_NOT_READY})`,
            "  - pod kube-system/kube-flannel-2 on talos-worker-02 is not ready (Running: CrashLoopBackOff)",
        ]);
        expect(run.err[0]).toContain("  talosctl -n 172.30.0.4 logs kubelet");
        expect(run.err[0]).not.toContain("docker logs talos-worker-01");
    });

    // The engine runs the ready step of a scale-down before the removed nodes' remove-node: the
    // Node of the worker that goes is still there, its pods too.
    it("on a scale-down, notes the Node of the worker being removed and does not wait for it", async () => {
        await healthy();
        const args = [
            "wait", "--nodes", "2", "--timeout", "10s", "--control-planes", `${CP.name}=${CP.ip}`,
            "--workers", `${WORKERS[0].name}=${WORKERS[0].ip}`, "--cluster", "talos", "--cni", "flannel", "--kube-proxy", "on", "--coredns", "on",
        ];
        const run = await runCli(args, env());
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out.at(-1)).toContain("2/2 nodes registered; leaving, removed after this wait: talos-worker-02");
        // Without the cluster's name the same Node is a stranger, as Talos' NodesMatch calls it.
        const strict = await runCli(args.filter((a, i) => a !== "--cluster" && args[i - 1] !== "--cluster").map((a) => (a === "10s" ? "2s" : a)), env());
        expect(strict.code).toBe(ExitCode.TIMEOUT);
        expect(strict.err[0]).toContain("node talos-worker-02 is not one of the cluster's 2 nodes");
    });

    it("ignores a Failed (evicted) and a Succeeded pod next to two ready CoreDNS pods", async () => {
        await healthy();
        await kubelets.runPod("coredns-evicted", "kube-dns", WORKERS[0].name, "failed");
        await kubelets.runPod("coredns-done", "kube-dns", WORKERS[1].name, "succeeded");
        const run = await runCli(programArgs("10s"), env());
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out.at(-1), run.out.join("\n")).toContain("CoreDNS 2/2 ready (2 ignored: Failed, Succeeded)");
    });

    it("with cni none and kube-proxy off, waits for the nodes to register, not to be Ready, and says so", async () => {
        await registerAll();
        await controlPlanePods();
        await kubelets.deployment("coredns", "kube-dns", 2);
        await kubelets.runPod("coredns-a", "kube-dns", CP.name, "creating");
        const run = await runCli(programArgs("10s", "none", "off"), env());
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toContain("[wait] not waiting for all k8s nodes to report ready: cluster.network.cni.name is none: "
            + "nodes stay NotReady until a CNI is installed, so only their registration is waited for (0s)");
        expect(run.out).toContain("[wait] not waiting for kube-proxy to report ready: the config does not deploy kube-proxy (cluster.proxy.disabled) (0s)");
        expect(run.out).toContain("[wait] not waiting for flannel to report ready: cluster.network.cni.name is none: there is no CNI to wait for (0s)");
        expect(run.out.at(-1)).toMatch(/^\[wait\] done: API ready, 3\/3 nodes registered, 3\/3 static pods running, control plane 3\/3 ready, 3\/3 schedulable \(\ds\)$/);
    });

    it("by hand, without the config's word, skips a kube-proxy and a CNI that are absent, as Talos does", async () => {
        await registerAll();
        await Promise.all([controlPlanePods(), ...NODES.map((n) => kubelets.setNodeReady(n.name))]);
        await systemPods({ kubeProxy: false, flannel: false });
        const run = await runCli(["wait", "--nodes", "3", "--timeout", "10s", "--containers", NODES.map((n) => n.name).join(",")], env());
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toContain("[wait] not waiting for kube-proxy to report ready: no DaemonSet kube-proxy in kube-system (0s)");
        expect(run.out).toContain("[wait] not waiting for flannel to report ready: no DaemonSet kube-flannel in kube-system (0s)");
    });

    it("keeps waiting while the API server restarts, then notices the cluster ready", async () => {
        await healthy();
        await kubelets.cordon(WORKERS[1].name);
        const cluster = (async () => {
            await sleep(1000);
            await kube.restart(1500);
            for (;;) {
                try {
                    await kubelets.cordon(WORKERS[1].name, false);
                    return;
                } catch {
                    await sleep(200);
                }
            }
        })();
        const run = await runCli(programArgs("60s"), env());
        await cluster;
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out[1]).toMatch(/^\[wait\] waiting for all k8s nodes to report schedulable \(0s, node talos-worker-02 is cordoned \(unschedulable\)\)$/);
        expect(run.out).toContainEqual(expect.stringMatching(new RegExp(`^\\[wait\\] waiting for the Kubernetes API at ${kube.url} to be ready \\(\\ds, `)));
        expect(run.out.at(-1)).toMatch(/^\[wait\] done: /);
    }, 90_000);

    it("fails at once on a kubeconfig with another CA, a client certificate the API refuses (401), or a user it forbids (403)", async () => {
        const other = await makeSecretsBundle({ rsaBits: 2048 });
        const wrongCa = renderKubeconfig({ clusterName: "talos", server: kube.url, ca: other.certs.k8s.crt, crt: "", key: "" });
        const stranger = await issueCert(other.certs.k8s, { commonName: "admin", organizations: ["system:masters"], usage: "client" });
        const unknownClient = renderKubeconfig({ clusterName: "talos", server: kube.url, ca: secrets.certs.k8s.crt, crt: stranger.crt, key: stranger.key });
        for (const [kubeconfig, expected] of [
            [wrongCa, /failed TLS verification .*: the kubeconfig's certificate-authority-data is not the CA of this cluster/],
            [unknownClient, /answered 401 Unauthorized: it does not accept the kubeconfig's client certificate/],
            [await kube.userKubeconfig("nobody"), /403 Forbidden: the kubeconfig's user/],
        ] as const) {
            const run = await runCli(programArgs("30s"), { TALOS_DOCKER_KUBECONFIG: kubeconfig });
            expect(run.code).toBe(ExitCode.FATAL);
            expect(run.ms).toBeLessThan(3000);
            expect(run.err[0]).toMatch(expected);
        }
    });

    describe("status' Kubernetes section", () => {
        const status = async () => {
            const run = await runCli(["status", "--kubeconfig", "/kubeconfig", "--timeout", "2s", "--json"], { PATH: "/nonexistent" }, {
                files: { "/kubeconfig": kube.kubeconfig },
                clients: { docker: () => new FakeDocker() },
            });
            return JSON.parse(run.out.join("\n")) as StatusReport;
        };

        it("is clean for a ready cluster, Failed pods ignored", async () => {
            await healthy();
            await kubelets.runPod("coredns-evicted", "kube-dns", WORKERS[0].name, "failed");
            const report = await status();
            expect(report.kubernetes).toMatchObject({ api: "ok", nodesReady: 3, nodesExpected: 3, nodesExpectedFrom: "api", problems: [] });
            expect(report.kubernetes.summary).toContain("CoreDNS 2/2 ready (1 ignored: Failed)");
        });

        it("names a crash-looping pod and a cordoned node, each with the next step", async () => {
            await healthy();
            await kubelets.cordon(WORKERS[0].name);
            await kubelets.podState("coredns-a", "kube-dns", "crashing");
            const report = await status();
            const findings = report.findings.filter((f) => f.section === "kubernetes").map((f) => [f.what, f.next]);
            expect(findings).toEqual([
                ["pod kube-system/coredns-a on talos-worker-01 is not ready (Running: CrashLoopBackOff)", "kubectl -n kube-system describe pod coredns-a; kubectl -n kube-system logs coredns-a"],
                ["node talos-worker-01 is cordoned (unschedulable)", "kubectl describe node talos-worker-01; kubectl uncordon talos-worker-01"],
            ]);
        });
    });
});

function sleep(ms: number): Promise<void> {
    return new Promise((done) => setTimeout(done, ms));
}
