// A stack with `secretsFile`: no CA, key or token is generated; the cluster and its outputs use
// the file's bundle, and only the admin client certificates are signed (by the imported CAs).
import * as pulumi from "@pulumi/pulumi";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { fromTalosEd25519Pem } from "../../talos/pem";
import type { SecretsBundle } from "../../talos/secretsbundle";
import { parseSecretsYaml, renderSecretsYaml } from "../../talos/secretsfile";
import { makeAdminClients, makeSecretsBundle } from "../support/pki";
import { loadProgram, Program, promiseOf } from "./harness";

let program: Program;
let bundle: SecretsBundle;
const dir = mkdtempSync(join(tmpdir(), "talos-docker-secrets-"));

beforeAll(async () => {
    bundle = await makeSecretsBundle({ rsaBits: 2048 });
    const file = join(dir, "secrets.yaml");
    writeFileSync(file, renderSecretsYaml(bundle), { mode: 0o600 });
    program = await loadProgram({ secretsFile: file });
    if (program.error) throw program.error;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("generates no CA, key or token: only the two admin client certificates", () => {
    expect(program.resources.filter((r) => r.type.startsWith("random:"))).toEqual([]);
    expect(program.byType("tls:index/selfSignedCert:SelfSignedCert")).toEqual([]);
    expect(program.byType("tls:index/privateKey:PrivateKey").map((r) => r.name).sort()).toEqual(["talos-secrets-kube-admin-key", "talos-secrets-talos-admin-key"]);
});

it("signs the admin certificates with the imported CAs, whose keys stay secret", () => {
    const talos = program.one("tls:index/locallySignedCert:LocallySignedCert", "talos-secrets-talos-admin-cert");
    expect(talos.inputs.caCertPem).toBe(bundle.certs.os.crt);
    // @pulumi/tls reads Ed25519 keys under the standard label only.
    expect(talos.inputs.caPrivateKeyPem).toBe(fromTalosEd25519Pem(bundle.certs.os.key));
    expect(talos.inputs.caPrivateKeyPem).toContain("BEGIN PRIVATE KEY");
    expect(talos.secretPaths).toContain("caPrivateKeyPem");
    const kube = program.one("tls:index/locallySignedCert:LocallySignedCert", "talos-secrets-kube-admin-cert");
    expect(kube.inputs.caCertPem).toBe(bundle.certs.k8s.crt);
    expect(kube.inputs.caPrivateKeyPem).toBe(bundle.certs.k8s.key);
    expect(kube.secretPaths).toContain("caPrivateKeyPem");
});

it("talosSecrets is the imported bundle, still a secret", async () => {
    expect(await pulumi.isSecret(program.exports.talosSecrets)).toBe(true);
    expect(parseSecretsYaml(await promiseOf(program.exports.talosSecrets as pulumi.Output<string>))).toEqual(bundle);
});

it("the machine configs carry the imported CAs and tokens", async () => {
    const configs = await promiseOf(program.exports.machineConfigs as pulumi.Output<Record<string, string>>);
    const cp = parseAllDocuments(configs["talos-cp-01"])[0].toJS();
    expect(Buffer.from(cp.cluster.ca.crt, "base64").toString()).toBe(bundle.certs.k8s.crt);
    expect(cp.cluster.token).toBe(bundle.secrets.bootstrapToken);
    expect(cp.machine.token).toBe(bundle.trustdInfo.token);
    expect(cp.cluster.id).toBe(bundle.cluster.id);
});

it("client certificates made for the cluster before a keep-secrets destroy verify against the re-created cluster's CAs", async () => {
    const before = await makeAdminClients(bundle);
    const kubeconfig = parse(await promiseOf(program.exports.kubeconfig as pulumi.Output<string>));
    const talosconfig = parse(await promiseOf(program.exports.talosconfig as pulumi.Output<string>));
    const caOf = (b64: string) => new X509Certificate(Buffer.from(b64, "base64"));
    expect(new X509Certificate(before.kubernetes.crt).verify(caOf(kubeconfig.clusters[0].cluster["certificate-authority-data"]).publicKey)).toBe(true);
    expect(new X509Certificate(before.talos.crt).verify(caOf(talosconfig.contexts.talos.ca).publicKey)).toBe(true);
});
