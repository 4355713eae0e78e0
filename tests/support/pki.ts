// A real SecretsBundle and admin client certificates for tests and fixtures, made the way the
// Pulumi layer makes them with @pulumi/tls and @pulumi/random, from the specs in talos/pki.ts:
// Ed25519 keys as PKCS#8 (relabelled `ED25519 PRIVATE KEY` in the bundle, as Talos reads them),
// ECDSA P-256 keys as SEC1 `EC PRIVATE KEY`, RSA keys as PKCS#1 `RSA PRIVATE KEY`.

import { createPrivateKey, generateKeyPairSync, randomBytes, webcrypto, type KeyObject } from "node:crypto";

import type * as X509 from "@peculiar/x509";

import { fromTalosEd25519Pem, toTalosEd25519Pem } from "../../talos/pem";
import {
    CA_SPECS,
    KUBERNETES_ADMIN_CERT,
    TALOS_ADMIN_CERT,
    type CertSpec,
    type KeySpec,
    type SubjectSpec,
    type TlsAllowedUse,
} from "../../talos/pki";
import type { CertAndKey, SecretsBundle } from "../../talos/secretsbundle";
import {
    CLUSTER_ID_BYTES, CLUSTER_SECRET_BYTES, SECRETBOX_SECRET_BYTES, TOKEN_ALPHABET, TOKEN_ID_LENGTH, TOKEN_SECRET_LENGTH,
    stdBase64FromHex, tokenFromCharacters, urlBase64FromHex,
} from "../../talos/tokens";

// The project compiles without the DOM lib, so the WebCrypto types come from node:crypto.
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;

const subtle = webcrypto.subtle;

// @peculiar/x509 resolves its algorithms through tsyringe, which refuses to load without a Reflect
// metadata polyfill (its README: "Reflect Polyfill Required"). tsyringe calls only
// Reflect.getMetadata, getOwnMetadata and defineMetadata, so these three are supplied here, with
// the semantics of the `reflect-metadata` package, rather than adding a dependency; the library is
// then loaded on first use, after them.
interface ReflectMetadata {
    defineMetadata(metadataKey: unknown, value: unknown, target: object, propertyKey?: string | symbol): void;
    getOwnMetadata(metadataKey: unknown, target: object, propertyKey?: string | symbol): unknown;
    getMetadata(metadataKey: unknown, target: object, propertyKey?: string | symbol): unknown;
}

function installReflectMetadata(): void {
    const reflect = Reflect as unknown as Partial<ReflectMetadata>;
    if (typeof reflect.getMetadata === "function") {
        return; // a real polyfill is loaded
    }
    // target → property (undefined for the target itself) → metadata key → value
    const store = new WeakMap<object, Map<string | symbol | undefined, Map<unknown, unknown>>>();
    const metadataOf = (target: object, property: string | symbol | undefined, create: boolean) => {
        let byProperty = store.get(target);
        if (byProperty === undefined && create) {
            byProperty = new Map();
            store.set(target, byProperty);
        }
        let metadata = byProperty?.get(property);
        if (metadata === undefined && create && byProperty !== undefined) {
            metadata = new Map();
            byProperty.set(property, metadata);
        }
        return metadata;
    };
    const polyfill: ReflectMetadata = {
        defineMetadata(key, value, target, property) {
            metadataOf(target, property, true)?.set(key, value);
        },
        getOwnMetadata(key, target, property) {
            return metadataOf(target, property, false)?.get(key);
        },
        getMetadata(key, target, property) {
            // Own metadata first, then up the prototype chain.
            for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
                const metadata = metadataOf(t, property, false);
                if (metadata?.has(key)) {
                    return metadata.get(key);
                }
            }
            return undefined;
        },
    };
    Object.assign(Reflect, polyfill);
}

let x509Module: Promise<typeof X509> | undefined;

/** @peculiar/x509, loaded after the Reflect polyfill and set to use Node's WebCrypto. */
export function peculiarX509(): Promise<typeof X509> {
    installReflectMetadata();
    x509Module ??= import("@peculiar/x509").then((x509) => {
        x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
        return x509;
    });
    return x509Module;
}

export interface SecretsBundleOptions {
    /** the certificates' notBefore; default now */
    now?: Date;
    /**
     * Service-account key size. Talos uses 4096 (the default); 2048 is much faster to generate
     * for tests that do not care. Keys are cached per size for the whole process.
     */
    rsaBits?: 2048 | 4096;
}

/** A PEM certificate and its PEM private key. */
export type ClientCert = CertAndKey;

/** Which admin client certificate. */
export type ClientCertKind = "talosAdmin" | "kubernetesAdmin";

