import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

import {
    MachineConfigError,
    checkMachineConfig,
    clusterNetworks,
    machineConfigDocuments,
    renderMachineConfig,
    validateMachineConfigInput,
    type MachineConfigInput,
    type MachineRole,
} from "../../../talos/machineconfig";
import { STORAGE_PATH_RULE } from "../../../talos/config/storage";
import { PatchError, parsePatch } from "../../../talos/patches";
import { fromTalosEd25519Pem } from "../../../talos/pem";
import type { SecretsBundle } from "../../../talos/secretsbundle";
import { TALOS_MINORS, type TalosMinor } from "../../../talos/versions";
import { makeSecretsBundle } from "../../support/pki";

let secrets: SecretsBundle;

beforeAll(async () => {
    secrets = await makeSecretsBundle({ rsaBits: 2048 });
});

const ENDPOINT = "https://172.30.0.2:6443";
// Supported by every minor from 1.8 (max 1.31) to 1.13 (min 1.31); v1.14 runs 1.32 to 1.37.
const K8S = "1.31.1";
const K8S_114 = "1.37.0";

function input(minor: TalosMinor, role: MachineRole, extra: Partial<MachineConfigInput> = {}): MachineConfigInput {
    return {
        role,
        clusterName: "talos-default",
        controlPlaneEndpoint: ENDPOINT,
        talosVersion: want(minor).version,
        kubernetesVersion: minor === "1.14" ? K8S_114 : K8S,
        secrets,
        ...extra,
    };
}

function docs(i: MachineConfigInput): Record<string, any>[] {
    return machineConfigDocuments(i) as Record<string, any>[];
}

const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

/** The per-minor facts, written out from the golden files and talosctl sources (not from talos/versions.ts). */
function want(minor: TalosMinor): { version: string; network: unknown; install: Record<string, unknown>; legacyFlags: boolean; hostnameDoc: boolean } {
    const installOld = (v: string) => ({ image: `ghcr.io/siderolabs/installer:${v}`, wipe: false });
    const installNew = { wipe: false, grubUseUKICmdline: true };
    const eth0Ignored = { interfaces: [{ interface: "eth0", ignore: true }] };
    switch (minor) {
        case "1.8":
            return { version: "v1.8.3", network: eth0Ignored, install: installOld("v1.8.3"), legacyFlags: true, hostnameDoc: false };
        case "1.9":
            return { version: "v1.9.6", network: eth0Ignored, install: installOld("v1.9.6"), legacyFlags: true, hostnameDoc: false };
        case "1.10":
            return { version: "v1.10.9", network: eth0Ignored, install: installOld("v1.10.9"), legacyFlags: true, hostnameDoc: false };
        case "1.11":
            return { version: "v1.11.6", network: eth0Ignored, install: installOld("v1.11.6"), legacyFlags: true, hostnameDoc: false };
        case "1.12":
            return { version: "v1.12.11", network: {}, install: installNew, legacyFlags: false, hostnameDoc: true };
        case "1.13":
            return { version: "v1.13.9", network: undefined, install: installNew, legacyFlags: false, hostnameDoc: true };
        case "1.14":
            return { version: "v1.14.1", network: undefined, install: {}, legacyFlags: false, hostnameDoc: true };
        default: {
            const unreachable: never = minor;
            throw new Error(`untested minor ${String(unreachable)}`);
        }
    }
}

// The minors that configure Kubernetes in the v1alpha1 document; v1.14 has its own tests below.
const V1ALPHA1_MINORS = TALOS_MINORS.filter((m) => m !== "1.14");

