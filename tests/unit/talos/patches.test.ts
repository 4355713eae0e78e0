import { describe, expect, it } from "vitest";

import { PatchError, applyPatches, parsePatch, type ConfigPatch } from "../../../talos/patches";

/** A small config in the shape Talos generates: the v1alpha1 document and, as from v1.12, a HostnameConfig. */
function config(): Record<string, any>[] {
    return [
        {
            version: "v1alpha1",
            machine: {
                certSANs: ["127.0.0.1"],
                kubelet: { image: "kubelet:1", extraArgs: { a: "1", l: ["p"] } },
                network: { interfaces: [{ interface: "eth0", ignore: true, vlans: [{ vlanId: 5, mtu: 1400 }] }] },
                install: { image: "installer:1", wipe: false },
                nodeLabels: { x: "1" },
            },
            cluster: {
                network: { podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.96.0.0/12"] },
                apiServer: {
                    admissionControl: [{ name: "PodSecurity", configuration: { defaults: { enforce: "baseline", audit: "restricted" } } }],
                    auditPolicy: { apiVersion: "audit.k8s.io/v1", kind: "Policy", rules: [{ level: "Metadata" }] },
                },
            },
        },
        { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" },
    ];
}

/** Parse each text and apply them in order. */
function patched(docs: unknown[], ...texts: string[]): Record<string, any>[] {
    return applyPatches(docs, texts.map(parsePatch)) as Record<string, any>[];
}

function patchError(fn: () => unknown): string {
    try {
        fn();
    } catch (e) {
        expect(e).toBeInstanceOf(PatchError);
        return (e as Error).message;
    }
    throw new Error("no PatchError thrown");
}

describe("parsePatch", () => {
    it("reads YAML mappings as a strategic merge patch, one per document", () => {
        expect(parsePatch("machine:\n  nodeLabels:\n    a: b\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: off\n")).toEqual({
            kind: "strategic",
            documents: [{ machine: { nodeLabels: { a: "b" } } }, { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off" }],
        });
    });

    it("reads a list of operations, YAML or JSON, as a JSON6902 patch", () => {
        const want: ConfigPatch = {
            kind: "json6902",
            operations: [
                { op: "add", path: "/machine/nodeLabels/a", value: "b" },
                { op: "remove", path: "/machine/install/image" },
                { op: "move", from: "/a", path: "/b" },
            ],
        };
        expect(
            parsePatch("- op: add\n  path: /machine/nodeLabels/a\n  value: b\n- op: remove\n  path: /machine/install/image\n- op: move\n  from: /a\n  path: /b\n"),
        ).toEqual(want);
        expect(
            parsePatch('[{"op":"add","path":"/machine/nodeLabels/a","value":"b"},{"op":"remove","path":"/machine/install/image"},{"op":"move","from":"/a","path":"/b"}]'),
        ).toEqual(want);
    });

    it("rejects text that is not YAML, with the parser's line and column", () => {
        expect(patchError(() => parsePatch("machine: [\n"))).toBe(
            "the patch is not valid YAML: line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]",
        );
        expect(patchError(() => parsePatch("machine:\n  a: 1\n  a: 2\n"))).toBe("the patch is not valid YAML: line 3, column 3: Map keys must be unique");
    });

    it("an alias with no anchor is a YAML problem at its place, not a thrown ReferenceError", () => {
        expect(patchError(() => parsePatch("machine:\n  kubelet: *missing\n"))).toBe(
            "the patch is not valid YAML: line 2, column 12: Unresolved alias (the anchor must be set before the alias): missing",
        );
    });

    it("the parser's reason is whole, and quotes none of the text", () => {
        // The yaml package appends the offending token's text to this one; here that is a value.
        const message = patchError(() => parsePatch("- a\nb: hunter2\n"));
        expect(message).toBe(
            "the patch is not valid YAML: line 2, column 1: Unexpected scalar at node end; " +
                "line 2, column 2: Unexpected map-value-ind token in YAML stream; line 2, column 4: Unexpected scalar token in YAML stream",
        );
        expect(message).not.toContain("hunter2");
    });

    it.each(["", "   \n", "# nothing here\n", "---\n", "~\n"])("rejects the empty patch %j", (text) => {
        expect(patchError(() => parsePatch(text))).toBe("the patch is empty");
    });

    it.each(["just a string\n", "- a\n---\nb: 1\n", "a: 1\n---\n- b\n", "42\n"])("rejects %j, which is neither kind of patch", (text) => {
        expect(patchError(() => parsePatch(text))).toBe(
            "the patch is neither a strategic merge patch (one YAML mapping per document) nor a JSON6902 patch (one list of operations)",
        );
    });

    it("reports every malformed operation at once", () => {
        const text = [
            "- op: upsert",
            "  path: /a",
            "- op: add",
            "  path: machine/x",
            "- op: replace",
            "  path: /a",
            "- op: move",
            "  path: /a",
            "- 7",
            "- op: test",
            "  path: /a",
            "  value: null",
            "",
        ].join("\n");
        expect(patchError(() => parsePatch(text))).toBe(
            "the JSON6902 patch is malformed: " +
                'operation 1: "op" must be one of add, remove, replace, move, copy, test; ' +
                'operation 2 (add): "path" must be a JSON pointer ("" or starting with "/"); ' +
                'operation 2 (add): "value" is required; ' +
                'operation 3 (replace): "value" is required; ' +
                'operation 4 (move): "from" must be a JSON pointer ("" or starting with "/"); ' +
                "operation 5: expected a mapping",
        );
        expect(patchError(() => parsePatch("[]"))).toBe("the JSON6902 patch is malformed: the list of operations is empty");
    });

    it("rejects strategic documents Talos would not load", () => {
        expect(patchError(() => parsePatch("machine:\n  a: 1\n---\ncluster:\n  b: 2\n"))).toBe("patch document 2: duplicate document v1alpha1");
        expect(patchError(() => parsePatch("kind: HostnameConfig\nauto: off\n"))).toBe("patch document 1: apiVersion and kind must be set together");
        expect(
            patchError(() => parsePatch("machine:\n  network:\n    interfaces:\n      - interface: eth0\n        vip:\n          $patch: delete\n")),
        ).toBe("$patch: delete: cannot delete an inner key in 'machine.network.interfaces.[0].vip'");
    });
});

describe("applyPatches: strategic merge", () => {
    it("merges mappings, replaces scalars and appends to lists", () => {
        const [doc] = patched(config(), "machine:\n  certSANs: [10.0.0.1]\n  kubelet:\n    image: kubelet:2\n  nodeLabels:\n    y: '2'\n");
        expect(doc.machine.certSANs).toEqual(["127.0.0.1", "10.0.0.1"]);
        expect(doc.machine.kubelet.image).toBe("kubelet:2");
        expect(doc.machine.nodeLabels).toEqual({ x: "1", y: "2" });
        expect(doc.machine.install).toEqual({ image: "installer:1", wipe: false });
    });

    it("replaces the fields Talos tags merge:replace instead of merging them", () => {
        const [doc] = patched(
            config(),
            "cluster:\n  network:\n    podSubnets: [10.32.0.0/12]\n  apiServer:\n    auditPolicy:\n      apiVersion: audit.k8s.io/v1\n      kind: Policy\n      rules:\n        - level: None\n",
        );
        expect(doc.cluster.network).toEqual({ podSubnets: ["10.32.0.0/12"], serviceSubnets: ["10.96.0.0/12"] });
        expect(doc.cluster.apiServer.auditPolicy.rules).toEqual([{ level: "None" }]);
    });

    it("merges network interfaces by name, their VLANs by id, and admission plugins by name", () => {
        const [doc] = patched(
            config(),
            [
                "machine:",
                "  network:",
                "    interfaces:",
                "      - interface: eth0",
                "        mtu: 9000",
                "        vlans:",
                "          - vlanId: 5",
                "            mtu: 1500",
                "          - vlanId: 6",
                "      - interface: eth1",
                "        dhcp: true",
                "cluster:",
                "  apiServer:",
                "    admissionControl:",
                "      - name: PodSecurity",
                "        configuration:",
                "          defaults:",
                "            enforce: restricted",
                "      - name: EventRateLimit",
                "",
            ].join("\n"),
        );
        expect(doc.machine.network.interfaces).toEqual([
            { interface: "eth0", ignore: true, vlans: [{ vlanId: 5, mtu: 1500 }, { vlanId: 6 }], mtu: 9000 },
            { interface: "eth1", dhcp: true },
        ]);
        expect(doc.cluster.apiServer.admissionControl).toEqual([
            { name: "PodSecurity", configuration: { defaults: { enforce: "restricted", audit: "restricted" } } },
            { name: "EventRateLimit" },
        ]);
    });

    it("keeps a value when the patch gives a Go zero value or null, but applies false", () => {
        const [doc] = patched(config(), "machine:\n  install:\n    image: ''\n    wipe: true\n  nodeLabels:\n    x: ~\n", "machine:\n  install:\n    wipe: false\n");
        expect(doc.machine.install).toEqual({ image: "installer:1", wipe: false });
        expect(doc.machine.nodeLabels).toEqual({ x: "1" });
    });

    it("replaces extra args key by key", () => {
        const [doc] = patched(config(), "machine:\n  kubelet:\n    extraArgs:\n      a: '2'\n      l: [q]\n      b: '3'\n");
        expect(doc.machine.kubelet.extraArgs).toEqual({ a: "2", l: ["q"], b: "3" });
    });

    it("merges a document into the one with the same apiVersion, kind and name, and appends a new one", () => {
        const docs = patched(
            config(),
            "apiVersion: v1alpha1\nkind: HostnameConfig\nauto: 'off'\n---\napiVersion: v1alpha1\nkind: RegistryMirrorConfig\nname: docker.io\nendpoints:\n  - url: https://mirror.example\n",
        );
        expect(docs.slice(1)).toEqual([
            { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off" },
            { apiVersion: "v1alpha1", kind: "RegistryMirrorConfig", name: "docker.io", endpoints: [{ url: "https://mirror.example" }] },
        ]);
    });

    it("refuses to merge values of different shapes", () => {
        expect(patchError(() => patched(config(), "machine:\n  certSANs:\n    a: 1\n"))).toBe(
            "strategic merge patch: machine.certSANs: cannot merge a mapping into a list",
        );
        expect(patchError(() => patched(config(), "machine:\n  nodeLabels: [a]\n"))).toBe(
            "strategic merge patch: machine.nodeLabels: cannot merge a list into a mapping",
        );
    });

    it("does not modify its input", () => {
        const docs = config();
        const before = structuredClone(docs);
        patched(docs, "machine:\n  certSANs: [a]\n  network:\n    $patch: delete\n");
        expect(docs).toEqual(before);
    });
});

describe("applyPatches: $patch: delete", () => {
    it("deletes a key, then merges the rest of the document", () => {
        const [doc] = patched(config(), "machine:\n  network:\n    $patch: delete\n  install:\n    image: installer:2\n");
        expect(doc.machine.network).toBeUndefined();
        expect(doc.machine.install.image).toBe("installer:2");
    });

    it("deletes a key that is not there without complaint, as Talos zeroes an unset field", () => {
        const [doc] = patched(config(), "machine:\n  time:\n    $patch: delete\n");
        expect(doc.machine.time).toBeUndefined();
    });

    it("deletes a list element picked by its first key", () => {
        const [doc] = patched(config(), "machine:\n  network:\n    interfaces:\n      - interface: eth0\n        $patch: delete\n");
        expect(doc.machine.network.interfaces).toEqual([]);
    });

    it("fails when no list element matches", () => {
        expect(patchError(() => patched(config(), "machine:\n  network:\n    interfaces:\n      - interface: eth9\n        $patch: delete\n"))).toBe(
            "$patch: delete at 'machine.network.interfaces.[0]' in document v1alpha1: no element with interface: eth9",
        );
    });

    it("fails when the path leading to the key does not exist", () => {
        expect(patchError(() => patched(config(), "machine:\n  kernel:\n    modules:\n      $patch: delete\n"))).toBe(
            "$patch: delete at 'machine.kernel.modules' in document v1alpha1: lookup failed",
        );
    });

    it("deletes a whole document, but never the v1alpha1 one", () => {
        const docs = patched(config(), "apiVersion: v1alpha1\nkind: HostnameConfig\n$patch: delete\n");
        expect(docs).toHaveLength(1);
        expect(patchError(() => patched(config(), "$patch: delete\n"))).toBe(
            "$patch: delete in document v1alpha1: can't delete the root of the legacy document",
        );
        expect(patchError(() => patched(config(), "apiVersion: v1alpha1\nkind: KubeSpanConfig\n$patch: delete\n"))).toBe(
            "$patch: delete in document v1alpha1/KubeSpanConfig: the config has no such document",
        );
    });
});

describe("applyPatches: JSON6902", () => {
    const single = () => config().slice(0, 1);

    it("applies add, remove, replace, move, copy and test in order", () => {
        const [doc] = patched(
            single(),
            [
                "- op: test",
                "  path: /machine/install/wipe",
                "  value: false",
                "- op: add",
                "  path: /machine/nodeLabels/z",
                "  value: '26'",
                "- op: add",
                "  path: /machine/certSANs/-",
                "  value: 10.0.0.1",
                "- op: add",
                "  path: /machine/certSANs/0",
                "  value: first",
                "- op: remove",
                "  path: /machine/install/image",
                "- op: replace",
                "  path: /machine/kubelet/image",
                "  value: kubelet:3",
                "- op: move",
                "  from: /machine/nodeLabels/x",
                "  path: /machine/nodeLabels/moved",
                "- op: copy",
                "  from: /cluster/network/podSubnets",
                "  path: /machine/podSubnetsCopy",
                "- op: add",
                "  path: /machine/nodeLabels/a~1b",
                "  value: slash",
                "",
            ].join("\n"),
        );
        expect(doc.machine.nodeLabels).toEqual({ z: "26", moved: "1", "a/b": "slash" });
        expect(doc.machine.certSANs).toEqual(["first", "127.0.0.1", "10.0.0.1"]);
        expect(doc.machine.install).toEqual({ wipe: false });
        expect(doc.machine.kubelet.image).toBe("kubelet:3");
        expect(doc.machine.podSubnetsCopy).toEqual(["10.244.0.0/16"]);
    });

    it.each([
        ["- op: remove\n  path: /machine/nope\n", 'JSON6902 patch, operation 1 (remove "/machine/nope"): "/machine/nope" does not exist'],
        ["- op: replace\n  path: /machine/nope\n  value: 1\n", 'JSON6902 patch, operation 1 (replace "/machine/nope"): "/machine/nope" does not exist'],
        ["- op: add\n  path: /a/b/c\n  value: 1\n", 'JSON6902 patch, operation 1 (add "/a/b/c"): "/a" does not exist'],
        ["- op: add\n  path: /machine/certSANs/5\n  value: x\n", 'JSON6902 patch, operation 1 (add "/machine/certSANs/5"): "/machine/certSANs/5": index 5 is out of range'],
        ["- op: test\n  path: /machine/install/wipe\n  value: true\n", 'JSON6902 patch, operation 1 (test "/machine/install/wipe"): test failed: the value differs'],
        ["- op: move\n  from: /machine\n  path: /machine/inner\n", 'JSON6902 patch, operation 1 (move "/machine/inner"): cannot move "/machine" into itself'],
        ["- op: remove\n  path: ''\n", 'JSON6902 patch, operation 1 (remove ""): cannot remove the whole document'],
    ])("fails %j", (text, message) => {
        expect(patchError(() => patched(single(), text))).toBe(message);
    });

    it("names the failing operation, counting from 1", () => {
        expect(patchError(() => patched(single(), "- op: add\n  path: /ok\n  value: 1\n- op: remove\n  path: /gone\n"))).toBe(
            'JSON6902 patch, operation 2 (remove "/gone"): "/gone" does not exist',
        );
    });

    it("refuses a multi-document config, with Talos' own message", () => {
        expect(patchError(() => patched(config(), "- op: add\n  path: /machine/nodeLabels/a\n  value: b\n"))).toBe(
            "JSON6902 patches are not supported for multi-document machine configuration",
        );
    });

    it("can follow a strategic patch, and the reverse", () => {
        const [doc] = patched(single(), "machine:\n  nodeLabels:\n    s: '1'\n", "- op: remove\n  path: /machine/nodeLabels/s\n", "machine:\n  nodeLabels:\n    t: '2'\n");
        expect(doc.machine.nodeLabels).toEqual({ x: "1", t: "2" });
    });
});
