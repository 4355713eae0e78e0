// `apply` through the whole CLI against the fake apid (gRPC, mutual TLS from the test PKI) and,
// for the Kubernetes steps, the fake Kubernetes API: configs rendered from a real secrets bundle,
// every fault of the fake node, the calls and their routing metadata as they arrived, and no
// value of the bundle in any line the CLI prints.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { ExitCode } from "../../cli/exitcodes";
import { parseYamlDocuments } from "../../talos/yaml";
import { renderMachineConfig, type MachineRole } from "../../talos/machineconfig";
import type { ConfigPatch } from "../../talos/patches";
import { FakeKube, makeNode, makeStaticPod, type FakeNodeSpec } from "../support/fake-kube";
import { FakeTalos, type FakeNode } from "../support/fake-talos";
import { bundleStrings, makeSecretsBundle } from "../support/pki";
import { FakeClock } from "./support/fakeclock";
import { kubeconfigFor, makeTestPki, runCli, talosconfigFor, type CliRun, type TestPki } from "./support/harness";

const CP: FakeNodeSpec = { name: "talos-cp-01", ip: "172.30.0.2" };
const WORKER: FakeNodeSpec = { name: "talos-worker-01", ip: "172.30.0.3" };

let pki: TestPki;
let apid: FakeTalos;
let secrets: string[];
const kubes: FakeKube[] = [];

beforeAll(async () => {
    pki = await makeTestPki();
    apid = await FakeTalos.start({ osCa: pki.bundle.certs.os, self: CP.ip });
    secrets = bundleStrings(pki.bundle);
});

afterAll(async () => {
    await apid.close();
});

afterEach(async () => {
    await Promise.all(kubes.splice(0).map((k) => k.close()));
});

function render(role: MachineRole, opts: { kubernetesVersion?: string; patch?: Record<string, unknown>; talosVersion?: string } = {}): string {
    const patches: ConfigPatch[] = opts.patch === undefined ? [] : [{ kind: "strategic", documents: [opts.patch] }];
    return renderMachineConfig({
        role,
        clusterName: "talos",
        controlPlaneEndpoint: `https://${CP.ip}:6443`,
        talosVersion: opts.talosVersion ?? "v1.8.3",
        kubernetesVersion: opts.kubernetesVersion ?? "1.31.1",
        secrets: pki.bundle,
        patches,
    });
}

const LABELLED = { machine: { nodeLabels: { tier: "gold" } } };
// machine.env applies only at boot (talos/applymode.ts): auto reboots for it.
const WITH_ENV = { machine: { env: { GRPC_GO_LOG_SEVERITY_LEVEL: "error" } } };

/** A fresh pair of nodes behind the apid, each running `config`. */
function nodes(worker: FakeNode, cp: FakeNode = { config: render("controlplane") }): { cp: FakeNode; worker: FakeNode } {
    apid.nodes = { [CP.ip]: cp, [WORKER.ip]: worker };
    apid.received.length = 0;
    return { cp, worker };
}

async function apply(node: FakeNodeSpec, desired: string, opts: { flags?: string[]; env?: Record<string, string>; clock?: FakeClock } = {}): Promise<CliRun> {
    const run = await runCli(
        ["apply", "--node", node.ip, "--container", node.name, ...(opts.flags ?? [])],
        { TALOS_DOCKER_TALOSCONFIG: talosconfigFor(pki, apid.endpoint), TALOS_DOCKER_MACHINE_CONFIG: desired, ...opts.env },
        { clock: opts.clock },
    );
    return run;
}

/** No line the CLI printed holds a value of the bundle, a config line or a diff. */
function expectNothingSecret(run: CliRun): void {
    const lines = [...run.out, ...run.err];
    for (const line of lines) {
        for (const secret of secrets) expect(line.includes(secret), `a bundle value in: ${line}`).toBe(false);
        expect(line).not.toMatch(/^[+-] |^\+\+\+|^---|BEGIN|token:|secret:/m);
    }
}

/** The lines without their elapsed time, which varies: " (3s)" goes, " (3s, reason)" becomes " (reason)". */
const timeless = (lines: string[]) => lines.map((l) => l.replace(/ \((?:\d+s|\d+m\d\ds)(?:, (.*))?\)$/, (_, reason?: string) => (reason === undefined ? "" : ` (${reason})`)));

