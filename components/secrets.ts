// MachineSecrets: the cluster's CAs, keys and tokens as @pulumi/tls and @pulumi/random resources,
// made the way Talos' own generator makes them (talos@v1.8.3:pkg/machinery/config/generate/secrets/),
// plus the admin client certificates behind the talosconfig and the kubeconfig.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { CertAndKey, SecretsBundle } from "../talos/secretsbundle";
import { fromTalosEd25519Pem, toTalosEd25519Pem } from "../talos/pem";
import {
    CLUSTER_ID_BYTES, CLUSTER_SECRET_BYTES, HEX_ALPHABET, SECRETBOX_SECRET_BYTES, TOKEN_ID_LENGTH, TOKEN_SECRET_LENGTH,
    stdBase64FromHex, tokenFromCharacters, urlBase64FromHex,
} from "../talos/tokens";
import { CA_SPECS, CertSpec, KeySpec, KUBERNETES_ADMIN_CERT, SERVICE_ACCOUNT_KEY, SubjectSpec, TALOS_ADMIN_CERT } from "../talos/pki";

export interface MachineSecretsArgs {
    /**
     * A talosctl secrets bundle (config `secretsFile`) to use instead of generating one: the
     * cluster keeps those CAs and tokens, so talosctl and earlier client configs keep working.
     * Default: generate every CA, key and token here.
     */
    imported?: SecretsBundle;
}

/** The secrets the client configs are made of, PEM text. */
export interface AdminCredentials {
    /** talosconfig client: Ed25519, O=os:admin, signed by the OS CA. */
    talos: CertAndKey;
    /** kubeconfig client: ECDSA P-256, CN=admin, O=system:masters, signed by the Kubernetes CA. */
    kubernetes: CertAndKey;
}

export class MachineSecrets extends pulumi.ComponentResource {
    /** The whole bundle, a Pulumi secret. */
    public readonly bundle: pulumi.Output<SecretsBundle>;
    public readonly admin: pulumi.Output<AdminCredentials>;

    constructor(name: string, args: MachineSecretsArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("talos-docker:index:MachineSecrets", name, {}, opts);
        const parent = { parent: this };

        const made = args.imported ? importedBundle(args.imported) : generatedBundle(name, parent);
        this.bundle = made.bundle;

        const talosAdmin = clientCert(`${name}-talos-admin`, TALOS_ADMIN_CERT, made.osCa, parent);
        const kubeAdmin = clientCert(`${name}-kube-admin`, KUBERNETES_ADMIN_CERT, made.k8sCa, parent);
        this.admin = pulumi.secret(
            pulumi.all([talosAdmin.crt, talosAdmin.key, kubeAdmin.crt, kubeAdmin.key]).apply(([tc, tk, kc, kk]) => ({
                talos: { crt: tc, key: toTalosEd25519Pem(tk) },
                kubernetes: { crt: kc, key: kk },
            })),
        );

        this.registerOutputs({ bundle: this.bundle, admin: this.admin });
    }
}

/** The bundle, and the two CAs that sign the admin certificates in @pulumi/tls's PEM forms. */
interface MadeBundle {
    bundle: pulumi.Output<SecretsBundle>;
    osCa: KeyPair;
    k8sCa: KeyPair;
}

function importedBundle(bundle: SecretsBundle): MadeBundle {
    return {
        bundle: pulumi.secret(bundle),
        // @pulumi/tls reads Ed25519 keys only under the standard PKCS#8 label.
        osCa: { crt: pulumi.output(bundle.certs.os.crt), key: pulumi.secret(fromTalosEd25519Pem(bundle.certs.os.key)) },
        k8sCa: { crt: pulumi.output(bundle.certs.k8s.crt), key: pulumi.secret(bundle.certs.k8s.key) },
    };
}

