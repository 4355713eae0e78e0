// The secrets bundle, with the field names of Talos' own
// (talos@v1.8.3:pkg/machinery/config/generate/secrets/bundle.go). Types only here, plus its
// talosctl `secrets.yaml` form (see secretsfile.ts). Every PEM is held as PEM text, not base64.

/** A certificate and its private key, both PEM text. */
export interface CertAndKey {
    crt: string;
    key: string;
}

/** Everything a Talos cluster's machine configs are made from. */
export interface SecretsBundle {
    cluster: {
        /** 32 random bytes, URL-safe base64 with padding. */
        id: string;
        /** 32 random bytes, standard base64. */
        secret: string;
    };
    secrets: {
        /** `[0-9a-z]{6}.[0-9a-z]{16}` */
        bootstrapToken: string;
        /** 32 random bytes, standard base64 (secretbox). */
        secretboxEncryptionSecret: string;
    };
    trustdInfo: {
        /** `[0-9a-z]{6}.[0-9a-z]{16}` */
        token: string;
    };
    certs: {
        /** ECDSA P-256, O=etcd */
        etcd: CertAndKey;
        /** ECDSA P-256, O=kubernetes */
        k8s: CertAndKey;
        /** ECDSA P-256, empty subject */
        k8sAggregator: CertAndKey;
        /** RSA 4096 (PKCS#1 PEM) */
        k8sServiceAccount: { key: string };
        /** Ed25519, O=talos; key labelled `ED25519 PRIVATE KEY` */
        os: CertAndKey;
    };
}
