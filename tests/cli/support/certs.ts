// Leaf certificates the fakes and tests need beyond tests/support/pki.ts: the servers'
// certificates (apid's is issued by the OS CA with 127.0.0.1 in its SANs in container mode,
// TALOS-NOTES "Container mode"; the API server's by the Kubernetes CA) and client certificates
// with other organizations than the admin's. Leaf keys follow the CA's algorithm, as Talos'.

import { createPrivateKey, randomBytes, webcrypto } from "node:crypto";

import { fromTalosEd25519Pem } from "../../../talos/pem";
import type { CertAndKey } from "../../../talos/secretsbundle";
import { peculiarX509 } from "../../support/pki";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const subtle = webcrypto.subtle;

export interface LeafSpec {
    /** subject organizations (Talos reads roles from them) */
    organizations?: string[];
    commonName?: string;
    /** IP SANs */
    ips?: string[];
    /** DNS SANs */
    dnsNames?: string[];
    usage: "server" | "client";
}

/** A leaf signed by `ca`; the key is PEM that Node reads (`PRIVATE KEY` PKCS#8 for Ed25519, SEC1 for ECDSA). */
export async function issueCert(ca: CertAndKey, spec: LeafSpec): Promise<CertAndKey> {
    // Loaded through pki.ts, which installs the Reflect metadata polyfill @peculiar/x509 needs first.
    const x509 = await peculiarX509();
    const caKey = createPrivateKey(fromTalosEd25519Pem(ca.key));
    const ed25519 = caKey.asymmetricKeyType === "ed25519";
    const signingKey = await subtle.importKey(
        "pkcs8",
        caKey.export({ format: "der", type: "pkcs8" }),
        ed25519 ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["sign"],
    );
    const keys = ed25519
        ? ((await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair)
        : await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    const now = Date.now();
    const sans = [...(spec.ips ?? []).map((value) => ({ type: "ip" as const, value })), ...(spec.dnsNames ?? []).map((value) => ({ type: "dns" as const, value }))];
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomBytes(8).toString("hex").replace(/^./, "1"),
        subject: [
            ...(spec.organizations ?? []).map((o) => ({ O: [o] })),
            ...(spec.commonName === undefined ? [] : [{ CN: [spec.commonName] }]),
        ],
        issuer: new x509.X509Certificate(ca.crt).subject,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 24 * 3_600_000),
        publicKey: keys.publicKey,
        signingKey,
        signingAlgorithm: ed25519 ? { name: "Ed25519" } : ({ name: "ECDSA", hash: "SHA-256" } as webcrypto.EcdsaParams),
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (ed25519 ? 0 : x509.KeyUsageFlags.keyEncipherment), true),
            new x509.ExtendedKeyUsageExtension([spec.usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
            ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
        ],
    });
    return { crt: cert.toString("pem") + "\n", key: await keyPem(keys.privateKey, ed25519) };
}

async function keyPem(key: CryptoKey, ed25519: boolean): Promise<string> {
    const der = Buffer.from(await subtle.exportKey("pkcs8", key));
    const obj = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    return obj.export({ format: "pem", type: ed25519 ? "pkcs8" : "sec1" }).toString();
}
