import { generateKeyPairSync, randomBytes } from "node:crypto";

import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";

import { base64Pem, fromTalosEd25519Pem } from "../../../talos/pem";
import type { SecretsBundle } from "../../../talos/secretsbundle";
import { SecretsFileError, parseSecretsYaml, renderSecretsYaml } from "../../../talos/secretsfile";
import { makeSecretsBundle } from "../../support/pki";

let bundle: SecretsBundle;
let text: string;

beforeAll(async () => {
    bundle = await makeSecretsBundle({ rsaBits: 2048 });
    text = renderSecretsYaml(bundle);
});

/** The problems parseSecretsYaml reports, or a failure if it accepts the text. */
function problemsOf(yamlText: string): string[] {
    try {
        parseSecretsYaml(yamlText);
    } catch (e) {
        expect(e).toBeInstanceOf(SecretsFileError);
        return (e as SecretsFileError).problems;
    }
    throw new Error("parseSecretsYaml accepted the text");
}

/** The rendered file as an object, changed by `edit`, back to YAML. */
function edited(edit: (file: Record<string, any>) => void): string {
    const file = parse(text) as Record<string, any>;
    edit(file);
    return stringify(file);
}

describe("renderSecretsYaml", () => {
    it("writes talosctl's keys, in its order, with 4-space indents", () => {
        const file = parse(text) as Record<string, Record<string, unknown>>;
        expect(Object.keys(file)).toEqual(["cluster", "secrets", "trustdinfo", "certs"]);
        expect(Object.keys(file.cluster)).toEqual(["id", "secret"]);
        expect(Object.keys(file.secrets)).toEqual(["bootstraptoken", "secretboxencryptionsecret"]);
        expect(Object.keys(file.trustdinfo)).toEqual(["token"]);
        expect(Object.keys(file.certs)).toEqual(["etcd", "k8s", "k8saggregator", "k8sserviceaccount", "os"]);
        expect(Object.keys(file.certs.os as object)).toEqual(["crt", "key"]);
        expect(Object.keys(file.certs.k8sserviceaccount as object)).toEqual(["key"]);
        expect(text.startsWith(`cluster:\n    id: ${bundle.cluster.id}\n    secret: ${bundle.cluster.secret}\nsecrets:\n`)).toBe(true);
    });

    it("holds every certificate and key as base64 of the whole PEM text", () => {
        const file = parse(text) as { certs: Record<string, { crt?: string; key: string }> };
        const decode = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString("utf8");
        expect(decode(file.certs.etcd.crt)).toBe(bundle.certs.etcd.crt);
        expect(decode(file.certs.k8s.key)).toBe(bundle.certs.k8s.key);
        expect(decode(file.certs.k8sserviceaccount.key)).toBe(bundle.certs.k8sServiceAccount.key);
        expect(decode(file.certs.os.key).split("\n")[0]).toBe("-----BEGIN ED25519 PRIVATE KEY-----");
    });

    it("writes the OS CA key with the label Talos reads even when given the PKCS#8 label", () => {
        const pulumiLabelled = { ...bundle, certs: { ...bundle.certs, os: { ...bundle.certs.os, key: fromTalosEd25519Pem(bundle.certs.os.key) } } };
        expect(renderSecretsYaml(pulumiLabelled)).toBe(text);
    });

    it("is deterministic", () => {
        expect(renderSecretsYaml(bundle)).toBe(text);
    });

    it("round-trips through parseSecretsYaml", () => {
        expect(parseSecretsYaml(text)).toEqual(bundle);
        expect(renderSecretsYaml(parseSecretsYaml(text))).toBe(text);
    });

    it("ignores keys it does not know, as talosctl does", () => {
        expect(parseSecretsYaml(edited((f) => (f.extra = { note: "x" })))).toEqual(bundle);
    });
});