describe("apply", () => {
    it("a node that runs the config: one Version, one read, no apply", async () => {
        const desired = render("worker");
        const { worker } = nodes({ config: desired });
        const run = await apply(WORKER, desired);
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toEqual([
            `[apply] waiting for ${WORKER.ip} to answer through ${apid.endpoint} (0s)`,
            `[apply] ${WORKER.ip} answers: Talos v1.8.3 (0s)`,
            `[apply] done: ${WORKER.ip} already runs this config (0s)`,
        ]);
        // Version goes with `nodes` (apid proxies it as talosctl -n); the COSI read with `node`.
        expect(apid.received).toEqual([
            { method: "version", nodes: [WORKER.ip], node: [] },
            { method: "cosiGet", nodes: [], node: [WORKER.ip] },
        ]);
        expect(worker.applies ?? []).toEqual([]);
    });

    it("a change Talos applies in place: read, apply in mode auto, read back", async () => {
        const desired = render("worker", { patch: LABELLED });
        const { worker } = nodes({ config: render("worker") });
        const run = await apply(WORKER, desired);
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toEqual([
            `[apply] waiting for ${WORKER.ip} to answer through ${apid.endpoint} (0s)`,
            `[apply] ${WORKER.ip} answers: Talos v1.8.3 (0s)`,
            `[apply] ${WORKER.ip} runs another config; it changes at machine.nodeLabels (0s)`,
            `[apply] it applies in place: ${WORKER.ip} does not restart (0s)`,
            `[apply] applying the config to ${WORKER.ip} (0s)`,
            "[apply] Talos chose no-reboot: Applied configuration without a reboot (0s)",
            `[apply] reading back the config of ${WORKER.ip} (0s)`,
            `[apply] done: ${WORKER.ip} runs the new config (0s)`,
        ]);
        expect(apid.received).toEqual([
            { method: "version", nodes: [WORKER.ip], node: [] },
            { method: "cosiGet", nodes: [], node: [WORKER.ip] },
            // ApplyConfiguration with `nodes`, as talosctl apply-config -n sends it
            { method: "applyConfiguration", nodes: [WORKER.ip], node: [] },
            { method: "cosiGet", nodes: [], node: [WORKER.ip] },
        ]);
        expect(worker.applies).toEqual([{ mode: "auto", chosen: "no-reboot", dryRun: false, config: desired }]);
        expect(worker.config).toBe(desired);
        expectNothingSecret(run);
    });

    it("a change that needs a reboot: the node goes down, comes back, and reports the config", async () => {
        const desired = render("worker", { patch: WITH_ENV });
        // Down long enough for a progress line to give the reason (one a second at most).
        const { worker } = nodes({ config: render("worker"), rebootMs: 1_500 });
        const run = await apply(WORKER, desired);
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.ms).toBeGreaterThanOrEqual(1_500);
        expect(worker.applies).toEqual([{ mode: "auto", chosen: "reboot", dryRun: false, config: desired }]);
        const lines = timeless(run.out);
        expect(lines).toContain(`[apply] ${WORKER.ip} runs another config; it changes at machine.env`);
        expect(lines).toContain(`[apply] it restarts ${WORKER.ip}: Talos applies machine.env only at boot`);
        expect(run.out.some((l) => l.startsWith("[apply] Talos chose reboot: talos-worker-01 restarts (its container ends and Docker starts it again"))).toBe(true);
        // Seen down while it restarts, then done.
        expect(run.out.some((l) => l.startsWith(`[apply] waiting for ${WORKER.ip} to restart with the new config (`) && l.endsWith(", connection refused)"))).toBe(true);
        expect(run.out.at(-1)).toMatch(new RegExp(`^\\[apply\\] done: ${WORKER.ip} runs the new config \\(restarted\\) \\(\\d+s\\)$`));
        // The reason Talos gave for the reboot carried the config diff: never printed.
        expectNothingSecret(run);
    });

    it("a config the node refuses: exit 3 with Talos' reason, nothing of the config", async () => {
        const desired = render("worker", { patch: LABELLED });
        const { worker } = nodes({
            config: render("worker"),
            refuseConfig: "1 error occurred:\n\t* feature HostDNS should be enabled in container mode (.machine.features.hostDNS.enabled)\n\n",
        });
        const run = await apply(WORKER, desired, { clock: new FakeClock() });
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.err).toEqual([
            `[apply] error: ApplyConfiguration to ${WORKER.ip} on ${apid.endpoint} was refused: 1 error occurred: * feature HostDNS should be ` +
                "enabled in container mode (.machine.features.hostDNS.enabled)\n" +
                `${WORKER.ip} keeps the config it runs. Fix the stack's config (its configPatches) and run \`pulumi up\` again.`,
        ]);
        expect(apid.calls.applyConfiguration).toBeGreaterThan(0);
        expect(worker.config).toBe(render("worker"));
        expectNothingSecret(run);
    });

    it("a node that goes on reporting its old config: exit 6 naming the node, the paths, the logs", async () => {
        const desired = render("worker", { patch: LABELLED });
        nodes({ config: render("worker"), staleReadBack: true });
        const run = await apply(WORKER, desired, { clock: new FakeClock() });
        expect(run.code).toBe(ExitCode.NOT_APPLIED);
        expect(run.err).toEqual([
            `[apply] error: ${WORKER.ip} (container ${WORKER.name}) does not run the config it was sent: for 30s it has reported ` +
                "a config that differs at machine.nodeLabels.\n" +
                `Read the logs:\n  docker logs ${WORKER.name}\n  talosctl -n ${WORKER.ip} dmesg\n  talosctl -n ${WORKER.ip} logs machined`,
        ]);
        expect(run.out.some((l) => l.includes("it reports another config (machine.nodeLabels)"))).toBe(true);
        expectNothingSecret(run);
    });

    it("a node that restarts and comes back with its old config: exit 6 too", async () => {
        const desired = render("worker", { patch: WITH_ENV });
        nodes({ config: render("worker"), staleReadBack: true, rebootMs: 200 });
        const run = await apply(WORKER, desired, { clock: new FakeClock({ realTime: true }) });
        expect(run.code).toBe(ExitCode.NOT_APPLIED);
        expect(run.err[0]).toMatch(new RegExp(`^\\[apply\\] error: ${WORKER.ip} \\(container ${WORKER.name}\\) does not run the config it was sent: .* differs at machine.env\\.`));
    });

    it("a restart the container does not come back from: exit 4, with the restart policy to check", async () => {
        const desired = render("worker", { patch: WITH_ENV });
        nodes({ config: render("worker"), rebootMs: 3_600_000 });
        const run = await apply(WORKER, desired, { flags: ["--timeout", "30s"], clock: new FakeClock() });
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err).toEqual([
            `[apply] error: timed out after 30s waiting for ${WORKER.ip} to restart and report the config it was sent (last: connection refused).\n` +
                `If its container has stopped (docker ps -a --filter name=${WORKER.name}), it has no restart policy: docker start ${WORKER.name}.\n` +
                `Read the logs:\n  docker logs ${WORKER.name}\n  talosctl -n ${WORKER.ip} dmesg\n  talosctl -n ${WORKER.ip} logs machined`,
        ]);
    });

    it("an apply already in progress on the node is retried", async () => {
        const desired = render("worker", { patch: LABELLED });
        // Refused long enough (with backoff, over a second) for a progress line to give the reason.
        const busy = 6;
        const { worker } = nodes({ config: render("worker"), applyInProgress: busy });
        const run = await apply(WORKER, desired, { clock: new FakeClock() });
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(worker.applies).toEqual([{ mode: "auto", chosen: "no-reboot", dryRun: false, config: desired }]);
        expect(run.out).toContain(`[apply] applying the config to ${WORKER.ip} (1s, another apply configuration is already in progress)`);
        // After a failed attempt the node's config is read first (an earlier attempt may have taken it).
        const retries = Array.from({ length: busy }, () => ["applyConfiguration", "cosiGet"]).flat();
        expect(apid.received.map((c) => c.method)).toEqual(["version", "cosiGet", ...retries, "applyConfiguration", "cosiGet"]);
    });

    it("a node that does not answer: exit 4 after --timeout, naming the logs", async () => {
        nodes({ config: render("worker"), down: true });
        const run = await apply(WORKER, render("worker"), { flags: ["--timeout", "20s"], clock: new FakeClock() });
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err).toEqual([
            `[apply] error: timed out after 20s waiting for ${WORKER.ip} to answer through ${apid.endpoint} (last: connection refused).\n` +
                `Read the logs:\n  docker logs ${WORKER.name}\n  talosctl -n ${WORKER.ip} dmesg\n  talosctl -n ${WORKER.ip} logs machined`,
        ]);
    });

    it("a talosconfig from another CA: exit 3 at once", async () => {
        nodes({ config: render("worker") });
        const other = await makeSecretsBundle({ rsaBits: 2048 });
        const before = apid.calls.applyConfiguration;
        const run = await runCli(["apply", "--node", WORKER.ip, "--container", WORKER.name], {
            TALOS_DOCKER_TALOSCONFIG: talosconfigFor(pki, apid.endpoint, { ca: other.certs.os.crt }),
            TALOS_DOCKER_MACHINE_CONFIG: render("worker"),
        });
        expect(run.code).toBe(ExitCode.FATAL);
        expect(run.err[0]).toMatch(/the TLS handshake failed/);
        expect(apid.calls.applyConfiguration).toBe(before);
        expect(apid.received).toEqual([]);
    });

    it("Talos v1.14 applies every change in place, saying what waits for the next restart", async () => {
        const desired = render("worker", { patch: WITH_ENV });
        const { worker } = nodes({ config: render("worker"), tag: "v1.14.1" });
        const run = await apply(WORKER, desired);
        expect(run.code).toBe(ExitCode.OK);
        expect(timeless(run.out)).toContain(
            `[apply] it applies in place (Talos v1.14.1 applies every change without a reboot); what it reads only at boot (machine.env) takes effect when ${WORKER.name} next restarts`,
        );
        expect(worker.applies).toEqual([{ mode: "auto", chosen: "no-reboot", dryRun: false, config: desired }]);
    });
});

