// The certificates a Talos cluster is made from, in @pulumi/tls vocabulary, so the Pulumi layer
// makes exactly what Talos would. Sources: CAs from talos@v1.8.3:pkg/machinery/config/generate/secrets/ca.go
// and siderolabs/crypto v0.5.0 x509.go `NewSelfSignedCertificateAuthority` (the subject carries
// only the organization; keyUsage certSign+digitalSignature; extKeyUsage serverAuth+clientAuth;
// basicConstraints CA:TRUE); the admin client certificates from secrets/ca.go
// `NewAdminCertificateAndKey` and talos@v1.8.3:pkg/kubeconfig/generate.go `Generate`.

/** `algorithm` of tls.PrivateKey. */
export type TlsKeyAlgorithm = "ED25519" | "ECDSA" | "RSA";

/** The `allowedUses` values we need, as @pulumi/tls spells them. */
export type TlsAllowedUse = "digital_signature" | "cert_signing" | "key_encipherment" | "server_auth" | "client_auth";

/** A key, as tls.PrivateKey args. */
export interface KeySpec {
    algorithm: TlsKeyAlgorithm;
    /** Set for ECDSA: @pulumi/tls defaults to P224, which Talos does not use. */
    ecdsaCurve?: "P256";
    /** Set for RSA. */
    rsaBits?: 4096;
}

/** A certificate subject, as tls cert `subject` args; absent fields are absent from the subject. */
export interface SubjectSpec {
    organization?: string;
    commonName?: string;
}

/** A certificate: its key, subject, lifetime and uses. */
export interface CertSpec {
    key: KeySpec;
    subject: SubjectSpec;
    validityPeriodHours: number;
    allowedUses: readonly TlsAllowedUse[];
    isCaCertificate: boolean;
}

/** secrets.CAValidityTime = 87600h (10 years). */
export const CA_VALIDITY_HOURS = 87_600;
/**
 * Admin client certificates: constants.TalosAPIDefaultCertificateValidityDuration and
 * constants.KubernetesAdminCertDefaultLifetime, both 365 × 24h.
 */
export const CLIENT_CERT_VALIDITY_HOURS = 8_760;

const ED25519: KeySpec = { algorithm: "ED25519" };
const ECDSA_P256: KeySpec = { algorithm: "ECDSA", ecdsaCurve: "P256" };
/** Service-account key: RSA 4096 for contracts > 1.6 (contract.go `UseRSAServiceAccountKey`; crypto `NewRSAKey`). */
export const SERVICE_ACCOUNT_KEY: KeySpec = { algorithm: "RSA", rsaBits: 4096 };

const CA_USES: readonly TlsAllowedUse[] = ["digital_signature", "cert_signing", "server_auth", "client_auth"];

function ca(key: KeySpec, subject: SubjectSpec): CertSpec {
    return { key, subject, validityPeriodHours: CA_VALIDITY_HOURS, allowedUses: CA_USES, isCaCertificate: true };
}

/** The bundle's four CAs, by their SecretsBundle.certs field name. */
export const CA_SPECS: Readonly<Record<"os" | "etcd" | "k8s" | "k8sAggregator", CertSpec>> = {
    /** Talos API CA (`NewTalosCA`): Ed25519, the crypto default signature algorithm. */
    os: ca(ED25519, { organization: "talos" }),
    etcd: ca(ECDSA_P256, { organization: "etcd" }),
    k8s: ca(ECDSA_P256, { organization: "kubernetes" }),
    // `NewAggregatorCA` passes CommonName("front-proxy"); Talos' CA template only copies the
    // organization, so Talos' own subject is empty. @pulumi/tls refuses a CA without a subject
    // (terraform-provider-tls internal/provider/common_cert.go, RFC 5280 4.1.2.6), so we keep the
    // name Talos asks for. Nothing reads this subject: the API server trusts the CA by its key.
    k8sAggregator: ca(ECDSA_P256, { commonName: "front-proxy" }),
};

/** The role Talos' RBAC reads from the client certificate's organization (talos@v1.8.3:pkg/machinery/role/role.go `Admin`). */
export const TALOS_ADMIN_ROLE = "os:admin";

/**
 * The talosconfig client certificate, signed by the OS CA. Its extKeyUsage must be exactly
 * [clientAuth]: apid rejects other sets when `apidCheckExtKeyUsage` is on.
 */
export const TALOS_ADMIN_CERT: CertSpec = {
    key: ED25519,
    subject: { organization: TALOS_ADMIN_ROLE },
    validityPeriodHours: CLIENT_CERT_VALIDITY_HOURS,
    allowedUses: ["digital_signature", "client_auth"],
    isCaCertificate: false,
};

/** The admin kubeconfig client certificate, signed by the Kubernetes CA (constants.KubernetesAdminCert*). */
export const KUBERNETES_ADMIN_CERT: CertSpec = {
    key: ECDSA_P256,
    subject: { commonName: "admin", organization: "system:masters" },
    validityPeriodHours: CLIENT_CERT_VALIDITY_HOURS,
    allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
    isCaCertificate: false,
};
