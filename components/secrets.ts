// MachineSecrets: the cluster's CAs, keys and tokens as @pulumi/tls and @pulumi/random resources,
// made the way Talos' own generator makes them (talos@v1.8.3:pkg/machinery/config/generate/secrets/),
// plus the admin client certificates behind the talosconfig and the kubeconfig.
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { CertAndKey, SecretsBundle } from "../talos/secretsbundle";
import { fromTalosEd25519Pem, toTalosEd25519Pem } from "../talos/pem";
import { CLUSTER_ID_BYTES, CLUSTER_SECRET_BYTES, SECRETBOX_SECRET_BYTES, toUrlSafeBase64 } from "../talos/tokens";
import { CA_SPECS, CertSpec, KUBERNETES_ADMIN_CERT, SERVICE_ACCOUNT_KEY, SubjectSpec, TALOS_ADMIN_CERT } from "../talos/pki";

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
    const serviceAccount = new tls.PrivateKey(`${name}-k8s-service-account`, { ...SERVICE_ACCOUNT_KEY }, parent);

    const bootstrapToken = token(`${name}-bootstrap-token`, parent);
    const trustdToken = token(`${name}-trustd-token`, parent);
    const secretbox = new random.RandomBytes(`${name}-secretbox`, { length: SECRETBOX_SECRET_BYTES }, parent);
    const clusterId = new random.RandomBytes(`${name}-cluster-id`, { length: CLUSTER_ID_BYTES }, parent);
    const clusterSecret = new random.RandomBytes(`${name}-cluster-secret`, { length: CLUSTER_SECRET_BYTES }, parent);

    const bundle = pulumi.secret(
        pulumi.all([
            clusterId.base64, clusterSecret.base64, bootstrapToken, secretbox.base64, trustdToken,
            etcd.crt, etcd.key, k8s.crt, k8s.key, aggregator.crt, aggregator.key,
            serviceAccount.privateKeyPem, os.crt, os.key,
        ]).apply(([id, secret, bootstrap, box, trustd, etcdCrt, etcdKey, k8sCrt, k8sKey, aggCrt, aggKey, saKey, osCrt, osKey]) => ({
            cluster: { id: toUrlSafeBase64(id), secret },
            secrets: { bootstrapToken: bootstrap, secretboxEncryptionSecret: box },
            trustdInfo: { token: trustd },
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

/** Only the fields the spec sets. */
function subjectOf(subject: SubjectSpec): tls.types.input.SelfSignedCertSubject | undefined {
    return Object.keys(subject).length > 0 ? { ...subject } : undefined;
}

function selfSignedCa(name: string, spec: CertSpec, opts: pulumi.CustomResourceOptions): KeyPair {
    const privateKey = new tls.PrivateKey(`${name}-ca-key`, { ...spec.key }, opts);
    const cert = new tls.SelfSignedCert(`${name}-ca`, {
        privateKeyPem: privateKey.privateKeyPem,
        subject: subjectOf(spec.subject),
        isCaCertificate: spec.isCaCertificate,
        validityPeriodHours: spec.validityPeriodHours,
        allowedUses: [...spec.allowedUses],
    }, opts);
    return { crt: cert.certPem, key: pulumi.secret(privateKey.privateKeyPem) };
}

function clientCert(name: string, spec: CertSpec, ca: KeyPair, opts: pulumi.CustomResourceOptions): KeyPair {
    const privateKey = new tls.PrivateKey(`${name}-key`, { ...spec.key }, opts);
    const request = new tls.CertRequest(`${name}-csr`, {
        privateKeyPem: privateKey.privateKeyPem,
        subject: subjectOf(spec.subject),
    }, opts);
    const cert = new tls.LocallySignedCert(`${name}-cert`, {
        certRequestPem: request.certRequestPem,
        caCertPem: ca.crt,
        // @pulumi/tls's own PEM: only the bundle's copy of the OS CA key is relabelled for Talos.
        caPrivateKeyPem: ca.key,
        validityPeriodHours: spec.validityPeriodHours,
        allowedUses: [...spec.allowedUses],
    }, opts);
    return { crt: cert.certPem, key: pulumi.secret(privateKey.privateKeyPem) };
}

/** A bootstrap-style token `[0-9a-z]{6}.[0-9a-z]{16}` from one random string. */
function token(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const value = new random.RandomString(name, { length: 22, upper: false, special: false, numeric: true, lower: true }, opts);
    return pulumi.secret(value.result.apply((r) => `${r.slice(0, 6)}.${r.slice(6)}`));
}