describe("parseSecretsYaml errors", () => {
    it("reports an empty file", () => {
        expect(() => parseSecretsYaml("")).toThrow(new SecretsFileError(["the file is empty"]));
        expect(problemsOf("  \n\n")).toEqual(["the file is empty"]);
        expect(problemsOf("# just a comment\n")).toEqual(["the file is empty"]);
    });

    it("formats the message with every problem on its own line", () => {
        const err = new SecretsFileError(["a: missing", "b: empty"]);
        expect(err.message).toBe("invalid secrets.yaml (2 problems):\n  - a: missing\n  - b: empty");
        expect(err.name).toBe("SecretsFileError");
        expect(new SecretsFileError(["a: missing"]).message).toBe("invalid secrets.yaml (1 problem):\n  - a: missing");
    });

    it("reports YAML syntax errors by position and code only", () => {
        expect(problemsOf("cluster:\n  id: a\n id: b\n")).toEqual(["line 3, column 1: not valid YAML (BAD_INDENT)"]);
        expect(problemsOf('cluster:\n  id: "abc\n')).toEqual(["line 3, column 1: not valid YAML (MISSING_CHAR)"]);
    });

    it("wants one mapping", () => {
        expect(problemsOf("- cluster\n")).toEqual(["expected a mapping at the top level"]);
        expect(problemsOf("a: 1\n---\nb: 2\n")).toEqual(["expected one YAML document, found 2"]);
    });

    it("reports every missing section at once", () => {
        expect(problemsOf("{}\n")).toEqual(["cluster: missing", "secrets: missing", "trustdinfo: missing", "certs: missing"]);
        expect(problemsOf("cluster: 1\nsecrets: []\ntrustdinfo: ~\ncerts: {}\n")).toEqual([
            "cluster: expected a mapping",
            "secrets: expected a mapping",
            "trustdinfo: missing",
            "certs.etcd: missing",
            "certs.k8s: missing",
            "certs.k8saggregator: missing",
            "certs.os: missing",
            "certs.k8sserviceaccount: missing",
        ]);
    });

    it("reports every missing key at once", () => {
        const file = edited((f) => {
            delete f.cluster.id;
            delete f.secrets.bootstraptoken;
            delete f.trustdinfo.token;
            delete f.certs.os.key;
            delete f.certs.k8s.crt;
            delete f.certs.k8sserviceaccount.key;
        });
        expect(problemsOf(file)).toEqual([
            "cluster.id: missing",
            "secrets.bootstraptoken: missing",
            "trustdinfo.token: missing",
            "certs.k8s.crt: missing",
            "certs.os.key: missing",
            "certs.k8sserviceaccount.key: missing",
        ]);
    });

    it("takes the standard-base64 cluster.id of talosctl v1.14's gen secrets as it is", () => {
        // 32 bytes whose standard base64 has both "+" and "/": not URL-safe base64.
        const id = Buffer.from(Array.from({ length: 32 }, (_, i) => (i % 2 === 0 ? 0xfb : 0xff))).toString("base64");
        expect(id).toMatch(/[+/]/);
        const parsed = parseSecretsYaml(edited((f) => { f.cluster.id = id; }));
        expect(parsed.cluster.id).toBe(id);
    });

    it("reports bad values by path, all at once, and never echoes a value", () => {
        const pkcs8Ed25519 = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        const badValues = {
            id: "not/base64%==",
            token: "ABCDEF.0123456789abcdef",
            shortSecretbox: randomBytes(16).toString("base64"),
            notBase64: "%%%not-base64%%%",
        };
        const file = edited((f) => {
            f.cluster.id = badValues.id;
            f.cluster.secret = 42;
            f.secrets.bootstraptoken = badValues.token;
            f.secrets.secretboxencryptionsecret = badValues.shortSecretbox;
            f.trustdinfo.token = "";
            f.certs.etcd.crt = badValues.notBase64;
            f.certs.k8s.key = bundle.certs.k8s.key; // PEM text, not its base64
            f.certs.k8saggregator.crt = base64Pem(bundle.certs.k8sAggregator.key);
            f.certs.os.key = base64Pem(pkcs8Ed25519);
            f.certs.k8sserviceaccount.key = Buffer.from("hello").toString("base64");
        });
        let message = "";
        try {
            parseSecretsYaml(file);
        } catch (e) {
            message = (e as Error).message;
        }
        expect(problemsOf(file)).toEqual([
            "cluster.id: not base64 with padding (URL-safe, or standard as talosctl writes it from v1.14)",
            "cluster.secret: expected a string",
            "secrets.bootstraptoken: not a token of the form [0-9a-z]{6}.[0-9a-z]{16}",
            "secrets.secretboxencryptionsecret: not 32 bytes in standard base64",
            "trustdinfo.token: empty",
            "certs.etcd.crt: not standard base64",
            "certs.k8s.key: PEM text where base64 of the PEM text is expected",
            'certs.k8saggregator.crt: PEM label "EC PRIVATE KEY", expected "CERTIFICATE"',
            'certs.os.key: PEM label "PRIVATE KEY" is not one Talos reads ("ED25519 PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY")',
            "certs.k8sserviceaccount.key: does not decode to one PEM block",
        ]);
        for (const value of [...Object.values(badValues), bundle.certs.k8s.key.split("\n")[1], bundle.cluster.secret]) {
            expect(message).not.toContain(value);
        }
    });

    it("checks that each key belongs to its certificate", () => {
        const file = edited((f) => {
            f.certs.etcd.key = base64Pem(bundle.certs.k8s.key);
        });
        expect(problemsOf(file)).toEqual(["certs.etcd: the key does not belong to the certificate"]);
    });

    it("checks that the PEM bodies parse", () => {
        const file = edited((f) => {
            f.certs.etcd.crt = base64Pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
            f.certs.k8s.key = base64Pem("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
            f.certs.os.key = base64Pem(bundle.certs.etcd.key.replace(/EC PRIVATE KEY/g, "ED25519 PRIVATE KEY"));
        });
        expect(problemsOf(file)).toEqual([
            "certs.etcd.crt: not a valid X.509 certificate",
            "certs.k8s.key: not a valid private key",
            "certs.os.key: not a valid private key",
        ]);
    });

    it("refuses an AES-CBC secret, which no supported Talos uses", () => {
        const file = edited((f) => {
            f.secrets.aescbcencryptionsecret = randomBytes(32).toString("base64");
        });
        expect(problemsOf(file)).toEqual([
            "secrets.aescbcencryptionsecret: not supported (Talos >= v1.3 uses secretboxencryptionsecret)",
        ]);
    });
});
