// The test PKI (tests/support/pki.ts) must make what Talos makes, from the specs the Pulumi layer
// reads (talos/pki.ts): checked here with node:crypto, the CA extensions with @peculiar/x509.

import { X509Certificate, createPrivateKey } from "node:crypto";

import type * as X509 from "@peculiar/x509";
import { beforeAll, describe, expect, it } from "vitest";

import { fromTalosEd25519Pem, pemBlocks } from "../../../talos/pem";
import { CA_VALIDITY_HOURS, CLIENT_CERT_VALIDITY_HOURS } from "../../../talos/pki";
import type { CertAndKey, SecretsBundle } from "../../../talos/secretsbundle";
import { TOKEN_PATTERN, decodeStdBase64, decodeUrlBase64 } from "../../../talos/tokens";
import { makeAdminClients, makeClientCert, makeSecretsBundle, peculiarX509, type ClientCert } from "../../support/pki";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const NOW = new Date("2026-01-01T00:00:00Z");

let bundle: SecretsBundle;
let clients: Record<"talos" | "kubernetes", ClientCert>;
let x509: typeof X509;

beforeAll(async () => {
    x509 = await peculiarX509();
    // The default: RSA 4096, as Talos. Slow once; the other test files use 2048.
    bundle = await makeSecretsBundle({ now: NOW });
    clients = await makeAdminClients(bundle, NOW);
});

const label = (pem: string) => pemBlocks(pem)[0].label;
const hours = (c: X509Certificate) => (Date.parse(c.validTo) - Date.parse(c.validFrom)) / 3_600_000;

function extensionsOf(pem: string) {
    const cert = new x509.X509Certificate(pem);
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    const usage = cert.getExtension(x509.KeyUsagesExtension);
    return { ca: basic?.ca, basicCritical: basic?.critical, usages: usage?.usages, usageCritical: usage?.critical };
}

describe("makeSecretsBundle: the CAs", () => {
    const cases: [keyof SecretsBundle["certs"], string | undefined, string, string | undefined][] = [
        ["os", "O=talos", "ed25519", undefined],
        ["etcd", "O=etcd", "ec", "prime256v1"],
        ["k8s", "O=kubernetes", "ec", "prime256v1"],
        // @pulumi/tls refuses a CA with an empty subject, so it keeps the CN Talos asks for.
        ["k8sAggregator", "CN=front-proxy", "ec", "prime256v1"],
    ];

    it.each(cases)("%s: subject %s, %s key, self-signed CA for 10 years", (name, subject, keyType, curve) => {
        const pair = bundle.certs[name] as CertAndKey;
        const cert = new X509Certificate(pair.crt);
        expect(cert.subject || undefined).toBe(subject);
        expect(cert.issuer).toBe(cert.subject);
        expect(cert.ca).toBe(true);
        expect(cert.verify(cert.publicKey)).toBe(true);
        expect(cert.publicKey.asymmetricKeyType).toBe(keyType);
        expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe(curve);
        expect(hours(cert)).toBe(CA_VALIDITY_HOURS);
        expect(Date.parse(cert.validFrom)).toBe(NOW.getTime());
        expect(cert.keyUsage).toEqual([SERVER_AUTH, CLIENT_AUTH]);
        expect(extensionsOf(pair.crt)).toEqual({
            ca: true,
            basicCritical: true,
            usages: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
            usageCritical: true,
        });
        expect(cert.checkPrivateKey(createPrivateKey(fromTalosEd25519Pem(pair.key)))).toBe(true);
        // Go and @pulumi/tls give every CA a subject key identifier; Talos' checks expect it.
        expect(new x509.X509Certificate(pair.crt).getExtension(x509.SubjectKeyIdentifierExtension)).not.toBeNull();
    });

    it("labels the keys as Talos reads them", () => {
        expect(label(bundle.certs.os.key)).toBe("ED25519 PRIVATE KEY");
        expect(label(bundle.certs.etcd.key)).toBe("EC PRIVATE KEY");
        expect(label(bundle.certs.k8s.key)).toBe("EC PRIVATE KEY");
        expect(label(bundle.certs.k8sAggregator.key)).toBe("EC PRIVATE KEY");
        expect(label(bundle.certs.k8sServiceAccount.key)).toBe("RSA PRIVATE KEY");
        for (const pair of [bundle.certs.os, bundle.certs.etcd]) {
            expect(label(pair.crt)).toBe("CERTIFICATE");
        }
    });

    it("makes an RSA 4096 service-account key", () => {
        const key = createPrivateKey(bundle.certs.k8sServiceAccount.key);
        expect(key.asymmetricKeyType).toBe("rsa");
        expect(key.asymmetricKeyDetails?.modulusLength).toBe(4096);
    });
});

