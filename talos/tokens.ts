// The formats of the bundle's tokens and random secrets, as Talos generates them
// (talos@v1.8.3:pkg/machinery/config/generate/secrets/bundle.go `populate`, utils.go `genToken`).

/** Bootstrap token and trustd token: `genToken(6, 16)`, the kubeadm token format. */
export const TOKEN_PATTERN = /^[0-9a-z]{6}\.[0-9a-z]{16}$/;

/** cluster.id and cluster.secret are `constants.DefaultClusterIDSize`/`DefaultClusterSecretSize` = 32 random bytes. */
export const CLUSTER_ID_BYTES = 32;
export const CLUSTER_SECRET_BYTES = 32;
/** secretbox needs a 32-byte key (talos@v1.8.3:pkg/machinery/config/internal/cis `CreateEncryptionToken`). */
export const SECRETBOX_SECRET_BYTES = 32;

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_BASE64 = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/** Decoded bytes of padded standard base64 (Go `base64.StdEncoding`), or undefined if it is not that. */
export function decodeStdBase64(s: string): Buffer | undefined {
    return STD_BASE64.test(s) ? Buffer.from(s, "base64") : undefined;
}

/** Decoded bytes of padded URL-safe base64 (Go `base64.URLEncoding`), or undefined if it is not that. */
export function decodeUrlBase64(s: string): Buffer | undefined {
    return URL_BASE64.test(s) ? Buffer.from(s, "base64url") : undefined;
}

/**
 * Standard base64 → URL-safe base64 *with* padding, the cluster.id encoding. Node's "base64url"
 * drops the padding Go's `base64.URLEncoding` keeps, so it is not a substitute.
 */
export function toUrlSafeBase64(standard: string): string {
    return standard.replace(/\+/g, "-").replace(/\//g, "_");
}
