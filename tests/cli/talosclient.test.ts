// TalosClient against the fake apid: the calls' answers as the CLI reads them.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { TalosApiError, TalosClient } from "../../talos/api";
import { FakeTalos } from "../support/fake-talos";
import { makeTestPki, type TestPki } from "./support/harness";

let pki: TestPki;
let apid: FakeTalos;
let client: TalosClient;

beforeAll(async () => {
    pki = await makeTestPki();
    apid = await FakeTalos.start({ osCa: pki.bundle.certs.os, tag: "v1.9.6" });
    // The key as the talosconfig holds it: `ED25519 PRIVATE KEY`, which Node cannot read unlabelled.
    const key = pki.talosAdmin.key.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "-----$1 ED25519 PRIVATE KEY-----");
    client = new TalosClient({ endpoint: apid.endpoint, ca: pki.bundle.certs.os.crt, crt: pki.talosAdmin.crt, key });
});

afterAll(async () => {
    client.close();
    await apid.close();
});

describe("TalosClient", () => {
    it("reads Version over mutual TLS with the OS CA's Ed25519 certificate", async () => {
        const v = await client.version(2000);
        expect(v.version?.tag).toBe("v1.9.6");
        expect(v.platform).toEqual({ name: "container", mode: "container" });
        expect(v.features?.rbac).toBe(true);
    });

    it("lists services", async () => {
        const services = await client.serviceList(2000);
        expect(services.map((s) => [s.id, s.state, s.health?.healthy ?? null])).toEqual([
            ["apid", "Running", true],
            ["etcd", "Preparing", null],
        ]);
    });

    it("bootstraps once; the second call is already done", async () => {
        await client.bootstrap(2000);
        const again = await client.bootstrap(2000).catch((e: unknown) => e);
        expect(again).toBeInstanceOf(TalosApiError);
        expect(again).toMatchObject({ kind: "already-done", reason: "etcd data directory is not empty" });
        expect(apid.calls.bootstrap).toBe(2);
    });

    it("refuses credentials that are not PEM, without quoting them", () => {
        expect(() => new TalosClient({ endpoint: apid.endpoint, ca: "x", crt: "y", key: "secret-key-text" })).toThrow(
            "talosconfig: the CA, certificate or key is not PEM that TLS can use",
        );
    });
});
