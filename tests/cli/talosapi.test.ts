// The Talos API layer without a server: wire encoding by hand-computed bytes (field numbers of
// talos@v1.8.3:api/machine/machine.proto), error classification, talosconfig reading.

import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";

import { classifyTalosError, parseTalosconfig, withApidPort } from "../../talos/api";
import { messages } from "../../talos/api/messages";
import { renderTalosconfig } from "../../talos/clientconfig";

describe("wire encoding", () => {
    it("BootstrapRequest{recover_etcd: true, recover_skip_hash_check: true} is fields 1 and 2 as varints", () => {
        expect(messages.bootstrapRequest.serialize({ recover_etcd: true, recover_skip_hash_check: true }).toString("hex")).toBe("08011001");
        expect(messages.bootstrapRequest.serialize({}).length).toBe(0);
    });

    it("reads VersionResponse{messages: [Version{metadata{hostname}, version{tag, arch}, features{rbac}}]}", () => {
        const version = Buffer.concat([
            field(1, field(1, Buffer.from("cp-1"))), // metadata.hostname
            field(2, Buffer.concat([field(1, Buffer.from("v1.8.3")), field(6, Buffer.from("amd64"))])), // version.tag, .arch
            field(4, Buffer.from([0x08, 0x01])), // features.rbac = true
        ]);
        const decoded = messages.versionResponse.deserialize(field(1, version));
        expect(decoded.messages).toHaveLength(1);
        expect(decoded.messages[0].metadata?.hostname).toBe("cp-1");
        expect(decoded.messages[0].version).toMatchObject({ tag: "v1.8.3", arch: "amd64", sha: "" });
        expect(decoded.messages[0].features?.rbac).toBe(true);
        expect(decoded.messages[0].platform).toBeNull();
    });

    it("reads a proxied error from common.Metadata{error = 2, status = 3}", () => {
        const meta = Buffer.concat([field(2, Buffer.from("boom")), field(3, Buffer.concat([Buffer.from([0x08, 0x09]), field(2, Buffer.from("boom"))]))]);
        const decoded = messages.bootstrapResponse.deserialize(field(1, field(1, meta)));
        expect(decoded.messages[0].metadata).toMatchObject({ error: "boom", status: { code: 9, message: "boom" } });
    });
});

/** A length-delimited field (wire type 2); lengths here are < 128. */
function field(n: number, body: Buffer): Buffer {
    return Buffer.concat([Buffer.from([(n << 3) | 2, body.length]), body]);
}

describe("classifyTalosError", () => {
    const at = "127.0.0.1:50000";
    it.each([
        [status.UNAVAILABLE, "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:50000", "retryable", "connection refused"],
        [status.UNAVAILABLE, "read ECONNRESET", "retryable", "connection reset"],
        [status.UNAVAILABLE, "error reading from server: EOF", "retryable", "connection reset"],
        [status.UNAVAILABLE, "Connection dropped", "retryable", "connection reset"],
        [status.DEADLINE_EXCEEDED, "Deadline exceeded after 2.001s", "retryable", "no answer in time"],
        [status.FAILED_PRECONDITION, "time is not in sync yet", "retryable", "time is not in sync yet"],
        [status.ALREADY_EXISTS, "etcd data directory is not empty", "already-done", "etcd data directory is not empty"],
        [status.UNAVAILABLE, "No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: x", "fatal", "TLS failure"],
        [status.UNAVAILABLE, "Error: 40A8B9F7:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca", "fatal", "TLS failure"],
        [status.UNAUTHENTICATED, "no client certificate", "fatal", "unauthenticated"],
        [status.PERMISSION_DENIED, "not authorized", "fatal", "permission denied"],
        [status.UNIMPLEMENTED, "unknown method", "fatal", "UNIMPLEMENTED"],
    ] as const)("code %i %j → %s", (code, details, kind, reason) => {
        const e = classifyTalosError({ code, details }, at, "Version");
        expect([e.kind, e.reason]).toEqual([kind, reason]);
    });

    it("keeps the underlying TLS error, without grpc-js' wrapping, in the message", () => {
        const e = classifyTalosError({ code: status.UNAVAILABLE, details: "No connection established. Last error: Error: unable to verify the first certificate. Resolution note: " }, at, "Version");
        expect(e.message).toMatch(/^Version on 127\.0\.0\.1:50000: the TLS handshake failed \(unable to verify the first certificate\)\. /);
    });
});

describe("parseTalosconfig", () => {
    const pem = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
    const text = renderTalosconfig({ contextName: "dev", endpoints: ["127.0.0.1"], nodes: ["172.30.0.2"], ca: pem("CERTIFICATE"), crt: pem("CERTIFICATE"), key: pem("ED25519 PRIVATE KEY") });

    it("decodes the current context and adds apid's port", () => {
        expect(parseTalosconfig(text)).toEqual({
            name: "dev",
            endpoints: ["127.0.0.1:50000"],
            nodes: ["172.30.0.2"],
            ca: pem("CERTIFICATE"),
            crt: pem("CERTIFICATE"),
            key: pem("ED25519 PRIVATE KEY"),
        });
    });

    it("names an unknown context and the ones there are", () => {
        expect(() => parseTalosconfig(text, "prod")).toThrow('talosconfig: context "prod" is not in `contexts` (it has: dev)');
    });

    it.each([
        ["127.0.0.1:50001", "127.0.0.1:50001"],
        ["talos.local", "talos.local:50000"],
        ["[::1]:50000", "[::1]:50000"],
        ["::1", "[::1]:50000"],
    ])("endpoint %s → %s", (endpoint, want) => {
        expect(withApidPort(endpoint)).toBe(want);
    });
});
