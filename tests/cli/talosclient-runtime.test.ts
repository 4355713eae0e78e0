// TalosClient's machine status against the fake apid: the COSI resource Talos' boot check reads,
// through the endpoint to a node by its address, decoded as talosctl shows it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { TalosClient } from "../../talos/api";
import { decodeMachineStatus, encodeMachineStatus, type MachineStatus } from "../../talos/api/runtime";
import { FakeTalos } from "../support/fake-talos";
import { makeTestPki } from "./support/harness";

const BOOTING: MachineStatus = { stage: "booting", ready: false, unmetConditions: [{ name: "time", reason: "time is not in sync yet" }] };

let apid: FakeTalos;
let client: TalosClient;

beforeAll(async () => {
    const pki = await makeTestPki();
    apid = await FakeTalos.start({
        osCa: pki.bundle.certs.os,
        self: "172.30.0.2",
        nodes: { "172.30.0.2": {}, "172.30.0.3": { machineStatus: BOOTING }, "172.30.0.4": { down: true } },
    });
    client = new TalosClient({ endpoint: apid.endpoint, ca: pki.bundle.certs.os.crt, crt: pki.talosAdmin.crt, key: pki.talosAdmin.key });
});

afterAll(async () => {
    client.close();
    await apid.close();
});

describe("TalosClient.machineStatus", () => {
    it("reads a booted node's status, and a booting one's unmet conditions", async () => {
        expect(await client.machineStatus(2000, "172.30.0.2")).toEqual({ stage: "running", ready: true, unmetConditions: [] });
        expect(await client.machineStatus(2000, "172.30.0.3")).toEqual(BOOTING);
        expect(apid.received.filter((c) => c.method === "cosiGet").map((c) => c.node)).toEqual([["172.30.0.2"], ["172.30.0.3"]]);
    });

    it("rejects for a node apid cannot reach, naming it", async () => {
        await expect(client.machineStatus(2000, "172.30.0.4")).rejects.toMatchObject({ kind: "retryable" });
    });

    it("decodes an empty spec as stage unknown, and a stage it does not know by number", () => {
        expect(decodeMachineStatus(new Uint8Array())).toEqual({ stage: "unknown", ready: false, unmetConditions: [] });
        const later = encodeMachineStatus({ stage: "stage 12", ready: true, unmetConditions: [] });
        expect(decodeMachineStatus(later).stage).toBe("stage 12");
    });
});