/** A fresh bundle: four CAs, a service-account key, tokens and random secrets in Talos' formats. */
export async function makeSecretsBundle(opts: SecretsBundleOptions = {}): Promise<SecretsBundle> {
    const now = opts.now ?? new Date();
    const [os, etcd, k8s, k8sAggregator] = await Promise.all([
        makeCa(CA_SPECS.os, now),
        makeCa(CA_SPECS.etcd, now),
        makeCa(CA_SPECS.k8s, now),
        makeCa(CA_SPECS.k8sAggregator, now),
    ]);
    // The Pulumi layer draws the 32-byte values as hex digits and encodes them with the same functions.
    const hex = (bytes: number) => randomBytes(bytes).toString("hex");
    return {
        cluster: {
            id: urlBase64FromHex("cluster.id", hex(CLUSTER_ID_BYTES), CLUSTER_ID_BYTES),
            secret: stdBase64FromHex("cluster.secret", hex(CLUSTER_SECRET_BYTES), CLUSTER_SECRET_BYTES),
        },
        secrets: {
            bootstrapToken: makeToken(),
            secretboxEncryptionSecret: stdBase64FromHex("secretbox", hex(SECRETBOX_SECRET_BYTES), SECRETBOX_SECRET_BYTES),
        },
        trustdInfo: { token: makeToken() },
        certs: { etcd, k8s, k8sAggregator, k8sServiceAccount: { key: rsaKeyPem(opts.rsaBits ?? 4096) }, os },
    };
}

/** The talosconfig admin (Ed25519, O=os:admin, clientAuth, by the OS CA) and kubeconfig admin (ECDSA P-256, CN=admin, O=system:masters, by the Kubernetes CA). */
export async function makeAdminClients(bundle: SecretsBundle, now: Date = new Date()): Promise<Record<"talos" | "kubernetes", ClientCert>> {
    const [talos, kubernetes] = await Promise.all([
        makeClientCert(bundle.certs.os, "talosAdmin", now),
        makeClientCert(bundle.certs.k8s, "kubernetesAdmin", now),
    ]);
    return { talos, kubernetes };
}

/** One admin client certificate signed by `signer` (a CA's PEM cert and key, any label Talos reads). The key is PEM as @pulumi/tls writes it. */
export async function makeClientCert(signer: CertAndKey, kind: ClientCertKind, now: Date = new Date()): Promise<ClientCert> {
    const x509 = await peculiarX509();
    const spec = clientSpec(kind);
    const keys = await generateKeys(spec.key);
    const caCert = new x509.X509Certificate(signer.crt);
    const signingKey = await importSigningKey(signer.key);
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: subjectName(spec.subject),
        issuer: caCert.subject,
        notBefore: now,
        notAfter: hoursLater(now, spec.validityPeriodHours),
        publicKey: keys.publicKey,
        signingKey,
        signingAlgorithm: signingAlgorithm(signingKey.algorithm.name),
        // Go sets the authority key identifier from a CA that has a subject key identifier.
        extensions: [...extensions(x509, spec), await x509.AuthorityKeyIdentifierExtension.create(caCert)],
    });
    return { crt: cert.toString("pem") + "\n", key: await privateKeyPem(keys.privateKey, spec.key, "pulumi") };
}

function clientSpec(kind: ClientCertKind): CertSpec {
    switch (kind) {
        case "talosAdmin":
            return TALOS_ADMIN_CERT;
        case "kubernetesAdmin":
            return KUBERNETES_ADMIN_CERT;
        default: {
            const unreachable: never = kind;
            throw new Error(`unknown client certificate ${String(unreachable)}`);
        }
    }
}

async function makeCa(spec: CertSpec, now: Date): Promise<CertAndKey> {
    const x509 = await peculiarX509();
    const keys = await generateKeys(spec.key);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serialNumber(),
        name: subjectName(spec.subject),
        notBefore: now,
        notAfter: hoursLater(now, spec.validityPeriodHours),
        keys,
        signingAlgorithm: signingAlgorithm(keys.privateKey.algorithm.name),
        // @pulumi/tls (like Go's x509.CreateCertificate) gives every CA a subject key identifier.
        extensions: [...extensions(x509, spec), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
    });
    return { crt: cert.toString("pem") + "\n", key: await privateKeyPem(keys.privateKey, spec.key, "talos") };
}

function extensions(x509: typeof X509, spec: CertSpec): X509.Extension[] {
    const uses = new Set<TlsAllowedUse>(spec.allowedUses);
    const flags =
        (uses.has("digital_signature") ? x509.KeyUsageFlags.digitalSignature : 0) |
        (uses.has("key_encipherment") ? x509.KeyUsageFlags.keyEncipherment : 0) |
        (uses.has("cert_signing") ? x509.KeyUsageFlags.keyCertSign : 0);
    const eku = [
        ...(uses.has("server_auth") ? [x509.ExtendedKeyUsage.serverAuth] : []),
        ...(uses.has("client_auth") ? [x509.ExtendedKeyUsage.clientAuth] : []),
    ];
    return [
        // Go marks both critical (crypto/x509 `buildCertExtensions`), as does @pulumi/tls.
        new x509.BasicConstraintsExtension(spec.isCaCertificate, undefined, true),
        new x509.KeyUsagesExtension(flags, true),
        new x509.ExtendedKeyUsageExtension(eku, false),
    ];
}

