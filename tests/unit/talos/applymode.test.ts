// The immediate-apply rule per Talos minor, on our own rendered configs (a change made to the
// rendered documents, then compared as the node would compare the two texts).

import { describe, expect, it } from "vitest";

import { ApplyModeInputError, autoApplyMode, checkImmediate, rebootsOnApply } from "../../../talos/applymode";
import { machineConfigDocuments, type MachineRole } from "../../../talos/machineconfig";
import type { SecretsBundle } from "../../../talos/secretsbundle";
import { contractFor, TALOS_MINORS, type TalosMinor } from "../../../talos/versions";
import { toTalosYamlDocuments } from "../../../talos/yaml";

// Only the config's shape matters here: marked values, so a test can see none leaks into a path.
const SECRET = "s3cret-value";
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

function rendered(minor: TalosMinor, role: MachineRole = "controlplane"): Doc[] {
    return machineConfigDocuments({
        role,
        clusterName: "talos-default",
        controlPlaneEndpoint: "https://172.30.0.2:6443",
        talosVersion: contractFor(minor).referenceVersion,
        kubernetesVersion: minor === "1.14" ? "1.37.0" : "1.31.1",
        secrets: SECRETS,
    }) as Doc[];
}

/** The verdict for a change made by `edit` to the rendered documents of `minor`. */
function change(minor: TalosMinor, edit: (docs: Doc[]) => void, role: MachineRole = "controlplane") {
    const before = rendered(minor, role);
    const after = structuredClone(before);
    edit(after);
    return checkImmediate(minor, toTalosYamlDocuments(before), toTalosYamlDocuments(after));
}

const v1alpha1 = (docs: Doc[]): Doc => {
    const doc = docs.find((d) => d.kind === undefined);
    if (doc === undefined) throw new Error("no v1alpha1 document");
    return doc;
};

// v1.14 configures Kubernetes in documents of its own: see "Talos 1.14" below.
const V1ALPHA1_MINORS = TALOS_MINORS.filter((m) => m !== "1.14");

describe.each(V1ALPHA1_MINORS)("Talos %s", (minor) => {
    it("the same config applies without a reboot", () => {
        const text = toTalosYamlDocuments(rendered(minor));
        expect(checkImmediate(minor, text, text)).toEqual({ immediate: true, rebootPaths: [] });
        expect(autoApplyMode(minor, text, text)).toBe("no-reboot");
    });

    it.each<[string, (d: Doc) => void]>([
        ["cluster.apiServer.image (all of .cluster)", (d) => (d.cluster.apiServer.image = "registry.k8s.io/kube-apiserver:v1.31.2")],
        ["cluster.proxy.image", (d) => (d.cluster.proxy = { image: "registry.k8s.io/kube-proxy:v1.31.2" })],
        ["debug", (d) => (d.debug = true)],
        ["machine.kubelet.image", (d) => (d.machine.kubelet.image = "ghcr.io/siderolabs/kubelet:v1.31.2")],
        ["machine.certSANs", (d) => d.machine.certSANs.push("10.0.0.1")],
        ["machine.network", (d) => (d.machine.network = { hostname: "cp-01" })],
        ["machine.sysctls", (d) => (d.machine.sysctls = { "vm.max_map_count": "262144" })],
        ["machine.nodeLabels", (d) => (d.machine.nodeLabels = { tier: "gold" })],
        ["machine.registries", (d) => (d.machine.registries = { mirrors: { "docker.io": { endpoints: ["http://10.5.0.1:5000"] } } })],
        ["machine.install", (d) => (d.machine.install = { wipe: true })],
        ["machine.features.kubePrism", (d) => (d.machine.features.kubePrism = { enabled: false })],
        ["machine.features.hostDNS", (d) => (d.machine.features.hostDNS.resolveMemberNames = false)],
    ])("%s changes without a reboot", (_, edit) => {
        expect(change(minor, (docs) => edit(v1alpha1(docs)))).toEqual({ immediate: true, rebootPaths: [] });
    });

    it.each<[string, (d: Doc) => void, string[]]>([
        ["machine.token", (d) => (d.machine.token = "other.token"), ["machine.token"]],
        ["machine.env", (d) => (d.machine.env = { HTTP_PROXY: "http://proxy:3128" }), ["machine.env"]],
        ["machine.files", (d) => (d.machine.files = [{ path: "/var/x", op: "create", content: SECRET, permissions: 0o644 }]), ["machine.files"]],
        ["machine.type", (d) => (d.machine.type = "worker"), ["machine.type"]],
        ["machine.features.diskQuotaSupport", (d) => (d.machine.features.diskQuotaSupport = false), ["machine.features.diskQuotaSupport"]],
        ["persist", (d) => (d.persist = false), ["persist"]],
        // The allowed fields are masked; the others are still compared, each reported.
        ["a mix", (d) => {
            d.machine.kubelet.image = "ghcr.io/siderolabs/kubelet:v1.31.2";
            d.machine.token = "other.token";
            d.machine.env = { A: "1" };
        }, ["machine.env", "machine.token"]],
    ])("%s needs a reboot", (_, edit, paths) => {
        expect(change(minor, (docs) => edit(v1alpha1(docs)))).toEqual({ immediate: false, rebootPaths: paths });
    });

    it("names the list element that changed, never its value", () => {
        const before = rendered(minor);
        v1alpha1(before).machine.files = [{ path: "/var/a", op: "create", content: "one", permissions: 420 }];
        const after = structuredClone(before);
        v1alpha1(after).machine.files[0].content = SECRET;
        const verdict = checkImmediate(minor, toTalosYamlDocuments(before), toTalosYamlDocuments(after));
        expect(verdict).toEqual({ immediate: false, rebootPaths: ["machine.files[0].content"] });
        expect(JSON.stringify(verdict)).not.toContain(SECRET);
    });

    it("compares machine.features fields only when both configs have machine.features", () => {
        const verdict = change(minor, (docs) => delete v1alpha1(docs).machine.features);
        expect(verdict).toEqual({ immediate: false, rebootPaths: ["machine.features"] });
    });

    it("null is as absent, an empty map is not (a nil Go map against an empty one)", () => {
        expect(change(minor, (docs) => (v1alpha1(docs).machine.env = null))).toEqual({ immediate: true, rebootPaths: [] });
        expect(change(minor, (docs) => (v1alpha1(docs).machine.env = {}))).toEqual({ immediate: false, rebootPaths: ["machine.env"] });
    });

    it("worker configs follow the same rule", () => {
        expect(change(minor, (docs) => (v1alpha1(docs).machine.kubelet.extraArgs = { v: "2" }), "worker").immediate).toBe(true);
        expect(change(minor, (docs) => (v1alpha1(docs).machine.token = "x.y"), "worker").rebootPaths).toEqual(["machine.token"]);
    });

    it("a config without a v1alpha1 document needs a reboot, with machined's reason", () => {
        const text = toTalosYamlDocuments(rendered(minor));
        const other = "apiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n";
        expect(checkImmediate(minor, text, other)).toEqual({ immediate: false, rebootPaths: [], problem: "new config is not v1alpha1" });
        expect(checkImmediate(minor, other, text)).toEqual({ immediate: false, rebootPaths: [], problem: "current config is not v1alpha1" });
        expect(autoApplyMode(minor, text, other)).toBe("reboot");
    });
});

