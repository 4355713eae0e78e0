// The Kubernetes side against a real kube-apiserver (tests/support/kube-apiserver.ts): our client
// reaches it with the admin kubeconfig the stack outputs, and a user without a binding is refused
// as the API refuses it. Skipped, with the reason printed, where the server cannot be built or
// etcd is missing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { kubeClientFromKubeconfig } from "../../cli/kube/client";
import type { SecretsBundle } from "../../talos/secretsbundle";
import { kubeApiserverAvailability, startRealKube, type RealKube } from "../support/kube-apiserver";
import { makeSecretsBundle } from "../support/pki";

const available = kubeApiserverAvailability();
if ("why" in available) console.warn(`tests/kubeapi skipped: ${available.why}`);

describe.skipIf("why" in available)("a real kube-apiserver", () => {
    let secrets: SecretsBundle;
    let kube: RealKube;

    beforeAll(async () => {
        secrets = await makeSecretsBundle({ rsaBits: 2048 });
        kube = await startRealKube(secrets);
    }, 120_000);
    afterAll(async () => kube?.stop());

    it("answers our client with the admin kubeconfig: version, readyz, nodes", async () => {
        const api = await kubeClientFromKubeconfig(kube.kubeconfig);
        try {
            const version = await api.get("/version", 5000);
            expect(JSON.parse(version.body).gitVersion).toBe("v1.31.1");
            expect((await api.get("/readyz", 5000)).status).toBe(200);
            const nodes = await api.get("/api/v1/nodes", 5000);
            expect(nodes.status).toBe(200);
            expect(JSON.parse(nodes.body).items).toEqual([]);
        } finally {
            api.close();
        }
    });

    it("refuses a user of the same CA without a binding (403), as RBAC does", async () => {
        const api = await kubeClientFromKubeconfig(await kube.userKubeconfig("nobody"));
        try {
            const nodes = await api.get("/api/v1/nodes", 5000).catch((err: Error) => err);
            const text = nodes instanceof Error ? nodes.message : String(nodes.status);
            expect(text).toMatch(/403|forbidden/i);
        } finally {
            api.close();
        }
    });
});
