// PEM text as Talos wants it. Talos' key parser (siderolabs/crypto v0.5.0 x509/x509.go `GetKey`,
// used by Talos v1.8 and v1.9) reads Ed25519 keys only under the non-standard label
// `ED25519 PRIVATE KEY` (a PKCS#8 body), while @pulumi/tls and OpenSSL write and read
// `PRIVATE KEY`. These functions move a key between the two labels; the body never changes.

import { createPrivateKey } from "node:crypto";

/** The PEM labels Talos reads for private keys (siderolabs/crypto v0.5.0 `GetKey`). */
export const TALOS_PRIVATE_KEY_LABELS = ["ED25519 PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"] as const;
export type TalosPrivateKeyLabel = (typeof TALOS_PRIVATE_KEY_LABELS)[number];

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** One PEM block. */
export interface PemBlock {
    label: string;
    /** DER bytes */
    body: Buffer;
}

/** Every PEM block in the text, in order (text around blocks is ignored). */
export function pemBlocks(pem: string): PemBlock[] {
    const blocks: PemBlock[] = [];
    for (const m of pem.matchAll(BLOCK)) {
        blocks.push({ label: m[1], body: Buffer.from(m[2].replace(/\s+/g, ""), "base64") });
    }
    return blocks;
}

function relabel(pem: string, from: string, to: string, check?: (block: string) => void): string {
    return pem.replace(BLOCK, (block: string, label: string, body: string) => {
        if (label !== from) {
            return block;
        }
        check?.(block);
        return `-----BEGIN ${to}-----\n${body}-----END ${to}-----`;
    });
}

/**
 * `PRIVATE KEY` (PKCS#8, as @pulumi/tls writes Ed25519 keys) → `ED25519 PRIVATE KEY`, the label
 * Talos reads. Other labels are returned unchanged. Throws if a `PRIVATE KEY` block is not an
 * Ed25519 key, since relabelling it would make a key Talos misreads.
 */
export function toTalosEd25519Pem(pem: string): string {
    return relabel(pem, "PRIVATE KEY", "ED25519 PRIVATE KEY", (block) => {
        let type: string | undefined;
        try {
            type = createPrivateKey(block).asymmetricKeyType;
        } catch {
            throw new Error("toTalosEd25519Pem: the PRIVATE KEY block is not a valid PKCS#8 key");
        }
        if (type !== "ed25519") {
            throw new Error(`toTalosEd25519Pem: the PRIVATE KEY block holds a key of type ${type ?? "unknown"}, not Ed25519`);
        }
    });
}

/** `ED25519 PRIVATE KEY` → `PRIVATE KEY` (PKCS#8), so OpenSSL, Node and @pulumi/tls can read it. Other labels unchanged. */
export function fromTalosEd25519Pem(pem: string): string {
    return relabel(pem, "ED25519 PRIVATE KEY", "PRIVATE KEY");
}

/** Standard base64 of the whole PEM text, as Talos configs, talosconfig and secrets.yaml embed them. */
export function base64Pem(pem: string): string {
    return Buffer.from(pem, "utf8").toString("base64");
}
