// TalosClient's ApplyConfiguration and machine-config read against the fake apid: modes as a
// node chooses them, a reboot seen from outside, and the faults the apply flow must handle.

import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { TalosApiError, TalosClient } from "../../talos/api";
import { messages, METHODS, MACHINE_CONFIG_RESOURCE } from "../../talos/api/messages";
import { FakeTalos, oneToManyRefusal, type FakeNode } from "../support/fake-talos";
import { makeTestPki, type TestPki } from "./support/harness";

const CP = "172.30.0.2";
const WORKER = "172.30.0.3";
const TOKEN = "tok3n.s3cretvalue00000";

/** A v1alpha1 config with the fields these tests change. */
function config(over: { token?: string; kubelet?: string; labels?: string } = {}): string {
    return [
        "version: v1alpha1",
        "machine:",
        "    type: worker",
        `    token: ${over.token ?? TOKEN}`,
        "    kubelet:",
        `        image: ${over.kubelet ?? "ghcr.io/siderolabs/kubelet:v1.31.1"}`,
        ...(over.labels === undefined ? [] : ["    nodeLabels:", `        tier: ${over.labels}`]),
        "    features:",
        "        hostDNS:",
        "            enabled: true",
        "cluster:",
        "    clusterName: talos-default",
        "",
    ].join("\n");
}

let pki: TestPki;
let apid: FakeTalos;
let client: TalosClient;
let worker: FakeNode;

const key = () => pki.talosAdmin.key.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "-----$1 ED25519 PRIVATE KEY-----");

beforeAll(async () => {
    pki = await makeTestPki();
    apid = await FakeTalos.start({ osCa: pki.bundle.certs.os, tag: "v1.9.6", self: CP });
    client = new TalosClient({ endpoint: apid.endpoint, ca: pki.bundle.certs.os.crt, crt: pki.talosAdmin.crt, key: key() });
});

afterAll(async () => {
    client.close();
    await apid.close();
});

beforeEach(() => {
    worker = { config: config(), rebootMs: 300 };
    apid.nodes = { [CP]: { config: config({ labels: "cp" }) }, [WORKER]: worker };
    apid.tag = "v1.9.6";
});

/** The rejection of `p`, which must be a TalosApiError. */
async function failure(p: Promise<unknown>): Promise<TalosApiError> {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TalosApiError);
    return err as TalosApiError;
}

describe("machineConfig", () => {
    it("reads a node's config through the endpoint, byte for byte as it was submitted", async () => {
        expect(await client.machineConfig(2000, WORKER)).toBe(config());
        expect(await client.machineConfig(2000)).toBe(config({ labels: "cp" }));
    });

    it("a node that is down or unknown is retryable; one with no config is not found", async () => {
        worker.down = true;
        expect(await failure(client.machineConfig(2000, WORKER))).toMatchObject({ kind: "retryable", reason: "connection refused" });
        expect(await failure(client.machineConfig(2000, "172.30.0.9"))).toMatchObject({ kind: "retryable" });
        apid.nodes[WORKER] = {};
        expect(await failure(client.machineConfig(2000, WORKER))).toMatchObject({ kind: "fatal", code: grpc.status.NOT_FOUND });
    });
});

