// The steps of a Kubernetes version change on our own rendered configs, per Talos minor: the
// order upgrade-k8s uses, each step one image more than the last, and nothing else touched.

import { describe, expect, it } from "vitest";

import { checkImmediate } from "../../../talos/applymode";
import { imageVersion, kubernetesUpgradeSteps } from "../../../talos/k8supgrade";
import { renderMachineConfig, type MachineRole } from "../../../talos/machineconfig";
import type { ConfigPatch } from "../../../talos/patches";
import type { SecretsBundle } from "../../../talos/secretsbundle";
import { contractFor, TALOS_MINORS, type TalosMinor } from "../../../talos/versions";
import { parseYamlDocuments } from "../../../talos/yaml";

const SECRET = "c2VjcmV0LXZhbHVl";
const SECRETS: SecretsBundle = {
    cluster: { id: SECRET, secret: SECRET },
    secrets: { bootstrapToken: "abcdef.0123456789abcdef", secretboxEncryptionSecret: SECRET },
    trustdInfo: { token: "abcdef.0123456789abcdef" },
    certs: {
        etcd: { crt: SECRET, key: SECRET },
        k8s: { crt: SECRET, key: SECRET },
        k8sAggregator: { crt: SECRET, key: SECRET },
        k8sServiceAccount: { key: SECRET },
        os: { crt: SECRET, key: SECRET },
    },
};

type Doc = Record<string, any>;

/**
 * Every minor up to 1.13 supports Kubernetes 1.31, so 1.31.1 → 1.31.2 is a change each can make;
 * v1.14 runs 1.32 and later, so its tests use 1.37.1 → 1.37.2 (`kube` below).
 */
function rendered(minor: TalosMinor, role: MachineRole, kubernetesVersion: string, labels?: Record<string, string>): string {
    const k8s = minor === "1.14" ? kubernetesVersion.replace(/^1\.31\./, "1.37.") : kubernetesVersion;
    const patches: ConfigPatch[] = labels === undefined ? [] : [labelPatch(minor, labels)];
    return renderMachineConfig({
        role,
        clusterName: "talos-default",
        controlPlaneEndpoint: "https://172.30.0.2:6443",
        talosVersion: contractFor(minor).referenceVersion,
        kubernetesVersion: k8s,
        secrets: SECRETS,
        patches,
    });
}

/** The node labels: in the v1alpha1 document up to 1.13, in KubeNodeConfig from 1.14. */
function labelPatch(minor: TalosMinor, labels: Record<string, string>): ConfigPatch {
    const documents = minor === "1.14"
        ? [{ apiVersion: "v1alpha1", kind: "KubeNodeConfig", labels }]
        : [{ machine: { nodeLabels: labels } }];
    return { kind: "strategic", documents };
}

/** "1.31.2" as the minor's tests spell it. */
const kube = (minor: TalosMinor, version: string) => (minor === "1.14" ? version.replace(/^1\.31\./, "1.37.") : version);

const docs = (text: string): Doc[] => parseYamlDocuments(text).documents as Doc[];
const v1alpha1 = (text: string): Doc => docs(text).find((d) => d.kind === undefined)!;
const IMAGE_KINDS = ["KubeAPIServerConfig", "KubeControllerManagerConfig", "KubeSchedulerConfig", "KubeProxyConfig", "KubeletConfig"];
const images = (text: string) => {
    const all = docs(text);
    if (all.some((d) => d.kind === "KubeletConfig")) return IMAGE_KINDS.map((kind) => all.find((d) => d.kind === kind)?.image);
    const d = v1alpha1(text);
    return [d.cluster?.apiServer?.image, d.cluster?.controllerManager?.image, d.cluster?.scheduler?.image, d.cluster?.proxy?.image, d.machine.kubelet.image];
};
/** The config without the component images, the documents that hold them included. */
const withoutImages = (text: string) => docs(text).map((doc) => {
    const d = structuredClone(doc);
    if (IMAGE_KINDS.includes(d.kind)) delete d.image;
    if (d.kind === undefined) {
        delete d.cluster?.apiServer?.image;
        delete d.cluster?.controllerManager?.image;
        delete d.cluster?.scheduler?.image;
        delete d.cluster?.proxy?.image;
        delete d.machine?.kubelet?.image;
    }
    return d;
});