describe("per-minor differences", () => {
    const imageCache = (d: Doc) => (v1alpha1([d]).machine.features.imageCache = { localEnabled: true });
    const sortAlgorithm = (d: Doc) => (v1alpha1([d]).machine.features.nodeAddressSortAlgorithm = "v2");

    it("machine.features.imageCache and nodeAddressSortAlgorithm need a reboot at 1.8 only (allowed from v1.9.0)", () => {
        for (const minor of TALOS_MINORS) {
            const want = minor === "1.8";
            const cache = change(minor, (docs) => imageCache(v1alpha1(docs)));
            const sort = change(minor, (docs) => sortAlgorithm(v1alpha1(docs)));
            expect([minor, cache.rebootPaths, sort.rebootPaths]).toEqual([
                minor,
                want ? ["machine.features.imageCache"] : [],
                want ? ["machine.features.nodeAddressSortAlgorithm"] : [],
            ]);
        }
    });

    it("from 1.12 the other documents never force a reboot", () => {
        for (const minor of ["1.12", "1.13"] as const) {
            const verdict = change(minor, (docs) => {
                const hostname = docs.find((d) => d.kind === "HostnameConfig");
                if (hostname === undefined) throw new Error(`no HostnameConfig at ${minor}`);
                hostname.auto = "off";
                hostname.hostname = "cp-01";
                docs.push({ apiVersion: "v1alpha1", kind: "RegistryMirrorConfig", name: "ghcr.io", endpoints: [{ url: "http://10.5.0.1:5000" }] });
            });
            expect(verdict).toEqual({ immediate: true, rebootPaths: [] });
        }
    });
});

describe("Talos 1.14", () => {
    it("the Kubernetes documents are not compared: a new kubelet image or node label needs no reboot", () => {
        const verdict = change("1.14", (docs) => {
            const kubelet = docs.find((d) => d.kind === "KubeletConfig");
            const node = docs.find((d) => d.kind === "KubeNodeConfig");
            if (kubelet === undefined || node === undefined) throw new Error("no KubeletConfig or KubeNodeConfig at 1.14");
            kubelet.image = "ghcr.io/siderolabs/kubelet:v1.37.1";
            node.labels = { tier: "gold" };
        });
        expect(verdict).toEqual({ immediate: true, rebootPaths: [] });
    });

    it("the v1alpha1 fields an older machined read only at boot are still named (for the note; v1.14 never reboots)", () => {
        expect(change("1.14", (docs) => (v1alpha1(docs).machine.token = "other.token"))).toEqual({
            immediate: false, rebootPaths: ["machine.token"],
        });
        expect(rebootsOnApply(contractFor("1.14").referenceVersion)).toBe(false);
    });
});

describe("input", () => {
    it("a config text that is not YAML is refused without quoting it", () => {
        const text = toTalosYamlDocuments(rendered("1.8"));
        const bad = `machine:\n  token: "${SECRET}\n`;
        expect(() => checkImmediate("1.8", text, bad)).toThrow(ApplyModeInputError);
        try {
            checkImmediate("1.8", text, bad);
        } catch (e) {
            expect((e as Error).message).toMatch(/^the new config is not valid YAML/);
            expect((e as Error).message).not.toContain(SECRET);
        }
    });
});

describe("rebootsOnApply", () => {
    it("is true up to v1.13 and false from v1.14 (auto never reboots there), true for a tag that does not parse", () => {
        const cases: [string, boolean][] = [
            ["v1.8.3", true], ["v1.13.9", true], ["v1.14.0-alpha.2", false], ["v1.14.1", false], ["v2.0.0", false], ["unknown version", true],
        ];
        expect(cases.map(([tag]) => [tag, rebootsOnApply(tag)])).toEqual(cases);
    });
});
