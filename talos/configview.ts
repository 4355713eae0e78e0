// A machine config as a reviewer reads it in `pulumi preview --diff`: one entry per field (dotted
// path → value), so Pulumi's map diff shows exactly the fields a change touches, and no secret:
// key material, tokens and credentials are shown as a keyed fingerprint, which changes when the
// value does and cannot be reversed or guessed offline without the cluster's own secret.
// Certificates are public, but long: they are shown by fingerprint too.

import { createHmac } from "node:crypto";

import { childPath, documentPath } from "./configpaths";
import type { SecretsBundle } from "./secretsbundle";
import { isPlainObject, parseYamlDocuments } from "./yaml";

export type ConfigView = Record<string, string>;

/**
 * Field names that hold a secret wherever they appear: the bundle's own fields in a machine
 * config (machine.token, machine.ca.key, cluster.secret, cluster.token,
 * cluster.secretboxEncryptionSecret, cluster.aescbcEncryptionSecret, every `key`) and the
 * credentials a user's patch can add (registry auth, ACME or proxy passwords).
 */
const SECRET_FIELDS = new Set([
    "key", "token", "secret", "secretboxencryptionsecret", "aescbcencryptionsecret", "password", "auth",
    "identitytoken", "registrytoken", "bootstraptoken",
]);

/** `crt` of the v1alpha1 document; `cert` and `acceptedCAs` (PEM text) of the v1.14 CA documents. */
const CERTIFICATE_FIELDS = new Set(["crt", "cert", "acceptedcas"]);

/** Every value of the bundle that must never be shown, in the forms a config can carry it. */
function secretValues(secrets: SecretsBundle): string[] {
    const { cluster, certs } = secrets;
    const texts = [
        cluster.id, cluster.secret, secrets.secrets.bootstrapToken, secrets.secrets.secretboxEncryptionSecret,
        secrets.trustdInfo.token, certs.etcd.key, certs.k8s.key, certs.k8sAggregator.key, certs.k8sServiceAccount.key,
        certs.os.key,
    ].filter((t) => t !== "");
    return [...texts, ...texts.map((t) => Buffer.from(t, "utf8").toString("base64"))];
}

function fingerprint(secrets: SecretsBundle, value: string): string {
    // Keyed by the cluster's secret: a short or guessable value (a registry password) cannot be
    // found by hashing candidates without it.
    return createHmac("sha256", `talos-docker config view ${secrets.cluster.secret}`).update(value).digest("hex").slice(0, 12);
}

/** The view of a machine config's YAML (one or more documents), with the bundle it was made from. */
export function configView(yamlText: string, secrets: SecretsBundle): ConfigView {
    const { documents, problems } = parseYamlDocuments(yamlText);
    if (problems.length > 0) throw new Error(`configView: the config is not YAML (${problems[0].message})`);
    const hidden = secretValues(secrets);
    const view: ConfigView = {};
    const leaf = (path: string, field: string, value: unknown) => {
        const text = typeof value === "string" ? value : JSON.stringify(value);
        const name = field.toLowerCase();
        if (text === "" || value === null || typeof value === "boolean" || typeof value === "number") {
            view[path] = text;
        } else if (SECRET_FIELDS.has(name) || hidden.some((h) => text.includes(h)) || /PRIVATE KEY/.test(decoded(text))) {
            view[path] = `(secret ${fingerprint(secrets, text)})`;
        } else if (CERTIFICATE_FIELDS.has(name)) {
            view[path] = `(certificate ${fingerprint(secrets, text)})`;
        } else {
            view[path] = text;
        }
    };
    const walk = (path: string, field: string, value: unknown) => {
        if (Array.isArray(value)) {
            if (value.length === 0) view[path] = "[]";
            value.forEach((item, i) => walk(`${path}[${i}]`, field, item));
        } else if (isPlainObject(value)) {
            const keys = Object.keys(value);
            if (keys.length === 0) view[path] = "{}";
            for (const key of keys) walk(childPath(path, key), key, value[key]);
        } else {
            leaf(path, field, value);
        }
    };
    for (const doc of documents) {
        if (!isPlainObject(doc)) continue;
        const prefix = documentPath(doc);
        for (const key of Object.keys(doc)) walk(childPath(prefix, key), key, doc[key]);
    }
    return view;
}

/** What a base64 field decodes to, to recognise a PEM key under any field name. */
function decoded(text: string): string {
    return /^[A-Za-z0-9+/=\s]+$/.test(text) && text.length >= 16 ? Buffer.from(text, "base64").toString("latin1") : text;
}
