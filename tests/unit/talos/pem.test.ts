import { createPrivateKey, generateKeyPairSync } from "node:crypto";

import { describe, expect, it } from "vitest";

import { base64Pem, fromTalosEd25519Pem, pemBlocks, toTalosEd25519Pem } from "../../../talos/pem";

// What @pulumi/tls (and OpenSSL) write for each algorithm.
const ed25519 = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
const ecdsa = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "sec1" }).toString();
const ecdsaPkcs8 = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();

describe("toTalosEd25519Pem / fromTalosEd25519Pem", () => {
    it("relabels an Ed25519 PKCS#8 key and keeps its body", () => {
        const talos = toTalosEd25519Pem(ed25519);
        expect(talos.split("\n")[0]).toBe("-----BEGIN ED25519 PRIVATE KEY-----");
        expect(talos.trimEnd().split("\n").at(-1)).toBe("-----END ED25519 PRIVATE KEY-----");
        expect(pemBlocks(talos)[0].body).toEqual(pemBlocks(ed25519)[0].body);
        expect(talos.endsWith("\n")).toBe(true);
    });

    it("round-trips back to the text @pulumi/tls wrote, which Node can read", () => {
        const back = fromTalosEd25519Pem(toTalosEd25519Pem(ed25519));
        expect(back).toBe(ed25519);
        expect(createPrivateKey(back).asymmetricKeyType).toBe("ed25519");
    });

    it("leaves other labels alone", () => {
        expect(toTalosEd25519Pem(ecdsa)).toBe(ecdsa);
        expect(fromTalosEd25519Pem(ecdsa)).toBe(ecdsa);
        const talos = toTalosEd25519Pem(ed25519);
        expect(toTalosEd25519Pem(talos)).toBe(talos);
    });

    it("refuses to call a non-Ed25519 PKCS#8 key an Ed25519 key", () => {
        expect(() => toTalosEd25519Pem(ecdsaPkcs8)).toThrow("toTalosEd25519Pem: the PRIVATE KEY block holds a key of type ec, not Ed25519");
    });

    it("refuses a PRIVATE KEY block that is not a key", () => {
        const junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        expect(() => toTalosEd25519Pem(junk)).toThrow("toTalosEd25519Pem: the PRIVATE KEY block is not a valid PKCS#8 key");
    });
});

describe("base64Pem", () => {
    it("is the standard base64 of the whole PEM text", () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        expect(base64Pem(pem)).toBe(Buffer.from(pem).toString("base64"));
        expect(base64Pem(pem)).toBe("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=");
    });
});