/** Organization before common name, as Go's pkix.Name orders the RDNs. */
function subjectName(subject: SubjectSpec): X509.JsonName {
    return [
        ...(subject.organization === undefined ? [] : [{ O: [subject.organization] }]),
        ...(subject.commonName === undefined ? [] : [{ CN: [subject.commonName] }]),
    ];
}

function signingAlgorithm(keyAlgorithm: string): Algorithm | EcdsaParams {
    return keyAlgorithm === "ECDSA" ? ({ name: "ECDSA", hash: "SHA-256" } as EcdsaParams) : { name: keyAlgorithm };
}

async function generateKeys(spec: KeySpec): Promise<CryptoKeyPair> {
    switch (spec.algorithm) {
        case "ED25519":
            return (await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
        case "ECDSA":
            return subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
        case "RSA":
            throw new Error("RSA certificates are not part of a Talos bundle");
        default: {
            const unreachable: never = spec.algorithm;
            throw new Error(`unknown key algorithm ${String(unreachable)}`);
        }
    }
}

/** PEM of a generated key: "talos" labels (bundle) or "pulumi" labels (what @pulumi/tls writes). */
async function privateKeyPem(key: CryptoKey, spec: KeySpec, labels: "talos" | "pulumi"): Promise<string> {
    const der = Buffer.from(await subtle.exportKey("pkcs8", key));
    const keyObject = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    switch (spec.algorithm) {
        case "ED25519": {
            const pkcs8 = pem(keyObject, "pkcs8");
            return labels === "talos" ? toTalosEd25519Pem(pkcs8) : pkcs8;
        }
        case "ECDSA":
            return pem(keyObject, "sec1");
        case "RSA":
            return pem(keyObject, "pkcs1");
        default: {
            const unreachable: never = spec.algorithm;
            throw new Error(`unknown key algorithm ${String(unreachable)}`);
        }
    }
}

function pem(key: KeyObject, type: "pkcs8" | "sec1" | "pkcs1"): string {
    return key.export({ format: "pem", type } as { format: "pem"; type: "pkcs8" }).toString();
}

async function importSigningKey(keyPem: string): Promise<CryptoKey> {
    const keyObject = createPrivateKey(fromTalosEd25519Pem(keyPem));
    const der = keyObject.export({ format: "der", type: "pkcs8" });
    switch (keyObject.asymmetricKeyType) {
        case "ed25519":
            return subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
        case "ec":
            return subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
        default:
            throw new Error(`cannot sign with a ${keyObject.asymmetricKeyType} CA key`);
    }
}

const rsaCache = new Map<number, string>();

/** RSA keys are slow to make: one per size per process. */
function rsaKeyPem(bits: number): string {
    let key = rsaCache.get(bits);
    if (key === undefined) {
        const { privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
        key = pem(privateKey, "pkcs1");
        rsaCache.set(bits, key);
    }
    return key;
}

/** `[0-9a-z]{6}.[0-9a-z]{16}`, as talos genToken makes them (unbiased: bytes >= 252 are skipped). */
export function makeToken(): string {
    const length = TOKEN_ID_LENGTH + TOKEN_SECRET_LENGTH;
    const unbiasedBelow = 256 - (256 % TOKEN_ALPHABET.length);
    let out = "";
    while (out.length < length) {
        for (const b of randomBytes(length * 2)) {
            if (b < unbiasedBelow && out.length < length) {
                out += TOKEN_ALPHABET[b % TOKEN_ALPHABET.length];
            }
        }
    }
    return tokenFromCharacters("token", out);
}

function serialNumber(): string {
    const bytes = randomBytes(16);
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x01; // no leading zero byte
    return bytes.toString("hex");
}

function hoursLater(d: Date, hours: number): Date {
    return new Date(d.getTime() + hours * 3_600_000);
}

/** Every secret of the bundle in every form a config, a resource or a PEM carries it: as is, base64, and each line of a PEM body. */
export function secretForms(bundle: SecretsBundle): string[] {
    const values = [
        bundle.cluster.id, bundle.cluster.secret, bundle.secrets.bootstrapToken, bundle.secrets.secretboxEncryptionSecret,
        bundle.trustdInfo.token, bundle.certs.etcd.key, bundle.certs.k8s.key, bundle.certs.k8sAggregator.key,
        bundle.certs.k8sServiceAccount.key, bundle.certs.os.key,
    ];
    // The PEM bodies' lines too: a key would leak by any one of them.
    const lines = values.flatMap((v) => v.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----")));
    return [...values, ...values.map((v) => Buffer.from(v).toString("base64")), ...lines];
}

/** Every string of the bundle (8 characters or more), as it is and as a config carries it (base64): what no CLI output may hold. */
export function bundleStrings(bundle: SecretsBundle): string[] {
    const values: string[] = [];
    const collect = (v: unknown) => {
        if (typeof v === "string" && v.length >= 8) values.push(v, Buffer.from(v).toString("base64"));
        else if (typeof v === "object" && v !== null) Object.values(v).forEach(collect);
    };
    collect(bundle);
    return values;
}