describe("makeSecretsBundle: tokens and secrets", () => {
    it("makes tokens in the kubeadm format", () => {
        expect(bundle.secrets.bootstrapToken).toMatch(TOKEN_PATTERN);
        expect(bundle.trustdInfo.token).toMatch(TOKEN_PATTERN);
        expect(bundle.secrets.bootstrapToken).not.toBe(bundle.trustdInfo.token);
    });

    it("makes 32-byte secrets: cluster.id URL-safe with padding, the others standard base64", () => {
        expect(bundle.cluster.id).toMatch(/^[A-Za-z0-9_-]{43}=$/);
        expect(decodeUrlBase64(bundle.cluster.id)).toHaveLength(32);
        expect(decodeStdBase64(bundle.cluster.secret)).toHaveLength(32);
        expect(decodeStdBase64(bundle.secrets.secretboxEncryptionSecret)).toHaveLength(32);
    });
});

describe("makeAdminClients", () => {
    it("talos admin: Ed25519, O=os:admin, clientAuth only, signed by the OS CA, 1 year", () => {
        const cert = new X509Certificate(clients.talos.crt);
        const ca = new X509Certificate(bundle.certs.os.crt);
        expect(cert.subject).toBe("O=os:admin");
        expect(cert.issuer).toBe("O=talos");
        expect(cert.checkIssued(ca)).toBe(true);
        expect(cert.verify(ca.publicKey)).toBe(true);
        expect(cert.ca).toBe(false);
        expect(cert.publicKey.asymmetricKeyType).toBe("ed25519");
        expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
        expect(extensionsOf(clients.talos.crt).usages).toBe(x509.KeyUsageFlags.digitalSignature);
        expect(hours(cert)).toBe(CLIENT_CERT_VALIDITY_HOURS);
        expect(label(clients.talos.key)).toBe("PRIVATE KEY");
        expect(cert.checkPrivateKey(createPrivateKey(clients.talos.key))).toBe(true);
    });

    it("kubernetes admin: ECDSA P-256, CN=admin O=system:masters, clientAuth, signed by the Kubernetes CA, 1 year", () => {
        const cert = new X509Certificate(clients.kubernetes.crt);
        const ca = new X509Certificate(bundle.certs.k8s.crt);
        expect(cert.subject).toBe("O=system:masters\nCN=admin");
        expect(cert.issuer).toBe("O=kubernetes");
        expect(cert.verify(ca.publicKey)).toBe(true);
        expect(cert.verify(new X509Certificate(bundle.certs.etcd.crt).publicKey)).toBe(false);
        expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
        expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
        expect(extensionsOf(clients.kubernetes.crt).usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
        expect(hours(cert)).toBe(CLIENT_CERT_VALIDITY_HOURS);
        expect(label(clients.kubernetes.key)).toBe("EC PRIVATE KEY");
        expect(cert.checkPrivateKey(createPrivateKey(clients.kubernetes.key))).toBe(true);
    });

    it("signs with an OS CA key given under the PKCS#8 label, as @pulumi/tls holds it", async () => {
        const signer = { crt: bundle.certs.os.crt, key: fromTalosEd25519Pem(bundle.certs.os.key) };
        const cert = new X509Certificate((await makeClientCert(signer, "talosAdmin")).crt);
        expect(cert.verify(new X509Certificate(bundle.certs.os.crt).publicKey)).toBe(true);
    });
});
