// The formats of the bundle's tokens and random secrets, as Talos generates them
// (talos@v1.8.3:pkg/machinery/config/generate/secrets/bundle.go `populate`, utils.go `genToken`),
// and the pure conversions from the random characters the Pulumi layer draws to those formats.

/** A token's two parts, `genToken(6, 16)`: the kubeadm token format. */
export const TOKEN_ID_LENGTH = 6;
export const TOKEN_SECRET_LENGTH = 16;
/** `validBootstrapTokenChars` (talos@v1.8.3:pkg/machinery/config/generate/secrets/utils.go). */
export const TOKEN_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** Bootstrap token and trustd token: `[0-9a-z]{6}.[0-9a-z]{16}`. */
export const TOKEN_PATTERN = /^[0-9a-z]{6}\.[0-9a-z]{16}$/;

/** cluster.id and cluster.secret are `constants.DefaultClusterIDSize`/`DefaultClusterSecretSize` = 32 random bytes. */
export const CLUSTER_ID_BYTES = 32;
export const CLUSTER_SECRET_BYTES = 32;
/** secretbox needs a 32-byte key (talos@v1.8.3:pkg/machinery/config/internal/cis `CreateEncryptionToken`). */
export const SECRETBOX_SECRET_BYTES = 32;

/** The digits random bytes are drawn as: two per byte, lower case. */
export const HEX_ALPHABET = "0123456789abcdef";

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_BASE64 = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;
const TOKEN_CHARACTERS = /^[0-9a-z]*$/;
const HEX_DIGITS = /^[0-9a-f]*$/;

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

/**
 * A token from `TOKEN_ID_LENGTH + TOKEN_SECRET_LENGTH` random characters of `TOKEN_ALPHABET`:
 * the first six, a dot, the other sixteen. Throws when the characters are not that; the message
 * says what is wrong and never includes them (they are a secret).
 */
export function tokenFromCharacters(what: string, characters: string): string {
    const length = TOKEN_ID_LENGTH + TOKEN_SECRET_LENGTH;
    if (characters.length !== length || !TOKEN_CHARACTERS.test(characters)) {
        throw new Error(`${what}: expected ${length} characters of [0-9a-z], got ${describe(characters, TOKEN_CHARACTERS)}`);
    }
    return `${characters.slice(0, TOKEN_ID_LENGTH)}.${characters.slice(TOKEN_ID_LENGTH)}`;
}

/**
 * `bytes` random bytes from `2 × bytes` lower-case hex digits. Throws when the digits are not
 * that; the message says what is wrong and never includes them.
 */
export function bytesFromHex(what: string, hex: string, bytes: number): Buffer {
    if (hex.length !== 2 * bytes || !HEX_DIGITS.test(hex)) {
        throw new Error(`${what}: expected ${2 * bytes} lower-case hex digits (${bytes} bytes), got ${describe(hex, HEX_DIGITS)}`);
    }
    return Buffer.from(hex, "hex");
}

/** Hex digits → padded standard base64 (Go `base64.StdEncoding`): secretbox key, cluster.secret. */
export function stdBase64FromHex(what: string, hex: string, bytes: number): string {
    return bytesFromHex(what, hex, bytes).toString("base64");
}

/** Hex digits → padded URL-safe base64 (Go `base64.URLEncoding`): cluster.id. */
export function urlBase64FromHex(what: string, hex: string, bytes: number): string {
    return toUrlSafeBase64(stdBase64FromHex(what, hex, bytes));
}

/** The length and whether other characters are in it: enough to debug, nothing of the value. */
function describe(value: string, allowed: RegExp): string {
    return `${value.length} characters${allowed.test(value) ? "" : ", some outside that set"}`;
}