describe("applyConfiguration", () => {
    it("auto: a kubelet change applies without a reboot and reads back at once", async () => {
        const next = config({ kubelet: "ghcr.io/siderolabs/kubelet:v1.31.2" });
        const result = await client.applyConfiguration(2000, WORKER, { data: next, mode: "auto", dryRun: false });
        expect(result).toEqual({ node: WORKER, mode: "no-reboot", modeDetails: "Applied configuration without a reboot", warnings: [] });
        expect(await client.machineConfig(2000, WORKER)).toBe(next);
        expect(worker.applies).toEqual([{ mode: "auto", chosen: "no-reboot", dryRun: false, config: next }]);
    });

    it("auto: a token change reboots; the node is down, then runs the new config", async () => {
        const next = config({ token: "n3wtok.s3cretvalue11111" });
        const result = await client.applyConfiguration(2000, WORKER, { data: next, mode: "auto", dryRun: false });
        expect(result.mode).toBe("reboot");
        expect(result.modeDetails).toBe("Applied configuration with a reboot: this config change can't be applied in immediate mode");
        // The fields that forced it come as the diff, kept apart: they are config lines.
        expect(result.diff).toContain("+    token: n3wtok.s3cretvalue11111");
        expect(result.modeDetails).not.toContain("s3cret");

        expect(await failure(client.machineConfig(2000, WORKER))).toMatchObject({ kind: "retryable", reason: "connection refused" });
        await new Promise((r) => setTimeout(r, 350));
        expect(await client.machineConfig(2000, WORKER)).toBe(next);
    });

    it("no-reboot for a change that needs a reboot is refused, and nothing changes", async () => {
        const next = config({ token: "n3wtok.s3cretvalue11111" });
        const err = await failure(client.applyConfiguration(2000, WORKER, { data: next, mode: "no-reboot", dryRun: false }));
        expect(err).toMatchObject({ kind: "needs-reboot", code: grpc.status.INVALID_ARGUMENT, reason: "needs a reboot" });
        expect(err.message).toBe(
            `ApplyConfiguration to ${WORKER} on ${apid.endpoint} was refused: the change touches fields the node applies only when it boots ` +
                "(this config change can't be applied in immediate mode)",
        );
        expect(await client.machineConfig(2000, WORKER)).toBe(config());
    });

    it("a node that always wants a reboot refuses no-reboot even for a change the rule allows", async () => {
        worker.alwaysNeedsReboot = true;
        const err = await failure(client.applyConfiguration(2000, WORKER, { data: config({ labels: "x" }), mode: "no-reboot", dryRun: false }));
        expect(err.kind).toBe("needs-reboot");
    });

    it("a config the node refuses is fatal, with Talos' reason", async () => {
        worker.refuseConfig = "1 error occurred:\n\t* feature HostDNS should forward kube-dns to host in container mode (.machine.features.hostDNS.forwardKubeDNSToHost)\n\n";
        const err = await failure(client.applyConfiguration(2000, WORKER, { data: config({ labels: "x" }), mode: "auto", dryRun: false }));
        expect(err).toMatchObject({ kind: "fatal", reason: "refused", code: grpc.status.INVALID_ARGUMENT });
        expect(err.message).toBe(
            `ApplyConfiguration to ${WORKER} on ${apid.endpoint} was refused: 1 error occurred: * feature HostDNS should forward kube-dns to host ` +
                "in container mode (.machine.features.hostDNS.forwardKubeDNSToHost)",
        );
    });

    it("another apply in progress is retryable", async () => {
        worker.applyInProgress = 1;
        const err = await failure(client.applyConfiguration(2000, WORKER, { data: config({ labels: "x" }), mode: "auto", dryRun: false }));
        expect(err).toMatchObject({ kind: "retryable", reason: "another apply configuration is already in progress" });
        await client.applyConfiguration(2000, WORKER, { data: config({ labels: "x" }), mode: "auto", dryRun: false });
    });

    it("stale read-back: the apply succeeds and the node still reports the old config", async () => {
        worker.staleReadBack = true;
        const next = config({ labels: "x" });
        expect((await client.applyConfiguration(2000, WORKER, { data: next, mode: "auto", dryRun: false })).mode).toBe("no-reboot");
        expect(await client.machineConfig(2000, WORKER)).toBe(config());
    });

    it("dry run: what the node would do and the diff, nothing applied", async () => {
        const next = config({ labels: "x" });
        const result = await client.applyConfiguration(2000, WORKER, { data: next, mode: "auto", dryRun: true });
        expect(result.mode).toBe("no-reboot");
        expect(result.modeDetails).toBe("Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).");
        expect(result.diff).toContain("+        tier: x");
        expect(await client.machineConfig(2000, WORKER)).toBe(config());

        const same = await client.applyConfiguration(2000, WORKER, { data: config(), mode: "auto", dryRun: true });
        expect(same).toMatchObject({ modeDetails: "Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\nNo changes.", diff: "" });
    });

    it("staged: written for the next boot, not run", async () => {
        const next = config({ token: "n3wtok.s3cretvalue11111" });
        const result = await client.applyConfiguration(2000, WORKER, { data: next, mode: "staged", dryRun: false });
        expect(result).toMatchObject({ mode: "staged", modeDetails: "Staged configuration to be applied after the next reboot" });
        expect(await client.machineConfig(2000, WORKER)).toBe(config());
        expect(worker.persistentConfig).toBe(next);
    });

    it("try: applied, then reverted after the timeout sent", async () => {
        const next = config({ labels: "x" });
        const result = await client.applyConfiguration(2000, WORKER, { data: next, mode: "try", dryRun: false, tryModeTimeoutMs: 200 });
        expect(result.modeDetails).toBe("Applied configuration without a reboot\nThe config is applied in 'try' mode and will be automatically reverted back in 200ms");
        expect(await client.machineConfig(2000, WORKER)).toBe(next);
        await new Promise((r) => setTimeout(r, 250));
        expect(await client.machineConfig(2000, WORKER)).toBe(config());
    });

    it("a node that is down answers in the reply's metadata: retryable", async () => {
        worker.down = true;
        const err = await failure(client.applyConfiguration(2000, WORKER, { data: config({ labels: "x" }), mode: "auto", dryRun: false }));
        expect(err).toMatchObject({ kind: "retryable", reason: "connection refused" });
    });

    it("a mode outside the table is never sent (REBOOT is the zero value)", async () => {
        const before = apid.calls.applyConfiguration;
        const request = { data: config(), mode: "fast", dryRun: false } as unknown as Parameters<TalosClient["applyConfiguration"]>[2];
        const err = await failure(client.applyConfiguration(2000, WORKER, request));
        expect(err).toMatchObject({ kind: "fatal", reason: "bad request" });
        expect(err.message).toContain('mode "fast" is not one of reboot, auto, no-reboot, staged, try');
        expect(apid.calls.applyConfiguration).toBe(before);
    });
});