describe.each(TALOS_MINORS)("Talos %s", (minor) => {
    it("a control plane: apiserver, controller-manager, scheduler, proxy, kubelet, one image more each step", () => {
        const current = rendered(minor, "controlplane", "1.31.1");
        const next = rendered(minor, "controlplane", "1.31.2");
        const steps = kubernetesUpgradeSteps(current, next);
        const [a, b] = [`v${kube(minor, "1.31.1")}`, `v${kube(minor, "1.31.2")}`];
        expect(steps.map((s) => [s.component, s.image])).toEqual([
            ["kube-apiserver", `registry.k8s.io/kube-apiserver:${b}`],
            ["kube-controller-manager", `registry.k8s.io/kube-controller-manager:${b}`],
            ["kube-scheduler", `registry.k8s.io/kube-scheduler:${b}`],
            ["kube-proxy", `registry.k8s.io/kube-proxy:${b}`],
            ["kubelet", `ghcr.io/siderolabs/kubelet:${b}`],
        ]);
        const versions = steps.map((s) => images(s.config).map((image: string) => imageVersion(image)));
        expect(versions).toEqual([
            [b, a, a, a, a],
            [b, b, a, a, a],
            [b, b, b, a, a],
            [b, b, b, b, a],
            [b, b, b, b, b],
        ]);
        // The last step is the new config: only the version changed, and our rendering reads back as written.
        expect(steps.at(-1)!.config).toBe(next);
        // Each step applies without a reboot, as upgrade-k8s applies it (NO_REBOOT).
        let previous = current;
        for (const step of steps) {
            expect(checkImmediate(minor, previous, step.config).immediate).toBe(true);
            previous = step.config;
        }
    });

    it("a worker: only the kubelet", () => {
        const steps = kubernetesUpgradeSteps(rendered(minor, "worker", "1.31.1"), rendered(minor, "worker", "1.31.2"));
        expect(steps.map((s) => s.component)).toEqual(["kubelet"]);
        expect(images(steps[0].config)[4]).toBe(`ghcr.io/siderolabs/kubelet:v${kube(minor, "1.31.2")}`);
    });

    it("changes the component images only, and the rest of the config not at all", () => {
        const current = rendered(minor, "controlplane", "1.31.1", { tier: "a" });
        const next = rendered(minor, "controlplane", "1.31.2", { tier: "b" });
        const steps = kubernetesUpgradeSteps(current, next);
        expect(steps).toHaveLength(5);
        const last = steps.at(-1)!.config;
        expect(docs(last).map((d) => d.kind)).toEqual(docs(current).map((d) => d.kind));
        // The label change is left for the full apply after the steps.
        expect(withoutImages(last)).toEqual(withoutImages(current));
        expect(withoutImages(next)).not.toEqual(withoutImages(current));
    });

    it("no step when no component image changes", () => {
        const current = rendered(minor, "controlplane", "1.31.1");
        expect(kubernetesUpgradeSteps(current, current)).toEqual([]);
        const relabelled = rendered(minor, "controlplane", "1.31.1", { tier: "b" });
        expect(kubernetesUpgradeSteps(current, relabelled)).toEqual([]);
    });
});

describe("edge cases", () => {
    const base = "version: v1alpha1\nmachine:\n    type: worker\n    kubelet:\n        image: ghcr.io/siderolabs/kubelet:v1.31.1 # pinned\ncluster:\n    proxy: null\n";

    it("keeps comments, and makes a map that is missing or null", () => {
        const next = "version: v1alpha1\nmachine:\n    type: worker\n    kubelet:\n        image: ghcr.io/siderolabs/kubelet:v1.31.2\ncluster:\n    proxy:\n        image: registry.k8s.io/kube-proxy:v1.31.2\n";
        const steps = kubernetesUpgradeSteps(base, next);
        expect(steps.map((s) => s.component)).toEqual(["kube-proxy", "kubelet"]);
        expect(steps[0].config).toBe(
            "version: v1alpha1\nmachine:\n    type: worker\n    kubelet:\n        image: ghcr.io/siderolabs/kubelet:v1.31.1 # pinned\n" +
                "cluster:\n    proxy:\n        image: registry.k8s.io/kube-proxy:v1.31.2\n",
        );
        expect(steps[1].config).toContain("image: ghcr.io/siderolabs/kubelet:v1.31.2 # pinned\n");
    });

    it("an image the new config drops is not a step; text that is not YAML gives none", () => {
        expect(kubernetesUpgradeSteps(base, "version: v1alpha1\nmachine:\n    type: worker\n")).toEqual([]);
        expect(kubernetesUpgradeSteps(base, "a: [")).toEqual([]);
        expect(kubernetesUpgradeSteps("kind: HostnameConfig\n", base)).toEqual([]);
    });

    it("imageVersion reads the tag, not a registry port", () => {
        expect(imageVersion("registry.k8s.io/kube-apiserver:v1.31.2")).toBe("v1.31.2");
        expect(imageVersion("localhost:5000/kubelet:v1.31.2@sha256:abc")).toBe("v1.31.2");
        expect(imageVersion("localhost:5000/kubelet")).toBe("localhost:5000/kubelet");
    });
});
