// `manifests` against a real kube-apiserver (tests/support/kube-apiserver.ts): the kube-proxy
// DaemonSet as Talos renders it, patched by kube-apiserver's own strategic merge, the rest of the
// template kept, the image owned by our field manager. The API server runs without a controller
// manager, so the test plays the DaemonSet controller: once the new generation is there, it
// writes the status the controller would (rolled out on one node). Skipped, with the reason
// printed, where the server cannot be built or etcd is missing.

import { AppsV1Api, KubeConfig, type V1DaemonSet } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { systemClock } from "../../cli/context";
import { ExitCode } from "../../cli/exitcodes";
import { daemonSetPath } from "../../cli/kube/api";
import { kubeClientFromKubeconfig } from "../../cli/kube/client";
import { runCli } from "../cli/support/harness";
import { kubeApiserverAvailability, startRealKube, type RealKube } from "../support/kube-apiserver";
import { makeSecretsBundle } from "../support/pki";

const available = kubeApiserverAvailability();
if ("why" in available) console.warn(`tests/kubeapi/manifests skipped: ${available.why}`);

const NAMESPACE = "kube-system";
const STATUS_PATH = `${daemonSetPath(NAMESPACE, "kube-proxy")}/status`;

/** Talos' kube-proxy DaemonSet (talos@v1.8.3:internal/app/machined/pkg/controllers/k8s/templates/kube-proxy-template.yaml). */
function kubeProxy(image: string): V1DaemonSet {
    const labels = { tier: "node", "k8s-app": "kube-proxy" };
    return {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "kube-proxy", namespace: NAMESPACE, labels },
        spec: {
            selector: { matchLabels: labels },
            template: {
                metadata: { labels },
                spec: {
                    containers: [{
                        name: "kube-proxy",
                        image,
                        command: ["/usr/local/bin/kube-proxy", "--cluster-cidr=10.244.0.0/16", "--proxy-mode=iptables"],
                        env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
                        securityContext: { privileged: true },
                        volumeMounts: [{ mountPath: "/lib/modules", name: "lib-modules", readOnly: true }],
                    }],
                    hostNetwork: true,
                    priorityClassName: "system-cluster-critical",
                    serviceAccountName: "kube-proxy",
                    tolerations: [{ effect: "NoSchedule", operator: "Exists" }, { effect: "NoExecute", operator: "Exists" }],
                    volumes: [{ name: "lib-modules", hostPath: { path: "/lib/modules" } }],
                },
            },
            updateStrategy: { rollingUpdate: { maxUnavailable: 1 }, type: "RollingUpdate" },
        },
    };
}

describe.skipIf("why" in available)("manifests against a real kube-apiserver", () => {
    let kube: RealKube;
    let apps: AppsV1Api;

    beforeAll(async () => {
        kube = await startRealKube(await makeSecretsBundle({ rsaBits: 2048 }));
        const kc = new KubeConfig();
        kc.loadFromString(kube.kubeconfig);
        apps = kc.makeApiClient(AppsV1Api);
    }, 120_000);
    afterAll(async () => kube?.stop());

    /** What the DaemonSet controller writes once the pods of `generation` run on the one node. */
    async function rolledOut(generation: number): Promise<void> {
        const api = await kubeClientFromKubeconfig(kube.kubeconfig);
        try {
            const counts = { desiredNumberScheduled: 1, currentNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 1, numberReady: 1, numberMisscheduled: 0 };
            const res = await api.patch(STATUS_PATH, JSON.stringify({ status: { observedGeneration: generation, ...counts } }), "application/merge-patch+json", 5000);
            expect(res.status, res.body).toBe(200);
        } finally {
            api.close();
        }
    }

    const manifests = () => runCli(["manifests", "--kubernetes-version", "1.31.2", "--timeout", "60s"], { TALOS_DOCKER_KUBECONFIG: kube.kubeconfig }, { clock: systemClock });

    it("without the DaemonSet there is nothing to do", async () => {
        const run = await manifests();
        expect(run.err).toEqual([]);
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out.at(-1)).toMatch(/there is no DaemonSet kube-system\/kube-proxy \(kube-proxy is disabled\): nothing to update/);
    });

    it("patches the image alone, as talos-docker, and waits until the controller reports the rollout", async () => {
        await apps.createNamespacedDaemonSet({ namespace: NAMESPACE, body: kubeProxy("registry.k8s.io/kube-proxy:v1.31.1"), fieldManager: "talos" });
        await rolledOut(1);
        // Play the controller: report the rollout once the patched generation exists.
        let reported = false;
        const controller = setInterval(() => {
            void apps.readNamespacedDaemonSet({ name: "kube-proxy", namespace: NAMESPACE }).then(async (ds) => {
                if (reported || ds.metadata?.generation !== 2) return;
                reported = true;
                await rolledOut(2);
            });
        }, 300);
        try {
            const run = await manifests();
            expect(run.err).toEqual([]);
            expect(run.code).toBe(ExitCode.OK);
            expect(reported).toBe(true);
            expect(run.out).toContain("[manifests] set kube-proxy of kube-system/kube-proxy to v1.31.2 (0s)");
            expect(run.out.at(-1)).toMatch(/^\[manifests\] done: kube-system\/kube-proxy runs v1\.31\.2 on every node it schedules/);
        } finally {
            clearInterval(controller);
        }
        const ds = await apps.readNamespacedDaemonSet({ name: "kube-proxy", namespace: NAMESPACE });
        const container = ds.spec!.template.spec!.containers[0];
        expect(container.image).toBe("registry.k8s.io/kube-proxy:v1.31.2");
        // The rest of the template is Talos' as it was.
        const { image: _new, ...rest } = container;
        const { image: _old, ...before } = kubeProxy("").spec!.template.spec!.containers[0];
        expect(rest).toMatchObject(before);
        expect(ds.spec!.template.spec!.volumes).toHaveLength(1);
        // The image is ours; talos keeps the rest (a later talosctl upgrade-k8s forces it back).
        const managers = (ds.metadata?.managedFields ?? []).map((m) => [m.manager, m.operation]);
        expect(managers).toContainEqual(["talos-docker", "Update"]);
        const ours = ds.metadata!.managedFields!.find((m) => m.manager === "talos-docker")!;
        expect(JSON.stringify(ours.fieldsV1)).toContain('"f:image"');
        expect(JSON.stringify(ours.fieldsV1)).not.toContain('"f:command"');
    });

    it("a second run changes nothing: no new generation", async () => {
        const run = await manifests();
        expect(run.code).toBe(ExitCode.OK);
        expect(run.out).toContain("[manifests] kube-system/kube-proxy already runs v1.31.2 (0s)");
        const ds = await apps.readNamespacedDaemonSet({ name: "kube-proxy", namespace: NAMESPACE });
        expect(ds.metadata?.generation).toBe(2);
    });
});