describe("apply: a Kubernetes version change, as talosctl upgrade-k8s orders it", () => {
    const imagesOf = (config: string) => {
        const doc = (parseYamlDocuments(config).documents as Record<string, any>[]).find((d) => d.kind === undefined)!;
        return {
            apiServer: doc.cluster.apiServer?.image,
            controllerManager: doc.cluster.controllerManager?.image,
            scheduler: doc.cluster.scheduler?.image,
            proxy: doc.cluster.proxy?.image,
            kubelet: doc.machine.kubelet.image,
        };
    };
    const OLD = {
        apiServer: "registry.k8s.io/kube-apiserver:v1.31.1",
        controllerManager: "registry.k8s.io/kube-controller-manager:v1.31.1",
        scheduler: "registry.k8s.io/kube-scheduler:v1.31.1",
        proxy: "registry.k8s.io/kube-proxy:v1.31.1",
        kubelet: "ghcr.io/siderolabs/kubelet:v1.31.1",
    };
    const NEW = Object.fromEntries(Object.entries(OLD).map(([k, v]) => [k, v.replace("v1.31.1", "v1.31.2")])) as typeof OLD;

    it("control plane without a kubeconfig: five no-reboot steps, one image each, then the rest in auto", async () => {
        const desired = render("controlplane", { kubernetesVersion: "1.31.2", patch: LABELLED });
        const { cp } = nodes({ config: render("worker") }, { config: render("controlplane") });
        const run = await apply(CP, desired);
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(cp.applies!.map((a) => [a.mode, a.chosen])).toEqual([...Array(5).fill(["no-reboot", "no-reboot"]), ["auto", "no-reboot"]]);
        expect(cp.applies!.map((a) => imagesOf(a.config))).toEqual([
            { ...OLD, apiServer: NEW.apiServer },
            { ...OLD, apiServer: NEW.apiServer, controllerManager: NEW.controllerManager },
            { ...OLD, apiServer: NEW.apiServer, controllerManager: NEW.controllerManager, scheduler: NEW.scheduler },
            { ...NEW, kubelet: OLD.kubelet },
            NEW,
            NEW,
        ]);
        expect(cp.applies!.at(-1)!.config).toBe(desired);
        expect(cp.config).toBe(desired);
        const lines = timeless(run.out);
        expect(lines).toContain(
            "[apply] Kubernetes images change: kube-apiserver v1.31.2, kube-controller-manager v1.31.2, kube-scheduler v1.31.2, kube-proxy v1.31.2, " +
                "kubelet v1.31.2; applied one at a time in talosctl upgrade-k8s' order, each without a reboot",
        );
        expect(lines).toContain("[apply] not waiting for the static pods and the kubelet to run the new images: TALOS_DOCKER_KUBECONFIG is not set");
        expect(lines).toContain("[apply] kube-apiserver: Applied configuration without a reboot");
        // Every apply with `nodes`, every read with `node`.
        for (const call of apid.received) {
            expect(call).toEqual(call.method === "cosiGet" ? { method: "cosiGet", nodes: [], node: [CP.ip] } : { method: call.method, nodes: [CP.ip], node: [] });
        }
        expectNothingSecret(run);
    });

    it("control plane with a kubeconfig: each step waits for its static pod, the kubelet step for the Node", async () => {
        const kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s });
        kubes.push(kube);
        kube.setHealthy([CP]);
        kube.nodes = [makeNode(CP, true, "v1.31.1")];
        const components = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
        kube.pods = components.map((c) => makeStaticPod(c, CP, `registry.k8s.io/${c}:v1.31.1`, true));
        const events: string[] = [];
        let running = imagesOf(render("controlplane"));
        // The kubelet restarts a static pod when its image changes: not Ready at first, Ready 300 ms later.
        const onActivate = (config: string) => {
            const next = imagesOf(config);
            const changed = (Object.keys(next) as (keyof typeof next)[]).filter((k) => next[k] !== running[k]);
            running = next;
            for (const key of changed) {
                events.push(`applied ${key}`);
                const component = { apiServer: "kube-apiserver", controllerManager: "kube-controller-manager", scheduler: "kube-scheduler" }[key as string];
                if (component !== undefined) {
                    const i = kube.pods.findIndex((p) => p.metadata.labels?.["k8s-app"] === component);
                    kube.pods[i] = makeStaticPod(component, CP, next[key], false);
                    setTimeout(() => {
                        kube.pods[i] = makeStaticPod(component, CP, next[key], true);
                        events.push(`ready ${key}`);
                    }, 300);
                }
                if (key === "kubelet") {
                    setTimeout(() => {
                        kube.nodes = [makeNode(CP, true, "v1.31.2")];
                        events.push("kubelet reports v1.31.2");
                    }, 300);
                }
            }
        };
        const desired = render("controlplane", { kubernetesVersion: "1.31.2" });
        const { cp } = nodes({ config: render("worker") }, { config: render("controlplane"), onActivate });
        const run = await apply(CP, desired, { env: { TALOS_DOCKER_KUBECONFIG: kubeconfigFor(pki, kube.url) } });
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        // The last step is the new config itself: nothing is sent after it.
        expect(cp.applies).toHaveLength(5);
        expect(events).toEqual([
            "applied apiServer", "ready apiServer",
            "applied controllerManager", "ready controllerManager",
            "applied scheduler", "ready scheduler",
            "applied proxy",
            "applied kubelet", "kubelet reports v1.31.2",
        ]);
        const lines = timeless(run.out);
        for (const component of components) expect(lines).toContain(`[apply] waiting for the ${component} pod on ${CP.ip} to run v1.31.2 and be Ready`);
        expect(lines).toContain(`[apply] waiting for the Node ${CP.ip} to report kubelet v1.31.2 and be Ready`);
        expect(kube.requests.get("/api/v1/namespaces/kube-system/pods")).toBeGreaterThanOrEqual(3);
        expectNothingSecret(run);
    });

    it("a static pod that never runs the new image: exit 4 after upgrade-k8s' 5 minutes", async () => {
        const kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s });
        kubes.push(kube);
        kube.setHealthy([CP]);
        kube.pods = [makeStaticPod("kube-apiserver", CP, "registry.k8s.io/kube-apiserver:v1.31.1", true)];
        nodes({ config: render("worker") }, { config: render("controlplane") });
        const run = await apply(CP, render("controlplane", { kubernetesVersion: "1.31.2" }), {
            env: { TALOS_DOCKER_KUBECONFIG: kubeconfigFor(pki, kube.url) },
            clock: new FakeClock(),
        });
        expect(run.code).toBe(ExitCode.TIMEOUT);
        expect(run.err[0]).toBe(
            `[apply] error: timed out after 5m00s (talosctl upgrade-k8s' bound) waiting for the kube-apiserver pod on ${CP.ip} to run v1.31.2 ` +
                `and be Ready (last: it runs v1.31.1), at the Kubernetes API ${kube.url}.\n` +
                `See \`kubectl -n kube-system get pods -l k8s-app=kube-apiserver -o wide\` and the node's kubelet log (talosctl -n ${CP.ip} logs kubelet).\n` +
                `Read the logs:\n  docker logs ${CP.name}\n  talosctl -n ${CP.ip} dmesg\n  talosctl -n ${CP.ip} logs machined`,
        );
    });

    it("a worker: the kubelet step only, then the Node's kubelet version", async () => {
        const kube = await FakeKube.start({ k8sCa: pki.bundle.certs.k8s });
        kubes.push(kube);
        kube.setHealthy([CP, WORKER]);
        kube.nodes = [makeNode(CP, true, "v1.31.1"), makeNode(WORKER, true, "v1.31.1")];
        const onActivate = () => setTimeout(() => (kube.nodes[1] = makeNode(WORKER, true, "v1.31.2")), 200);
        const desired = render("worker", { kubernetesVersion: "1.31.2" });
        const { worker } = nodes({ config: render("worker"), onActivate });
        const run = await apply(WORKER, desired, { env: { TALOS_DOCKER_KUBECONFIG: kubeconfigFor(pki, kube.url) } });
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(worker.applies!.map((a) => [a.mode, imagesOf(a.config).kubelet])).toEqual([["no-reboot", NEW.kubelet]]);
        expect(timeless(run.out)).toContain(`[apply] waiting for the Node ${WORKER.ip} to report kubelet v1.31.2 and be Ready`);
        // Polled until the kubelet reported the new version, 200 ms after the node took the config.
        expect(kube.requests.get("/api/v1/nodes")).toBeGreaterThanOrEqual(2);
        expect(run.ms).toBeGreaterThanOrEqual(200);
    });
});