describe("the fake's apid routing", () => {
    /** A raw COSI Get with the given metadata, as a client other than ours could send it. */
    function rawGet(md: Record<string, string>): Promise<grpc.ServiceError | null> {
        const raw = new grpc.Client(apid.endpoint, grpc.credentials.createSsl(Buffer.from(pki.bundle.certs.os.crt), Buffer.from(pki.talosAdmin.key), Buffer.from(pki.talosAdmin.crt)));
        const metadata = new grpc.Metadata();
        for (const [k, v] of Object.entries(md)) metadata.set(k, v);
        return new Promise((resolve) => {
            raw.makeUnaryRequest(METHODS.cosiGet, messages.cosiGetRequest.serialize, messages.cosiGetResponse.deserialize, { ...MACHINE_CONFIG_RESOURCE }, metadata, { deadline: Date.now() + 2000 }, (err) => {
                raw.close();
                resolve(err);
            });
        });
    }

    it.each([
        ["v1.8.3", "one-2-many proxying is not supported for COSI methods"],
        ["v1.12.11", "one-2-many proxying is not supported for COSI methods"],
        ["v1.13.9", "one-2-many proxying is not supported for method /cosi.resource.State/Get"],
    ])("Talos %s refuses `nodes` on COSI Get: %s", async (tag, text) => {
        apid.tag = tag;
        expect(oneToManyRefusal(tag, METHODS.cosiGet)).toBe(text);
        const err = await rawGet({ nodes: WORKER });
        expect([err?.code, err?.details]).toEqual([grpc.status.INVALID_ARGUMENT, text]);
        expect(await rawGet({ node: WORKER })).toBeNull();
    });
});
