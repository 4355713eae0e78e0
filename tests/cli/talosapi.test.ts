// The Talos API layer without a server: wire encoding by hand-computed bytes (field numbers of
// talos@v1.8.3:api/machine/machine.proto, api/resource/config/config.proto and the COSI
// cosi.resource protos), error classification, talosconfig reading.

import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";

import { classifyTalosError, parseTalosconfig, withApidPort } from "../../talos/api";
import { splitConfigDiff, withoutConfigText } from "../../talos/api/configtext";
import { APPLY_MODE_NUMBERS, applyModeOf, messages } from "../../talos/api/messages";
import { APPLY_MODES } from "../../talos/applymode";
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

describe("ApplyConfiguration and COSI Get encoding", () => {
    it("ApplyConfigurationRequest is data = 1, mode = 4, dry_run = 5, try_mode_timeout = 6 {seconds = 1, nanos = 2}", () => {
        const bytes = messages.applyConfigurationRequest.serialize({
            data: Buffer.from("version: v1alpha1\n"),
            mode: APPLY_MODE_NUMBERS.try,
            dry_run: true,
            try_mode_timeout: { seconds: 90, nanos: 500_000_000 },
        });
        const want = Buffer.concat([
            field(1, Buffer.from("version: v1alpha1\n")),
            Buffer.from([0x20, 0x04]), // mode (4, varint) = TRY
            Buffer.from([0x28, 0x01]), // dry_run (5, varint) = true
            // try_mode_timeout (6): seconds 90, nanos 500000000 (varint 0x80 0xca 0xb5 0xee 0x01)
            field(6, Buffer.from([0x08, 90, 0x10, 0x80, 0xca, 0xb5, 0xee, 0x01])),
        ]);
        expect(bytes.toString("hex")).toBe(want.toString("hex"));
    });

    it("the mode table is Talos' enum, every mode once, and reads back", () => {
        expect(APPLY_MODE_NUMBERS).toEqual({ reboot: 0, auto: 1, "no-reboot": 2, staged: 3, try: 4 });
        expect(APPLY_MODES.map((m) => applyModeOf(APPLY_MODE_NUMBERS[m]))).toEqual(APPLY_MODES);
        expect(applyModeOf(5)).toBeUndefined();
    });

    it("reads ApplyConfigurationResponse{messages: [{metadata{hostname}, warnings, mode = 3, mode_details = 4}]}", () => {
        const message = Buffer.concat([
            field(1, field(1, Buffer.from("172.30.0.3"))),
            field(2, Buffer.from("w1")),
            Buffer.from([0x18, 0x00]), // mode REBOOT
            field(4, Buffer.from("Applied configuration with a reboot")),
        ]);
        const decoded = messages.applyConfigurationResponse.deserialize(field(1, message));
        expect(decoded.messages[0]).toMatchObject({ metadata: { hostname: "172.30.0.3" }, warnings: ["w1"], mode: 0, mode_details: "Applied configuration with a reboot" });
    });

    it("GetRequest is namespace = 1, type = 2, id = 3, options = 4 (empty, sent as talosctl's client sends it)", () => {
        const bytes = messages.cosiGetRequest.serialize({ namespace: "config", type: "MachineConfigs.config.talos.dev", id: "v1alpha1", options: {} });
        const want = Buffer.concat([field(1, Buffer.from("config")), field(2, Buffer.from("MachineConfigs.config.talos.dev")), field(3, Buffer.from("v1alpha1")), Buffer.from([0x22, 0x00])]);
        expect(bytes.toString("hex")).toBe(want.toString("hex"));
    });

    it("reads GetResponse.resource(1).spec(2).proto_spec(1) as MachineConfigSpec.yaml_marshalled(1), skipping yaml_spec", () => {
        const spec = Buffer.concat([field(1, field(1, Buffer.from("version: v1alpha1\n"))), field(2, Buffer.from("'ignored'"))]);
        const resource = Buffer.concat([field(1, Buffer.concat([field(3, Buffer.from("v1alpha1")), field(4, Buffer.from("7"))])), field(2, spec)]);
        const decoded = messages.cosiGetResponse.deserialize(field(1, resource));
        expect(decoded.resource?.metadata).toMatchObject({ id: "v1alpha1", version: "7" });
        const proto = decoded.resource?.spec?.proto_spec ?? Buffer.alloc(0);
        expect(Buffer.from(messages.machineConfigSpec.deserialize(Buffer.from(proto)).yaml_marshalled).toString()).toBe("version: v1alpha1\n");
    });
});

