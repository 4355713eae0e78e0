// talosctl's `secrets.yaml` (`talosctl gen secrets`), read and written. The file is the yaml.v3
// encoding of secrets.Bundle (talos@v1.8.3:pkg/machinery/config/generate/secrets/secrets.go):
// lower-cased field names, this key order, 4-space indents, every crt/key the standard base64 of
// the whole PEM text. Reading checks what Talos' `Bundle.Validate` (talos@v1.13.9:.../secrets/bundle.go)
// checks and the token formats besides, reports every problem at once by its YAML path, and never
// puts a secret value into a message.

import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";

import { TALOS_PRIVATE_KEY_LABELS, base64Pem, fromTalosEd25519Pem, pemBlocks, toTalosEd25519Pem } from "./pem";
import type { CertAndKey, SecretsBundle } from "./secretsbundle";
import { SECRETBOX_SECRET_BYTES, TOKEN_PATTERN, decodeStdBase64, decodeUrlBase64 } from "./tokens";
import { isPlainObject, parseYamlDocuments, toTalosYaml } from "./yaml";

/** The CA entries under `certs`: YAML key → bundle field. */
const CERT_KEYS = [
    ["etcd", "etcd"],
    ["k8s", "k8s"],
    ["k8saggregator", "k8sAggregator"],
    ["os", "os"],
] as const;

/** talosctl `secrets.yaml` text for the bundle. Ed25519 keys are written with the label Talos reads. */
export function renderSecretsYaml(bundle: SecretsBundle): string {
    const pair = (c: CertAndKey) => ({ crt: base64Pem(c.crt), key: base64Pem(toTalosEd25519Pem(c.key)) });
    return toTalosYaml({
        cluster: { id: bundle.cluster.id, secret: bundle.cluster.secret },
        secrets: {
            bootstraptoken: bundle.secrets.bootstrapToken,
            secretboxencryptionsecret: bundle.secrets.secretboxEncryptionSecret,
        },
        trustdinfo: { token: bundle.trustdInfo.token },
        certs: {
            etcd: pair(bundle.certs.etcd),
            k8s: pair(bundle.certs.k8s),
            k8saggregator: pair(bundle.certs.k8sAggregator),
            k8sserviceaccount: { key: base64Pem(toTalosEd25519Pem(bundle.certs.k8sServiceAccount.key)) },
            os: pair(bundle.certs.os),
        },
    });
}

/** A secrets.yaml that cannot be used; `problems` lists every problem, each naming its YAML path. */
export class SecretsFileError extends Error {
    readonly problems: string[];