describe("apply input", () => {
    it("lists its flags and variables in --help", async () => {
        const run = await runCli(["apply", "--help"], {});
        expect(run.code).toBe(ExitCode.OK);
        const help = run.out.join("\n");
        for (const word of ["--node IP", "--container NAME", "--talosconfig FILE", "--context NAME", "--machine-config FILE", "--kubeconfig FILE",
            "--timeout DURATION", "(default 10m)", "--call-timeout DURATION", "TALOS_DOCKER_TALOSCONFIG", "TALOS_DOCKER_MACHINE_CONFIG",
            "TALOS_DOCKER_KUBECONFIG", "  6  not applied"]) {
            expect(help).toContain(word);
        }
    });

    it("names every missing or bad flag at once", async () => {
        const run = await runCli(["apply", "--node", "172.30.0"], {});
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(['[apply] error: apply: --node "172.30.0" is not an IPv4 address like 172.30.0.3; --container NAME is required (the node\'s container)']);
    });

    it("needs the machine config, and refuses one that is not YAML without quoting it", async () => {
        const base = ["apply", "--node", WORKER.ip, "--container", WORKER.name];
        const missing = await runCli(base, { TALOS_DOCKER_TALOSCONFIG: talosconfigFor(pki, apid.endpoint) });
        expect(missing.code).toBe(ExitCode.USAGE);
        expect(missing.err).toEqual(["[apply] error: apply: no machine config: set TALOS_DOCKER_MACHINE_CONFIG to its YAML text or pass --machine-config FILE"]);
        const broken = await runCli(base, { TALOS_DOCKER_TALOSCONFIG: talosconfigFor(pki, apid.endpoint), TALOS_DOCKER_MACHINE_CONFIG: "machine:\n  token: [s3cret.value" });
        expect(broken.code).toBe(ExitCode.USAGE);
        expect(broken.err[0]).toMatch(/^\[apply\] error: apply: the machine config in TALOS_DOCKER_MACHINE_CONFIG is not valid YAML \(line \d+, column \d+: .*\)$/);
        expect(broken.err[0]).not.toContain("s3cret");
    });

    it("needs a talosconfig", async () => {
        const run = await runCli(["apply", "--node", WORKER.ip, "--container", WORKER.name], { TALOS_DOCKER_MACHINE_CONFIG: "version: v1alpha1\n" });
        expect(run.code).toBe(ExitCode.USAGE);
        expect(run.err).toEqual(["[apply] error: apply: no talosconfig: set TALOS_DOCKER_TALOSCONFIG to its YAML text or pass --talosconfig FILE"]);
    });
});