describe.each(V1ALPHA1_MINORS.map((m) => [m]))("Talos %s", (minor) => {
    const w = () => want(minor);

    it("controlplane: the machine section", () => {
        const [config, ...rest] = docs(input(minor, "controlplane"));
        expect(config.version).toBe("v1alpha1");
        expect(config.debug).toBe(false);
        expect(config.persist).toBe(true);
        const m = config.machine;
        expect(m.type).toBe("controlplane");
        expect(m.token).toBe(secrets.trustdInfo.token);
        expect(decode(m.ca.crt)).toBe(secrets.certs.os.crt);
        expect(decode(m.ca.key).split("\n")[0]).toBe("-----BEGIN ED25519 PRIVATE KEY-----");
        expect(m.certSANs).toEqual(["127.0.0.1"]);
        expect(m.kubelet).toEqual({
            image: `ghcr.io/siderolabs/kubelet:v${K8S}`,
            defaultRuntimeSeccompProfileEnabled: true,
            disableManifestsDirectory: true,
        });
        expect(m.network).toEqual(w().network);
        expect("network" in m).toBe(w().network !== undefined);
        expect(m.install).toEqual(w().install);
        const common = { diskQuotaSupport: true, kubePrism: { enabled: true, port: 7445 }, hostDNS: { enabled: true, forwardKubeDNSToHost: true } };
        expect(m.features).toEqual(w().legacyFlags ? { rbac: true, stableHostname: true, apidCheckExtKeyUsage: true, ...common } : common);
        expect(m.nodeLabels).toEqual({ "node.kubernetes.io/exclude-from-external-load-balancers": "" });
        expect(m.registries).toBeUndefined();
        expect(rest).toEqual(w().hostnameDoc ? [{ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" }] : []);
    });

    it("controlplane: the cluster section", () => {
        const c = docs(input(minor, "controlplane"))[0].cluster;
        expect(Object.keys(c)).toEqual([
            "id", "secret", "controlPlane", "clusterName", "network", "token", "secretboxEncryptionSecret",
            "ca", "aggregatorCA", "serviceAccount", "apiServer", "controllerManager", "proxy", "scheduler", "discovery", "etcd",
        ]);
        expect(c.id).toBe(secrets.cluster.id);
        expect(c.secret).toBe(secrets.cluster.secret);
        expect(c.controlPlane).toEqual({ endpoint: ENDPOINT });
        expect(c.clusterName).toBe("talos-default");
        expect(c.network).toEqual({ dnsDomain: "cluster.local", podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.96.0.0/12"] });
        expect(c.token).toBe(secrets.secrets.bootstrapToken);
        expect(c.secretboxEncryptionSecret).toBe(secrets.secrets.secretboxEncryptionSecret);
        expect([decode(c.ca.crt), decode(c.ca.key)]).toEqual([secrets.certs.k8s.crt, secrets.certs.k8s.key]);
        expect([decode(c.aggregatorCA.crt), decode(c.aggregatorCA.key)]).toEqual([secrets.certs.k8sAggregator.crt, secrets.certs.k8sAggregator.key]);
        expect(decode(c.serviceAccount.key)).toBe(secrets.certs.k8sServiceAccount.key);
        expect([decode(c.etcd.ca.crt), decode(c.etcd.ca.key)]).toEqual([secrets.certs.etcd.crt, secrets.certs.etcd.key]);
        const a = c.apiServer;
        expect(a.image).toBe(`registry.k8s.io/kube-apiserver:v${K8S}`);
        expect(a.certSANs).toEqual(w().legacyFlags ? ["172.30.0.2", "127.0.0.1"] : ["127.0.0.1"]);
        expect(a.disablePodSecurityPolicy).toBe(w().legacyFlags ? true : undefined);
        expect(a.admissionControl).toHaveLength(1);
        expect(a.admissionControl[0].name).toBe("PodSecurity");
        expect(a.admissionControl[0].configuration.defaults.enforce).toBe("baseline");
        expect(a.admissionControl[0].configuration.exemptions.namespaces).toEqual(["kube-system"]);
        expect(a.auditPolicy).toEqual({ apiVersion: "audit.k8s.io/v1", kind: "Policy", rules: [{ level: "Metadata" }] });
        expect(c.controllerManager).toEqual({ image: `registry.k8s.io/kube-controller-manager:v${K8S}` });
        expect(c.proxy).toEqual({ image: `registry.k8s.io/kube-proxy:v${K8S}` });
        expect(c.scheduler).toEqual({ image: `registry.k8s.io/kube-scheduler:v${K8S}` });
        expect(c.discovery).toEqual({ enabled: true, registries: { kubernetes: { disabled: true }, service: {} } });
    });

    it("worker: the controlplane's machine section without the CA key and node labels, and a reduced cluster section", () => {
        const cp = docs(input(minor, "controlplane"));
        const [worker, ...rest] = docs(input(minor, "worker"));
        const { nodeLabels: _labels, ...cpMachine } = cp[0].machine;
        expect(worker.machine).toEqual({ ...cpMachine, type: "worker", ca: { crt: cpMachine.ca.crt, key: "" } });
        expect(worker.cluster).toEqual({
            id: secrets.cluster.id,
            secret: secrets.cluster.secret,
            controlPlane: { endpoint: ENDPOINT },
            clusterName: "talos-default",
            network: cp[0].cluster.network,
            token: secrets.secrets.bootstrapToken,
            ca: { crt: cp[0].cluster.ca.crt, key: "" },
            discovery: cp[0].cluster.discovery,
        });
        expect(rest).toEqual(cp.slice(1));
    });

    it("renders the documents as YAML, deterministically", () => {
        for (const role of ["controlplane", "worker"] as const) {
            const i = input(minor, role, { storagePath: "/var/local-path-provisioner", registryMirrors: { "docker.io": ["https://m.example"] } });
            const text = renderMachineConfig(i);
            expect(renderMachineConfig(structuredClone(i))).toBe(text);
            expect(parseAllDocuments(text).map((d) => d.toJS())).toEqual(machineConfigDocuments(i));
            expect(text.startsWith("version: v1alpha1\ndebug: false\npersist: true\nmachine:\n    type: ")).toBe(true);
            expect(text.split("\n---\n")).toHaveLength(w().hostnameDoc ? 3 : 1);
        }
    });

    it("mounts the storage path for the kubelet on every role", () => {
        for (const role of ["controlplane", "worker"] as const) {
            const m = docs(input(minor, role, { storagePath: "/var/local-path-provisioner" }))[0].machine;
            expect(m.kubelet.extraMounts).toEqual([
                { destination: "/var/local-path-provisioner", type: "bind", source: "/var/local-path-provisioner", options: ["bind", "rshared", "rw"] },
            ]);
        }
    });

    it("writes registry mirrors where the contract puts them", () => {
        const mirrors = { "registry.k8s.io": ["https://k8s.example"], "docker.io": ["https://a.example", "https://b.example"] };
        const all = docs(input(minor, "worker", { registryMirrors: mirrors }));
        if (w().hostnameDoc) {
            expect(all[0].machine.registries).toBeUndefined();
            expect(all.slice(1)).toEqual([
                { apiVersion: "v1alpha1", kind: "RegistryMirrorConfig", name: "docker.io", endpoints: [{ url: "https://a.example" }, { url: "https://b.example" }] },
                { apiVersion: "v1alpha1", kind: "RegistryMirrorConfig", name: "registry.k8s.io", endpoints: [{ url: "https://k8s.example" }] },
                { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" },
            ]);
        } else {
            expect(all).toHaveLength(1);
            expect(all[0].machine.registries).toEqual({
                mirrors: { "docker.io": { endpoints: ["https://a.example", "https://b.example"] }, "registry.k8s.io": { endpoints: ["https://k8s.example"] } },
            });
            expect(Object.keys(all[0].machine.registries.mirrors)).toEqual(["docker.io", "registry.k8s.io"]);
        }
    });

    it("takes JSON6902 patches only while the config is a single document", () => {
        const patch = parsePatch("- op: add\n  path: /machine/nodeLabels/zone\n  value: a\n");
        const run = () => docs(input(minor, "controlplane", { patches: [patch] }));
        if (w().hostnameDoc) {
            expect(run).toThrow(new PatchError("JSON6902 patches are not supported for multi-document machine configuration"));
        } else {
            expect(run()[0].machine.nodeLabels.zone).toBe("a");
        }
    });
});

// Written out from machinery v1.14.1's generator (generate/init.go, worker.go, kubernetes.go,
// block.go, security_profile.go), as talosctl's docker provisioner calls it.
describe("Talos 1.14: Kubernetes, discovery and host DNS in their own documents", () => {
    const CONTROL_PLANE_KINDS = [
        undefined, "DiscoveryServiceConfig", "DiscoveryIdentityConfig", "ResolverConfig", "VolumeConfig",
        "FilesystemTrimConfig", "SecurityProfileConfig", "HostnameConfig", "KubeClusterConfig", "KubeNodeConfig",
        "KubeletConfig", "KubeNetworkConfig", "KubeAPIServerCAConfig", "KubePrismConfig", "KubeAggregatorCAConfig",
        "KubeAdmissionControlConfig", "KubeAuditPolicyConfig", "KubeAuthenticationConfig", "KubeAuthorizerConfig",
        "KubeAuthorizerConfig", "KubeEtcdEncryptionConfig", "KubeServiceAccountConfig", "KubeAPIServerConfig",
        "KubeControllerManagerConfig", "KubeSchedulerConfig", "KubeProxyConfig", "KubeFlannelCNIConfig", "KubeCoreDNSConfig",
    ];
    const byKind = (all: Record<string, any>[], kind: string) => all.filter((d) => d.kind === kind);
    const one = (all: Record<string, any>[], kind: string) => {
        const found = byKind(all, kind);
        expect(found).toHaveLength(1);
        const { apiVersion, kind: _kind, ...rest } = found[0];
        expect(apiVersion).toBe("v1alpha1");
        return rest;
    };

    it("controlplane: the v1alpha1 document keeps the machine's identity, the bootstrap token and etcd", () => {
        const [config] = docs(input("1.14", "controlplane"));
        expect(config.machine).toEqual({
            type: "controlplane",
            token: secrets.trustdInfo.token,
            ca: config.machine.ca,
            certSANs: ["127.0.0.1"],
            features: { diskQuotaSupport: true },
        });
        expect(decode(config.machine.ca.crt)).toBe(secrets.certs.os.crt);
        expect(Object.keys(config.cluster)).toEqual(["token", "etcd"]);
        expect(config.cluster.token).toBe(secrets.secrets.bootstrapToken);
        expect([decode(config.cluster.etcd.ca.crt), decode(config.cluster.etcd.ca.key)]).toEqual([secrets.certs.etcd.crt, secrets.certs.etcd.key]);
    });

    it("controlplane: the documents, in the generator's order", () => {
        const all = docs(input("1.14", "controlplane"));
        expect(all.map((d) => d.kind)).toEqual(CONTROL_PLANE_KINDS);
        expect(one(all, "DiscoveryServiceConfig")).toEqual({ name: "default", endpoint: "https://discovery.talos.dev/" });
        expect(one(all, "DiscoveryIdentityConfig")).toEqual({ clusterID: secrets.cluster.id, clusterSecret: secrets.cluster.secret });
        expect(one(all, "ResolverConfig")).toEqual({ hostDNS: { enabled: true, forwardKubeDNSToHost: true } });
        expect(one(all, "VolumeConfig")).toEqual({ name: "EPHEMERAL", mount: { secure: true } });
        expect(one(all, "FilesystemTrimConfig")).toEqual({ interval: "168h0m0s" });
        expect(one(all, "SecurityProfileConfig")).toEqual({ workloadIsolation: true });
        expect(one(all, "KubeClusterConfig")).toEqual({ clusterName: "talos-default", endpoint: ENDPOINT });
        expect(one(all, "KubeNodeConfig")).toEqual({
            nodeIP: {},
            labels: { "node-role.kubernetes.io/control-plane": "", "node.kubernetes.io/exclude-from-external-load-balancers": "" },
            taints: { "node-role.kubernetes.io/control-plane": "NoSchedule" },
        });
        expect(one(all, "KubeletConfig")).toEqual({
            image: `ghcr.io/siderolabs/kubelet:v${K8S_114}`, config: {}, defaultRuntimeSeccompProfileEnabled: true,
        });
        expect(one(all, "KubeNetworkConfig")).toEqual({ dnsDomain: "cluster.local", podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.96.0.0/12"] });
        expect(one(all, "KubeAPIServerCAConfig")).toEqual({ issuingCA: { cert: secrets.certs.k8s.crt, key: secrets.certs.k8s.key } });
        expect(one(all, "KubePrismConfig")).toEqual({ port: 7445 });
        expect(one(all, "KubeAggregatorCAConfig")).toEqual({
            issuingCA: { cert: secrets.certs.k8sAggregator.crt, key: secrets.certs.k8sAggregator.key },
        });
        const admission = one(all, "KubeAdmissionControlConfig");
        expect(admission.name).toBe("PodSecurity");
        expect(admission.configuration.defaults.enforce).toBe("baseline");
        expect(one(all, "KubeAuditPolicyConfig")).toEqual({ configuration: { apiVersion: "audit.k8s.io/v1", kind: "Policy", rules: [{ level: "Metadata" }] } });
        expect(one(all, "KubeAuthenticationConfig").configuration.anonymous.conditions).toEqual([
            { path: "/livez" }, { path: "/readyz" }, { path: "/healthz" },
        ]);
        expect(byKind(all, "KubeAuthorizerConfig").map((d) => [d.name, d.type])).toEqual([["node", "Node"], ["rbac", "RBAC"]]);
        expect(one(all, "KubeEtcdEncryptionConfig")).toEqual({
            config: {
                resources: [{
                    providers: [{ secretbox: { keys: [{ name: "key2", secret: secrets.secrets.secretboxEncryptionSecret }] } }],
                    resources: ["secrets"],
                }],
            },
        });
        expect(one(all, "KubeServiceAccountConfig")).toEqual({ issuer: { privateKey: secrets.certs.k8sServiceAccount.key, issuerURL: ENDPOINT } });
        expect(one(all, "KubeAPIServerConfig")).toEqual({ image: `registry.k8s.io/kube-apiserver:v${K8S_114}`, certExtraSANs: ["127.0.0.1"] });
        expect(one(all, "KubeControllerManagerConfig")).toEqual({ image: `registry.k8s.io/kube-controller-manager:v${K8S_114}` });
        expect(one(all, "KubeSchedulerConfig")).toEqual({ image: `registry.k8s.io/kube-scheduler:v${K8S_114}`, config: {} });
        expect(one(all, "KubeProxyConfig")).toEqual({ image: `registry.k8s.io/kube-proxy:v${K8S_114}`, config: {} });
        expect(one(all, "KubeFlannelCNIConfig")).toEqual({ backendType: "vxlan", backendPort: 4789 });
        expect(one(all, "KubeCoreDNSConfig")).toEqual({ enabled: true });
    });

    it("worker: no CA key, no control plane documents, the Kubernetes CA only trusted", () => {
        const cp = docs(input("1.14", "controlplane"));
        const worker = docs(input("1.14", "worker"));
        expect(worker[0].machine).toEqual({ ...cp[0].machine, type: "worker", ca: { crt: cp[0].machine.ca.crt, key: "" } });
        expect(worker[0].cluster).toEqual({ token: secrets.secrets.bootstrapToken });
        expect(worker.map((d) => d.kind)).toEqual(CONTROL_PLANE_KINDS.slice(0, CONTROL_PLANE_KINDS.indexOf("KubeAggregatorCAConfig")));
        expect(one(worker, "KubeNodeConfig")).toEqual({ nodeIP: {} });
        expect(one(worker, "KubeAPIServerCAConfig")).toEqual({ acceptedCAs: [secrets.certs.k8s.crt] });
        expect(one(worker, "KubeletConfig")).toEqual(one(cp, "KubeletConfig"));
    });

    it("renders the documents as YAML, deterministically, the certificates as PEM blocks", () => {
        const i = input("1.14", "controlplane", { storagePath: "/var/local-path-provisioner", registryMirrors: { "docker.io": ["https://m.example"] } });
        const text = renderMachineConfig(i);
        expect(renderMachineConfig(structuredClone(i))).toBe(text);
        expect(parseAllDocuments(text).map((d) => d.toJS())).toEqual(machineConfigDocuments(i));
        expect(text.split("\n---\n")).toHaveLength(CONTROL_PLANE_KINDS.length + 1);
        expect(text).toContain("kind: KubeAPIServerCAConfig\nissuingCA:\n    cert: |\n        -----BEGIN CERTIFICATE-----\n");
    });

    it("local storage needs no kubelet mount: the KubeletConfig document has none, and machine.kubelet would conflict", () => {
        const all = docs(input("1.14", "worker", { storagePath: "/var/local-path-provisioner" }));
        expect(all[0].machine.kubelet).toBeUndefined();
        expect(all).toEqual(docs(input("1.14", "worker")));
    });

    it("refuses a patch of a v1alpha1 field a document now holds, with machinery's messages", () => {
        const patches = [parsePatch("machine:\n  nodeLabels:\n    zone: a\n  kubelet:\n    extraArgs:\n      v: \"2\"\ncluster:\n  apiServer:\n    certSANs: [a.example]\n")];
        let error: unknown;
        try {
            docs(input("1.14", "controlplane", { patches }));
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(PatchError);
        expect((error as PatchError).message).toBe("the patched config does not boot in a container: " +
            ".machine.nodeLabels is already set in v1alpha1 config; " +
            "kubelet config is already set in v1alpha1 config (.machine.kubelet); " +
            "kube-apiserver config is already set in v1alpha1 config (.cluster.apiServer)");
        expect((error as PatchError).fields).toEqual(["machine.nodeLabels", "machine.kubelet", "cluster.apiServer"]);
        // The same patch is fine where those fields are the v1alpha1 document's own.
        expect(docs(input("1.13", "controlplane", { patches }))[0].machine.nodeLabels.zone).toBe("a");
    });

    it("takes the same settings in the documents that hold them", () => {
        const patches = [
            parsePatch("apiVersion: v1alpha1\nkind: KubeNodeConfig\nlabels:\n  zone: a\n"),
            parsePatch("apiVersion: v1alpha1\nkind: KubeletConfig\nextraArgs:\n  v: \"2\"\n"),
        ];
        const all = docs(input("1.14", "controlplane", { patches }));
        expect(one(all, "KubeNodeConfig").labels.zone).toBe("a");
        expect(one(all, "KubeletConfig").extraArgs).toEqual({ v: "2" });
    });

    it("host DNS in a container: the ResolverConfig's, with machinery's v1.14 messages", () => {
        const patch = parsePatch("apiVersion: v1alpha1\nkind: ResolverConfig\nhostDNS:\n  forwardKubeDNSToHost: false\n");
        expect(checkMachineConfig(input("1.14", "worker", { patches: [patch] }))).toEqual([
            "patches: the patched config does not boot in a container: forwardKubeDNSToHost must be enabled in container mode",
        ]);
        const off = parsePatch("apiVersion: v1alpha1\nkind: ResolverConfig\nhostDNS:\n  enabled: false\n");
        // Disabled in the document, and no machine.features.hostDNS to fall back on.
        expect(checkMachineConfig(input("1.14", "worker", { patches: [off] }))).toEqual([
            "patches: the patched config does not boot in a container: hostDNS config is required in container mode",
        ]);
    });

    it("the pod and service networks come from the KubeNetworkConfig document", () => {
        expect(clusterNetworks(input("1.14", "worker"))).toEqual({ pods: ["10.244.0.0/16"], services: ["10.96.0.0/12"] });
        const patched = parsePatch("apiVersion: v1alpha1\nkind: KubeNetworkConfig\npodSubnets: [10.32.0.0/16]\nserviceSubnets: [10.33.0.0/16]\n");
        expect(clusterNetworks(input("1.14", "controlplane", { patches: [patched] })))
            .toEqual({ pods: ["10.32.0.0/16"], services: ["10.33.0.0/16"] });
    });
});

describe("additions and patches", () => {
    it("adds the additional SANs after 127.0.0.1, without duplicates", () => {
        const [config] = docs(input("1.8", "controlplane", { additionalSANs: ["talos.local", "127.0.0.1", "10.0.0.9"] }));
        expect(config.machine.certSANs).toEqual(["127.0.0.1", "talos.local", "10.0.0.9"]);
        expect(config.cluster.apiServer.certSANs).toEqual(["172.30.0.2", "127.0.0.1", "talos.local", "10.0.0.9"]);
    });

    it("applies the patches in order, after the storage mount", () => {
        const [config] = docs(
            input("1.12", "worker", {
                storagePath: "/var/data",
                patches: [
                    parsePatch("machine:\n  kubelet:\n    extraMounts:\n      - destination: /var/other\n        type: bind\n        source: /var/other\n"),
                    parsePatch("machine:\n  nodeLabels:\n    role: storage\n"),
                    parsePatch("machine:\n  nodeLabels:\n    role: edge\n"),
                ],
            }),
        );
        expect(config.machine.kubelet.extraMounts.map((m: { destination: string }) => m.destination)).toEqual(["/var/data", "/var/other"]);
        expect(config.machine.nodeLabels).toEqual({ role: "edge" });
    });

    it("writes an OS CA key given with the PKCS#8 label under the label Talos reads", () => {
        const pulumiLabelled = { ...secrets, certs: { ...secrets.certs, os: { ...secrets.certs.os, key: fromTalosEd25519Pem(secrets.certs.os.key) } } };
        const a = renderMachineConfig({ ...input("1.8", "controlplane"), secrets: pulumiLabelled });
        expect(a).toBe(renderMachineConfig(input("1.8", "controlplane")));
    });
});

describe("configs Talos would not load", () => {
    it("rejects a patch that adds a key Talos does not know", () => {
        const patches = [parsePatch("machine:\n  notAField: true\n  kubelet:\n    extraMount: []\n")];
        expect(() => machineConfigDocuments(input("1.10", "worker", { patches }))).toThrow(
            new PatchError("the patched config does not load in Talos v1.10: machine.kubelet.extraMount: unknown field; machine.notAField: unknown field", [
                "machine.kubelet.extraMount",
                "machine.notAField",
            ]),
        );
    });

    it("rejects keys and documents newer than the Talos version", () => {
        const uki = [parsePatch("machine:\n  install:\n    grubUseUKICmdline: false\n")];
        expect(() => machineConfigDocuments(input("1.11", "worker", { patches: uki }))).toThrow(
            "the patched config does not load in Talos v1.11: machine.install.grubUseUKICmdline: unknown field",
        );
        expect(docs(input("1.12", "worker", { patches: uki }))[0].machine.install.grubUseUKICmdline).toBe(false);
        const resolver = [parsePatch("apiVersion: v1alpha1\nkind: ResolverConfig\nnameservers:\n  - address: 1.1.1.1\n")];
        expect(() => machineConfigDocuments(input("1.11", "worker", { patches: resolver }))).toThrow(
            "the patched config does not load in Talos v1.11: ResolverConfig: unknown document kind",
        );
        expect(docs(input("1.12", "worker", { patches: resolver })).map((d) => d.kind)).toEqual([undefined, "HostnameConfig", "ResolverConfig"]);
    });
});

describe("checkMachineConfig", () => {
    const base = (minor: TalosMinor, patches: string[]) => {
        const { secrets: _secrets, ...rest } = input(minor, "controlplane", { patches: patches.map(parsePatch) });
        return rest;
    };

    it("finds nothing wrong with a good input, without any secrets", () => {
        expect(checkMachineConfig(base("1.8", ["machine:\n  nodeLabels:\n    a: b\n"]))).toEqual([]);
    });

    it("reports what machineConfigDocuments would throw for the patches", () => {
        expect(checkMachineConfig(base("1.13", ["- op: add\n  path: /machine/a\n  value: 1\n"]))).toEqual([
            "patches: JSON6902 patches are not supported for multi-document machine configuration",
        ]);
        expect(checkMachineConfig(base("1.8", ["machine:\n  bogus: 1\n"]))).toEqual([
            "patches: the patched config does not load in Talos v1.8: machine.bogus: unknown field",
        ]);
        expect(checkMachineConfig(base("1.8", ["- op: remove\n  path: /machine/nope\n"]))).toEqual([
            'patches: JSON6902 patch, operation 1 (remove "/machine/nope"): "/machine/nope" does not exist',
        ]);
    });

    it("reports the input problems first, and then only those", () => {
        expect(checkMachineConfig({ ...base("1.8", ["machine:\n  bogus: 1\n"]), kubernetesVersion: "1.40.0" })).toEqual([
            "kubernetesVersion: 1.40.0 is not supported by Talos v1.8 (supported: 1.26 to 1.31)",
        ]);
    });
});

describe("input validation", () => {
    it("reports every problem at once, each naming its field", () => {
        const bad = {
            role: "master" as MachineRole,
            clusterName: "",
            controlPlaneEndpoint: "http://172.30.0.2:6443",
            talosVersion: "v1.7.0",
            kubernetesVersion: "v1.31.1",
            secrets: {} as SecretsBundle,
            additionalSANs: ["", "a b"],
            storagePath: "/opt/local-path-provisioner",
            registryMirrors: { "docker.io": ["ftp://mirror"], "": [] },
        };
        const problems = [
            'role: "master" is not controlplane or worker',
            "clusterName: empty",
            'controlPlaneEndpoint: "http://172.30.0.2:6443" is not of the form https://HOST:PORT',
            'talosVersion: "v1.7.0" is not a supported Talos version (v1.8 to v1.14, written like v1.8.3)',
            'kubernetesVersion: "v1.31.1" is not a Kubernetes version (written like 1.31.1, without v)',
            'additionalSANs: "" is not a host name or IP address',
            'additionalSANs: "a b" is not a host name or IP address',
            `storagePath: "/opt/local-path-provisioner" is not ${STORAGE_PATH_RULE}`,
            'registryMirrors.docker.io: "ftp://mirror" is not an http(s) URL',
            'registryMirrors: "" needs a host name and at least one endpoint',
        ];
        expect(validateMachineConfigInput(bad)).toEqual(problems);
        expect(() => renderMachineConfig(bad)).toThrow(new MachineConfigError(problems));
    });

    it("refuses a Kubernetes version the Talos release does not support", () => {
        expect(() => machineConfigDocuments({ ...input("1.8", "worker"), kubernetesVersion: "1.32.0" })).toThrow(
            "cannot generate the machine config (1 problem):\n  - kubernetesVersion: 1.32.0 is not supported by Talos v1.8 (supported: 1.26 to 1.31)",
        );
    });

    it.each(["not a url", "https://172.30.0.2:6443/path", "https://:6443"])("refuses the endpoint %j", (endpoint) => {
        expect(validateMachineConfigInput({ ...input("1.8", "worker"), controlPlaneEndpoint: endpoint })).toHaveLength(1);
    });

    it.each(["/var", "/var/", "/var/a/../../etc", "var/data", "/var//data", "/var/foo/", "/var/./x", "/var/a b"])("refuses the storage path %j", (path) => {
        expect(validateMachineConfigInput({ ...input("1.8", "worker"), storagePath: path })).toEqual([
            `storagePath: "${path}" is not ${STORAGE_PATH_RULE}`,
        ]);
    });
});

describe("the patched config in a container", () => {
    const hostDNS = (fields: Record<string, boolean>) => parsePatch(`machine:\n  features:\n    hostDNS:\n${
        Object.entries(fields).map(([k, v]) => `      ${k}: ${v}\n`).join("")}`);

    it.each(V1ALPHA1_MINORS)("v%s: a patch that stops hostDNS forwarding kube-dns is refused with Talos' message", (minor) => {
        let error: unknown;
        try {
            machineConfigDocuments(input(minor, "worker", { patches: [hostDNS({ forwardKubeDNSToHost: false })] }));
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(PatchError);
        expect((error as PatchError).message).toBe("the patched config does not boot in a container: feature HostDNS " +
            "should forward kube-dns to host in container mode (.machine.features.hostDNS.forwardKubeDNSToHost)");
        expect((error as PatchError).fields).toEqual(["machine.features.hostDNS.forwardKubeDNSToHost"]);
    });

    it("turning hostDNS off breaks both rules, each named", () => {
        expect(checkMachineConfig({ ...input("1.13", "controlplane", { patches: [hostDNS({ enabled: false })] }) }))
            .toEqual(["patches: the patched config does not boot in a container: feature HostDNS should be enabled " +
                "in container mode (.machine.features.hostDNS.enabled)"]);
    });

    it("a patch that keeps hostDNS as it is passes", () => {
        expect(checkMachineConfig(input("1.8", "worker", { patches: [hostDNS({ enabled: true, forwardKubeDNSToHost: true })] })))
            .toEqual([]);
    });

    it("the pod and service networks: Talos' defaults, or what a patch sets", () => {
        expect(clusterNetworks(input("1.8", "worker"))).toEqual({ pods: ["10.244.0.0/16"], services: ["10.96.0.0/12"] });
        const patched = parsePatch("cluster:\n  network:\n    podSubnets: [10.32.0.0/16]\n    serviceSubnets: [10.33.0.0/16]\n");
        expect(clusterNetworks(input("1.13", "controlplane", { patches: [patched] })))
            .toEqual({ pods: ["10.32.0.0/16"], services: ["10.33.0.0/16"] });
    });
});
