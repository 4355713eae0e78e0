// The generator's input: one value built once, from which every section is rendered, like
// talos@v1.8.3:pkg/machinery/config/generate/generate.go `Input` with its `Options`.

import { base64Pem, toTalosEd25519Pem } from "../pem";
import type { CertAndKey, SecretsBundle } from "../secretsbundle";
import type { VersionContract } from "../versions";

/** The machine types Talos' generator makes a config for. */
export const MACHINE_ROLES = ["controlplane", "worker"] as const;

export type MachineRole = (typeof MACHINE_ROLES)[number];

/** The subset of generate.Options the Docker flow uses. */
export interface GenerateOptions {
    /** generate.WithInstallImage; undefined: `machine.install.image` is not written. */
    installImage?: string;
    /** generate.WithAdditionalSubjectAltNames: into machine.certSANs and cluster.apiServer.certSANs. */
    additionalSubjectAltNames: readonly string[];
    /** generate.WithNetworkOptions(v1alpha1.WithNetworkInterfaceIgnore(IfaceByName(name))) for each name. */
    ignoredInterfaces: readonly string[];
    /** generate.WithRegistryMirror(host, endpoints...) for each host. */
    registryMirrors: Readonly<Record<string, readonly string[]>>;
}

export interface GenerateInput {
    role: MachineRole;
    contract: VersionContract;
    clusterName: string;
    /** a URL, e.g. https://172.30.0.2:6443 */
    controlPlaneEndpoint: string;
    /** "1.31.1" */
    kubernetesVersion: string;
    secrets: SecretsBundle;
    options: GenerateOptions;
}

/** A certificate and key as Talos embeds them (x509.PEMEncodedCertificateAndKey): base64 PEM, Ed25519 keys relabelled. */
export function encodeCertAndKey(pair: CertAndKey): { crt: string; key: string } {
    return { crt: base64Pem(pair.crt), key: encodeKey(pair.key) };
}

/** The certificate alone, key "" (workers: generate/worker.go keeps only the Crt). */
export function encodeCertOnly(pair: CertAndKey): { crt: string; key: string } {
    return { crt: base64Pem(pair.crt), key: "" };
}

export function encodeKey(keyPem: string): string {
    return base64Pem(toTalosEd25519Pem(keyPem));
}

/** A certificate and key as the v1.14 documents hold them (meta.CertificateAndKey): PEM text, keys relabelled. */
export function pemCertAndKey(pair: CertAndKey): { cert: string; key: string } {
    return { cert: pair.crt, key: toTalosEd25519Pem(pair.key) };
}

/** The endpoint's host, as Go's url.URL.Hostname() (no brackets around IPv6). */
export function endpointHost(endpoint: string): string {
    return new URL(endpoint).hostname.replace(/^\[(.*)\]$/, "$1");
}
