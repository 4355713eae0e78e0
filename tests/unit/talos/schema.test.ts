import { describe, expect, it } from "vitest";

import { schemaProblems } from "../../../talos/config/schema";
import { DOCUMENT_KINDS, DOCUMENT_TYPES } from "../../../talos/config/schema.generated";
import { TALOS_MINORS } from "../../../talos/versions";

const v1alpha1 = (machine: Record<string, unknown>, cluster: Record<string, unknown> = {}) => ({ version: "v1alpha1", machine, cluster });

describe("schemaProblems", () => {
    it("accepts the keys Talos knows, with values of the right shape", () => {
        const doc = v1alpha1(
            {
                type: "worker",
                certSANs: ["127.0.0.1"],
                kubelet: { image: "x", extraMounts: [{ destination: "/var/a", type: "bind", source: "/var/a", options: ["bind"] }] },
                network: { interfaces: [{ interface: "eth0", ignore: true, vlans: [{ vlanId: 5 }] }] },
                nodeLabels: { "any.key/at-all": "" },
                ca: { crt: "x", key: "" },
            },
            { apiServer: { auditPolicy: { anything: { goes: ["here"] } }, admissionControl: [{ name: "PodSecurity", configuration: { free: 1 } }] } },
        );
        for (const minor of TALOS_MINORS) {
            expect(schemaProblems([doc], minor)).toEqual([]);
        }
    });

    it("names every unknown key by its path, lists included", () => {
        const doc = v1alpha1(
            { notAField: true, kubelet: { extraMounts: [{ destination: "/var/a" }, { destination: "/var/b", bogus: 1 }] }, ca: { crt: "x", pem: "y" } },
            { network: { dnsDomain: "cluster.local", cni: { name: "none", typo: 1 } } },
        );
        expect(schemaProblems([{ ...doc, extra: 1 }], "1.8")).toEqual([
            "machine.notAField: unknown field",
            "machine.kubelet.extraMounts[1].bogus: unknown field",
            "machine.ca.pem: unknown field",
            "cluster.network.cni.typo: unknown field",
            "extra: unknown field",
        ]);
    });

    it("checks the shape of values", () => {
        expect(schemaProblems([v1alpha1({ certSANs: "127.0.0.1", kubelet: [], type: { a: 1 } }, { network: "x" })], "1.8")).toEqual([
            "machine.certSANs: expected a list",
            "machine.kubelet: expected a mapping",
            "machine.type: expected a scalar",
            "cluster.network: expected a mapping",
        ]);
    });

    it("knows which minors have a field", () => {
        const doc = v1alpha1({ install: { wipe: false, grubUseUKICmdline: true } });
        expect(schemaProblems([doc], "1.11")).toEqual(["machine.install.grubUseUKICmdline: unknown field"]);
        expect(schemaProblems([doc], "1.12")).toEqual([]);
    });

    it("knows which minors have a document kind, and checks its keys", () => {
        const hostname = { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" };
        expect(schemaProblems([hostname], "1.11")).toEqual(["HostnameConfig: unknown document kind"]);
        expect(schemaProblems([hostname], "1.12")).toEqual([]);
        expect(schemaProblems([{ ...hostname, autoo: "stable" }], "1.13")).toEqual(["HostnameConfig.autoo: unknown field"]);
        expect(schemaProblems([{ apiVersion: "v1alpha1", kind: "KmsgLogConfig", name: "remote", url: "udp://127.0.0.1:1/", bad: 1 }], "1.8")).toEqual([
            "KmsgLogConfig/remote.bad: unknown field",
        ]);
        expect(schemaProblems([{ apiVersion: "v1", kind: "KmsgLogConfig", name: "remote", url: "udp://x/" }], "1.8")).toEqual([
            'KmsgLogConfig/remote.apiVersion: unknown version "v1"',
        ]);
        expect(schemaProblems([{ apiVersion: "v1alpha1", kind: "NoSuchConfig" }, "text"], "1.13")).toEqual([
            "NoSuchConfig: unknown document kind",
            "a document is not a mapping",
        ]);
    });
});

describe("schema.generated", () => {
    it("has the v1alpha1 document at every minor and only well-formed type references", () => {
        expect(DOCUMENT_KINDS.v1alpha1).toBe("T:v1alpha1.Config");
        const refs = [...Object.values(DOCUMENT_KINDS), ...Object.values(DOCUMENT_TYPES).flatMap((f) => Object.values(f))];
        for (const ref of refs) {
            expect(ref).toMatch(/^(?:[LM]:)*(?:S|A|T:[\w./]+)(?:@1\.\d+(?:,1\.\d+)*)?$/);
            for (const m of ref.matchAll(/T:([\w./]+)/g)) {
                expect(DOCUMENT_TYPES[m[1]], m[1]).toBeDefined();
            }
        }
    });
});