function generatedBundle(name: string, parent: pulumi.CustomResourceOptions): MadeBundle {
    const os = selfSignedCa(`${name}-os`, CA_SPECS.os, parent);
    const etcd = selfSignedCa(`${name}-etcd`, CA_SPECS.etcd, parent);
    const k8s = selfSignedCa(`${name}-k8s`, CA_SPECS.k8s, parent);
    const aggregator = selfSignedCa(`${name}-k8s-aggregator`, CA_SPECS.k8sAggregator, parent);
    const serviceAccountKey = privateKey(`${name}-k8s-service-account`, SERVICE_ACCOUNT_KEY, parent);

    const bootstrapToken = token(`${name}-bootstrap-token`, parent);
    const trustdToken = token(`${name}-trustd-token`, parent);
    const secretbox = randomBytes(`${name}-secretbox`, SECRETBOX_SECRET_BYTES, parent);
    const clusterId = randomBytes(`${name}-cluster-id`, CLUSTER_ID_BYTES, parent);
    const clusterSecret = randomBytes(`${name}-cluster-secret`, CLUSTER_SECRET_BYTES, parent);

    const bundle = pulumi.secret(
        pulumi.all([
            clusterId, clusterSecret, bootstrapToken, secretbox, trustdToken,
            etcd.crt, etcd.key, k8s.crt, k8s.key, aggregator.crt, aggregator.key,
            serviceAccountKey.pem, os.crt, os.key,
        ]).apply(([id, secret, bootstrap, box, trustd, etcdCrt, etcdKey, k8sCrt, k8sKey, aggCrt, aggKey, saKey, osCrt, osKey]) => ({
            cluster: {
                id: urlBase64FromHex("cluster.id", id, CLUSTER_ID_BYTES),
                secret: stdBase64FromHex("cluster.secret", secret, CLUSTER_SECRET_BYTES),
            },
            secrets: {
                bootstrapToken: tokenFromCharacters("secrets.bootstrapToken", bootstrap),
                secretboxEncryptionSecret: stdBase64FromHex("secrets.secretboxEncryptionSecret", box, SECRETBOX_SECRET_BYTES),
            },
            trustdInfo: { token: tokenFromCharacters("trustdInfo.token", trustd) },
            certs: {
                etcd: { crt: etcdCrt, key: etcdKey },
                k8s: { crt: k8sCrt, key: k8sKey },
                k8sAggregator: { crt: aggCrt, key: aggKey },
                k8sServiceAccount: { key: saKey },
                os: { crt: osCrt, key: toTalosEd25519Pem(osKey) },
            },
        })),
    );

    return { bundle, osCa: os, k8sCa: k8s };
}

interface KeyPair {
    crt: pulumi.Output<string>;
    key: pulumi.Output<string>;
}

// Outputs that hold key material, declared secret here as well as in the providers' schemas, so
// the state keeps them encrypted whatever a provider version says (@pulumi/tls 5.6 lists the same).
const PRIVATE_KEY_SECRET_OUTPUTS = ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"];
const SIGNER_SECRET_OUTPUTS = ["privateKeyPem"];
const CA_KEY_SECRET_OUTPUTS = ["caPrivateKeyPem"];

/** Only the fields the spec sets. */
function subjectOf(subject: SubjectSpec): tls.types.input.SelfSignedCertSubject | undefined {
    return Object.keys(subject).length > 0 ? { ...subject } : undefined;
}

/** A private key, and its PEM as a secret. */
function privateKey(name: string, spec: KeySpec, opts: pulumi.CustomResourceOptions): { pem: pulumi.Output<string> } {
    const key = new tls.PrivateKey(name, { ...spec }, { ...opts, additionalSecretOutputs: PRIVATE_KEY_SECRET_OUTPUTS });
    return { pem: pulumi.secret(key.privateKeyPem) };
}

function selfSignedCa(name: string, spec: CertSpec, opts: pulumi.CustomResourceOptions): KeyPair {
    const key = privateKey(`${name}-ca-key`, spec.key, opts);
    const cert = new tls.SelfSignedCert(`${name}-ca`, {
        privateKeyPem: key.pem,
        subject: subjectOf(spec.subject),
        isCaCertificate: spec.isCaCertificate,
        validityPeriodHours: spec.validityPeriodHours,
        allowedUses: [...spec.allowedUses],
    }, { ...opts, additionalSecretOutputs: SIGNER_SECRET_OUTPUTS });
    return { crt: cert.certPem, key: key.pem };
}