describe("splitConfigDiff", () => {
    it.each([
        ["Applied configuration without a reboot", { text: "Applied configuration without a reboot" }],
        [
            "Applied configuration with a reboot: this config change can't be applied in immediate mode\ndiff:\n--- a\n+++ b\n-    token: x\n",
            { text: "Applied configuration with a reboot: this config change can't be applied in immediate mode", diff: "--- a\n+++ b\n-    token: x\n" },
        ],
        [
            "Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\nConfig diff:\n\n--- a\n+++ b\n+x\n",
            { text: "Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).", diff: "--- a\n+++ b\n+x\n" },
        ],
        [
            "Dry run summary:\nStaged configuration to be applied after the next reboot (skipped in dry-run).\nConfig diff:\n\nNo changes.",
            { text: "Dry run summary:\nStaged configuration to be applied after the next reboot (skipped in dry-run).\nNo changes.", diff: "" },
        ],
    ])("%j", (text, want) => {
        expect(splitConfigDiff(text)).toEqual(want);
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
        [status.INVALID_ARGUMENT, "feature HostDNS should be enabled in container mode (.machine.features.hostDNS.enabled)", "fatal", "refused"],
        [status.INVALID_ARGUMENT, "this config change can't be applied in immediate mode\ndiff:\n--- a\n+++ b\n", "needs-reboot", "needs a reboot"],
        [status.FAILED_PRECONDITION, "another apply configuration is already in progress", "retryable", "another apply configuration is already in progress"],
        [
            status.FAILED_PRECONDITION,
            "configuration was already applied and node is rebooting, cannot apply more configuration changes until next reboot",
            "retryable",
            "configuration was already applied and node is rebooting, cannot apply more configuration changes until next reboot",
        ],
    ] as const)("code %i %j → %s", (code, details, kind, reason) => {
        const e = classifyTalosError({ code, details }, at, "Version");
        expect([e.kind, e.reason]).toEqual([kind, reason]);
    });

    it("never carries the config diff of a refused apply into the message", () => {
        const details = "this config change can't be applied in immediate mode\ndiff:\n--- a\n+++ b\n@@ -1,2 +1,2 @@\n-    token: old.s3cret\n+    token: new.s3cret\n";
        const e = classifyTalosError({ code: status.INVALID_ARGUMENT, details }, at, "ApplyConfiguration to 172.30.0.3");
        expect(e.message).toBe(
            "ApplyConfiguration to 172.30.0.3 on 127.0.0.1:50000 was refused: the change touches fields the node applies only when it boots " +
                "(this config change can't be applied in immediate mode)",
        );
        expect(e.reason).not.toContain("s3cret");
    });

    it("never quotes the unknown keys of a refused config (their values may be secrets)", () => {
        const details = "error decoding document v1alpha1/ (line 1): unknown keys found during decoding:\nmachine:\n    tokn: s3cret\n";
        expect(withoutConfigText(details)).toBe("error decoding document v1alpha1/ (line 1): unknown keys found during decoding: (not shown: they are config text)");
        const e = classifyTalosError({ code: status.INVALID_ARGUMENT, details }, at, "ApplyConfiguration to 172.30.0.3");
        expect(e).toMatchObject({ kind: "fatal", reason: "refused" });
        expect(e.message).not.toContain("s3cret");
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
