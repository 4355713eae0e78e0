import { X509Certificate } from "node:crypto";

import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

import { renderKubeconfig, renderTalosconfig, type KubeconfigInput, type TalosconfigInput } from "../../../talos/clientconfig";
import type { SecretsBundle } from "../../../talos/secretsbundle";
import { makeAdminClients, makeSecretsBundle, type ClientCert } from "../../support/pki";

let bundle: SecretsBundle;
let clients: Record<"talos" | "kubernetes", ClientCert>;

beforeAll(async () => {
    bundle = await makeSecretsBundle({ rsaBits: 2048 });
    clients = await makeAdminClients(bundle);
});

const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

describe("renderTalosconfig", () => {
    const talosInput = (extra: Partial<TalosconfigInput> = {}): TalosconfigInput => ({
        contextName: "talos-default",
        endpoints: ["127.0.0.1:50000"],
        nodes: ["172.30.0.2"],
        ca: bundle.certs.os.crt,
        crt: clients.talos.crt,
        key: clients.talos.key,
        ...extra,
    });

    it("writes one context, selected, in talosctl's format", () => {
        const text = renderTalosconfig(talosInput());
        expect(text.startsWith("context: talos-default\ncontexts:\n    talos-default:\n        endpoints:\n            - 127.0.0.1:50000\n        nodes:\n            - 172.30.0.2\n        ca: ")).toBe(true);
        const file = parse(text);
        expect(Object.keys(file)).toEqual(["context", "contexts"]);
        expect(Object.keys(file.contexts)).toEqual(["talos-default"]);
        const ctx = file.contexts["talos-default"];
        expect(Object.keys(ctx)).toEqual(["endpoints", "nodes", "ca", "crt", "key"]);
        expect(decode(ctx.ca)).toBe(bundle.certs.os.crt);
        expect(decode(ctx.crt)).toBe(clients.talos.crt);
    });

    it("writes the Ed25519 client key with the label talosctl writes", () => {
        expect(clients.talos.key.split("\n")[0]).toBe("-----BEGIN PRIVATE KEY-----");
        const ctx = parse(renderTalosconfig(talosInput())).contexts["talos-default"];
        expect(decode(ctx.key).split("\n")[0]).toBe("-----BEGIN ED25519 PRIVATE KEY-----");
    });

    it("leaves nodes out when there are none, but always writes endpoints", () => {
        for (const nodes of [undefined, []]) {
            const ctx = parse(renderTalosconfig(talosInput({ nodes, endpoints: [] }))).contexts["talos-default"];
            expect(Object.keys(ctx)).toEqual(["endpoints", "ca", "crt", "key"]);
            expect(ctx.endpoints).toEqual([]);
        }
    });

    it("is deterministic", () => {
        expect(renderTalosconfig(talosInput())).toBe(renderTalosconfig(talosInput()));
    });
});

describe("renderKubeconfig", () => {
    const kubeInput = (): KubeconfigInput => ({
        clusterName: "talos-default",
        server: "https://127.0.0.1:6444",
        ca: bundle.certs.k8s.crt,
        crt: clients.kubernetes.crt,
        key: clients.kubernetes.key,
    });

    it("names the cluster, the admin user and context, and selects the context", () => {
        const file = parse(renderKubeconfig(kubeInput()));
        expect(file).toEqual({
            apiVersion: "v1",
            clusters: [{ cluster: { "certificate-authority-data": expect.any(String), server: "https://127.0.0.1:6444" }, name: "talos-default" }],
            contexts: [{ context: { cluster: "talos-default", namespace: "default", user: "admin@talos-default" }, name: "admin@talos-default" }],
            "current-context": "admin@talos-default",
            kind: "Config",
            preferences: {},
            users: [{ name: "admin@talos-default", user: { "client-certificate-data": expect.any(String), "client-key-data": expect.any(String) } }],
        });
    });

    it("embeds the PEMs as base64, and the client certificate chains to the embedded CA", () => {
        const file = parse(renderKubeconfig(kubeInput()));
        const ca = decode(file.clusters[0].cluster["certificate-authority-data"]);
        const crt = decode(file.users[0].user["client-certificate-data"]);
        expect(ca).toBe(bundle.certs.k8s.crt);
        expect(decode(file.users[0].user["client-key-data"])).toBe(clients.kubernetes.key);
        expect(new X509Certificate(crt).verify(new X509Certificate(ca).publicKey)).toBe(true);
    });

    it("is laid out as clientcmd writes it: sorted keys, 2-space indents, unindented lists", () => {
        const text = renderKubeconfig(kubeInput());
        expect(text.startsWith("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ")).toBe(true);
        expect(text).toContain("\n    server: https://127.0.0.1:6444\n  name: talos-default\ncontexts:\n- context:\n");
        expect(text).toContain("\ncurrent-context: admin@talos-default\nkind: Config\npreferences: {}\nusers:\n- name: admin@talos-default\n  user:\n");
        expect(renderKubeconfig(kubeInput())).toBe(text);
    });
});