function clientCert(name: string, spec: CertSpec, ca: KeyPair, opts: pulumi.CustomResourceOptions): KeyPair {
    const key = privateKey(`${name}-key`, spec.key, opts);
    const request = new tls.CertRequest(`${name}-csr`, {
        privateKeyPem: key.pem,
        subject: subjectOf(spec.subject),
    }, { ...opts, additionalSecretOutputs: SIGNER_SECRET_OUTPUTS });
    const cert = new tls.LocallySignedCert(`${name}-cert`, {
        certRequestPem: request.certRequestPem,
        caCertPem: ca.crt,
        // @pulumi/tls's own PEM: only the bundle's copy of the OS CA key is relabelled for Talos.
        caPrivateKeyPem: ca.key,
        validityPeriodHours: spec.validityPeriodHours,
        allowedUses: [...spec.allowedUses],
    }, { ...opts, additionalSecretOutputs: CA_KEY_SECRET_OUTPUTS });
    return { crt: cert.certPem, key: key.pem };
}

// Every random value is a random.RandomPassword, the one @pulumi/random resource whose state holds
// no secret in clear: its ID is the constant "none", and `result` and `bcryptHash` are secret in the
// provider schema (pulumi/pulumi-random@v4.21.1:provider/cmd/pulumi-resource-random/schema.json).
// RandomString's ID *is* its result, and the IDs of RandomBytes and RandomId are the base64 value;
// IDs are never encrypted. pulumi-random v4.21 is built on hashicorp/terraform-provider-random
// v3.9.0 (its provider/go.mod pins that tag's commit f8d869d), whose internal/random/string.go
// `CreateString` joins the enabled sets into one alphabet (upper, lower, numeric, then special or
// overrideSpecial), draws the `min*` characters first, then every other character on its own with
// crypto/rand.Int over the whole alphabet (uniform, no modulo bias), and last permutes them by
// random keys indexed by position, not by value — a permutation that does not look at the values
// keeps them independent and uniform. With every `min*` 0 nothing is forced, so each character is
// uniform over the alphabet as long as the alphabet repeats no character: true of both below.
// A value lives as long as its resource: a new type or name draws a new one on the next `pulumi up`,
// which for a running cluster means new tokens, secretbox key and cluster secret in its machine
// configs. A stack keeps its values across such a change only by pinning them first (`secretsFile`).
const PASSWORD_SECRET_OUTPUTS = ["result", "bcryptHash"];
const NO_MINIMUMS = { minUpper: 0, minLower: 0, minNumeric: 0, minSpecial: 0 } as const;

/** Token characters: [0-9a-z], 36 distinct, as Talos' `validBootstrapTokenChars`. */
const TOKEN_CHARACTERS: random.RandomPasswordArgs = {
    length: TOKEN_ID_LENGTH + TOKEN_SECRET_LENGTH, upper: false, lower: true, numeric: true, special: false, ...NO_MINIMUMS,
};

/** Hex digits, two per byte: the sets off, the special set replaced by exactly HEX_ALPHABET (16 distinct). */
function hexDigits(bytes: number): random.RandomPasswordArgs {
    return {
        length: 2 * bytes, upper: false, lower: false, numeric: false, special: true, overrideSpecial: HEX_ALPHABET, ...NO_MINIMUMS,
    };
}

function password(name: string, args: random.RandomPasswordArgs, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const value = new random.RandomPassword(name, args, { ...opts, additionalSecretOutputs: PASSWORD_SECRET_OUTPUTS });
    return pulumi.secret(value.result);
}

/** A bootstrap-style token `[0-9a-z]{6}.[0-9a-z]{16}`, still as its 22 characters (tokenFromCharacters joins them). */
function token(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return password(name, TOKEN_CHARACTERS, opts);
}

/** `bytes` random bytes as 2 × `bytes` hex digits (stdBase64FromHex/urlBase64FromHex encode them). */
function randomBytes(name: string, bytes: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return password(name, hexDigits(bytes), opts);
}