    constructor(problems: string[]) {
        const noun = problems.length === 1 ? "problem" : "problems";
        super(`invalid secrets.yaml (${problems.length} ${noun}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "SecretsFileError";
        this.problems = problems;
    }
}

/** Reads a talosctl `secrets.yaml`; throws SecretsFileError listing every problem. */
export function parseSecretsYaml(text: string): SecretsBundle {
    const problems: string[] = [];
    const root = parseRoot(text, problems);
    if (root === undefined) {
        throw new SecretsFileError(problems);
    }
    const r = new Reader(root, problems);

    const cluster = r.top("cluster");
    const id = r.string(cluster, "cluster", "id");
    // talosctl gen secrets writes URL-safe base64 up to v1.13 and standard base64 from v1.14
    // (talos@v1.14.1:pkg/machinery/config/types/cluster/discovery_identity.go ClusterIDEncoding);
    // Talos never decodes the ID, and a file of either kind is one talosctl wrote.
    if (id !== undefined && decodeUrlBase64(id) === undefined && decodeStdBase64(id) === undefined) {
        problems.push("cluster.id: not base64 with padding (URL-safe, or standard as talosctl writes it from v1.14)");
    }
    const clusterSecret = r.string(cluster, "cluster", "secret");
    if (clusterSecret !== undefined && decodeStdBase64(clusterSecret) === undefined) {
        problems.push("cluster.secret: not standard base64");
    }

    const secrets = r.top("secrets");
    const bootstrapToken = r.token(secrets, "secrets", "bootstraptoken");
    if (secrets !== undefined && "aescbcencryptionsecret" in secrets) {
        // Only contracts <= 1.2 used AES-CBC; every minor we support uses secretbox.
        problems.push("secrets.aescbcencryptionsecret: not supported (Talos >= v1.3 uses secretboxencryptionsecret)");
    }
    const secretbox = r.string(secrets, "secrets", "secretboxencryptionsecret");
    if (secretbox !== undefined && decodeStdBase64(secretbox)?.length !== SECRETBOX_SECRET_BYTES) {
        problems.push(`secrets.secretboxencryptionsecret: not ${SECRETBOX_SECRET_BYTES} bytes in standard base64`);
    }

    const trustd = r.top("trustdinfo");
    const trustdToken = r.token(trustd, "trustdinfo", "token");

    const certs = r.top("certs");
    const pairs: Partial<Record<(typeof CERT_KEYS)[number][1], CertAndKey>> = {};
    for (const [yamlKey, field] of CERT_KEYS) {
        const entry = r.section(`certs.${yamlKey}`, certs, yamlKey);
        const crt = r.certificate(entry, `certs.${yamlKey}`);
        const key = r.privateKey(entry, `certs.${yamlKey}`);
        if (crt && key && !crt.cert.checkPrivateKey(key.key)) {
            problems.push(`certs.${yamlKey}: the key does not belong to the certificate`);
        }
        if (crt && key) {
            pairs[field] = { crt: crt.pem, key: key.pem };
        }
    }
    const sa = r.section("certs.k8sserviceaccount", certs, "k8sserviceaccount");
    const saKey = r.privateKey(sa, "certs.k8sserviceaccount");

    if (problems.length > 0) {
        throw new SecretsFileError(problems);
    }
    // Every value was checked above; a missing one would have been a problem.
    const must = <T>(v: T | undefined): T => v as T;
    return {
        cluster: { id: must(id), secret: must(clusterSecret) },
        secrets: { bootstrapToken: must(bootstrapToken), secretboxEncryptionSecret: must(secretbox) },
        trustdInfo: { token: must(trustdToken) },
        certs: {
            etcd: must(pairs.etcd),
            k8s: must(pairs.k8s),
            k8sAggregator: must(pairs.k8sAggregator),
            k8sServiceAccount: { key: must(saKey).pem },
            os: must(pairs.os),
        },
    };
}

function parseRoot(text: string, problems: string[]): Record<string, unknown> | undefined {
    if (text.trim() === "") {
        problems.push("the file is empty");
        return undefined;
    }
    const { documents, problems: yamlProblems } = parseYamlDocuments(text);
    for (const p of yamlProblems) {
        // The parser's own message may quote the text; only its code and position are safe to show.
        problems.push(`line ${p.line ?? "?"}, column ${p.column ?? "?"}: not valid YAML (${p.code})`);
    }
    if (yamlProblems.length > 0) {
        return undefined;
    }
    const nonEmpty = documents.filter((d) => d !== null);
    if (nonEmpty.length !== 1) {
        problems.push(nonEmpty.length === 0 ? "the file is empty" : `expected one YAML document, found ${nonEmpty.length}`);
        return undefined;
    }
    const [root] = nonEmpty;
    if (!isPlainObject(root)) {
        problems.push("expected a mapping at the top level");
        return undefined;
    }
    return root;
}

type Section = Record<string, unknown> | undefined;

/** Looks values up, recording each problem with its dotted path. */
class Reader {
    constructor(
        private readonly root: Record<string, unknown>,
        private readonly problems: string[],
    ) {}

    /** A top-level mapping, or undefined after recording why not. */
    top(key: string): Section {
        return this.section(key, this.root, key);
    }

    /** A mapping under `parent`, or undefined after recording why not (nothing if the parent is missing). */
    section(path: string, parent: Section, key: string): Section {
        if (parent === undefined) {
            return undefined; // the parent's problem is already recorded
        }
        const v = parent[key];
        if (v === undefined || v === null) {
            this.problems.push(`${path}: missing`);
            return undefined;
        }
        if (!isPlainObject(v)) {
            this.problems.push(`${path}: expected a mapping`);
            return undefined;
        }
        return v;
    }

    string(parent: Section, parentPath: string, key: string): string | undefined {
        if (parent === undefined) {
            return undefined;
        }
        const path = `${parentPath}.${key}`;
        const v = parent[key];
        if (v === undefined || v === null) {
            this.problems.push(`${path}: missing`);
            return undefined;
        }
        if (typeof v !== "string") {
            this.problems.push(`${path}: expected a string`);
            return undefined;
        }
        if (v === "") {
            this.problems.push(`${path}: empty`);
            return undefined;
        }
        return v;
    }

    token(parent: Section, parentPath: string, key: string): string | undefined {
        const v = this.string(parent, parentPath, key);
        if (v !== undefined && !TOKEN_PATTERN.test(v)) {
            this.problems.push(`${parentPath}.${key}: not a token of the form [0-9a-z]{6}.[0-9a-z]{16}`);
            return undefined;
        }
        return v;
    }

    /** The PEM text under `<path>.<key>`, with exactly one block, and that block's label. */
    private pem(parent: Section, parentPath: string, key: string): { pem: string; label: string; path: string } | undefined {
        const b64 = this.string(parent, parentPath, key);
        const path = `${parentPath}.${key}`;
        if (b64 === undefined) {
            return undefined;
        }
        if (b64.trimStart().startsWith("-----BEGIN")) {
            this.problems.push(`${path}: PEM text where base64 of the PEM text is expected`);
            return undefined;
        }
        const bytes = decodeStdBase64(b64);
        if (bytes === undefined) {
            this.problems.push(`${path}: not standard base64`);
            return undefined;
        }
        const pem = bytes.toString("utf8");
        const blocks = pemBlocks(pem);
        if (blocks.length !== 1) {
            this.problems.push(`${path}: does not decode to one PEM block`);
            return undefined;
        }
        return { pem, label: blocks[0].label, path };
    }

    certificate(parent: Section, parentPath: string): { pem: string; cert: X509Certificate } | undefined {
        const p = this.pem(parent, parentPath, "crt");
        if (p === undefined) {
            return undefined;
        }
        if (p.label !== "CERTIFICATE") {
            this.problems.push(`${p.path}: PEM label "${p.label}", expected "CERTIFICATE"`);
            return undefined;
        }
        try {
            return { pem: p.pem, cert: new X509Certificate(p.pem) };
        } catch {
            this.problems.push(`${p.path}: not a valid X.509 certificate`);
            return undefined;
        }
    }

    privateKey(parent: Section, parentPath: string): { pem: string; key: KeyObject } | undefined {
        const p = this.pem(parent, parentPath, "key");
        if (p === undefined) {
            return undefined;
        }
        if (!(TALOS_PRIVATE_KEY_LABELS as readonly string[]).includes(p.label)) {
            const expected = TALOS_PRIVATE_KEY_LABELS.map((l) => `"${l}"`).join(", ");
            this.problems.push(`${p.path}: PEM label "${p.label}" is not one Talos reads (${expected})`);
            return undefined;
        }
        let key: KeyObject;
        try {
            key = createPrivateKey(fromTalosEd25519Pem(p.pem));
        } catch {
            this.problems.push(`${p.path}: not a valid private key`);
            return undefined;
        }
        if (p.label === "ED25519 PRIVATE KEY" && key.asymmetricKeyType !== "ed25519") {
            this.problems.push(`${p.path}: labelled "ED25519 PRIVATE KEY" but holds a key of type ${key.asymmetricKeyType}`);
            return undefined;
        }
        return { pem: p.pem, key };
    }
}
