// Controlplane and worker machine configs for Talos in Docker: what `talosctl cluster create`
// would generate for the Docker provisioner at the given Talos version, then our storage mount,
// then the user's patches. The sections live in ./config/ (one file each, as Talos' generator).

import { dockerGenerateOptions } from "./config/container";
import { conflictProblems } from "./config/conflicts";
import { clusterSubnets, containerModeProblems } from "./config/containermode";
import { generateDocuments } from "./config/generate";
import type { MachineRole } from "./config/input";
import { describeFinding, schemaFindings } from "./config/schema";
import { isValidStoragePath, STORAGE_PATH_RULE, storagePatches } from "./config/storage";
import { PatchError, applyPatches, type ConfigPatch } from "./patches";
import type { SecretsBundle } from "./secretsbundle";
import { TALOS_MINORS, isSupportedKubernetes, parseKubernetesVersion, versionContract, type VersionContract } from "./versions";
import { toTalosYamlDocuments } from "./yaml";

export { MACHINE_ROLES, type MachineRole } from "./config/input";
export { DEFAULT_STORAGE_PATH } from "./config/storage";

export interface MachineConfigInput {
    role: MachineRole;
    clusterName: string;
    /** https://172.30.0.2:6443 : the first control plane's in-network address (docker.go `GetInClusterKubernetesControlPlaneEndpoint`) */
    controlPlaneEndpoint: string;
    /** "v1.8.3"; selects the version contract and, up to v1.11, the installer image. */
    talosVersion: string;
    /** "1.31.1" (no leading v); must be supported by the Talos version. */
    kubernetesVersion: string;
    secrets: SecretsBundle;
    /** extra SANs for machine.certSANs and cluster.apiServer.certSANs (container mode already adds 127.0.0.1); duplicates dropped */
    additionalSANs?: string[];
    /** when set, the kubelet bind-mounts this path for local-path-provisioner; it must be under /var (TALOS-NOTES, Local storage) */
    storagePath?: string;
    /**
     * registry host → mirror endpoint URLs (talosctl `--registry-mirror host=url`); written per
     * contract: machine.registries up to v1.11, RegistryMirrorConfig documents from v1.12. Default none.
     */
    registryMirrors?: Record<string, string[]>;
    /** patches applied after generation, in order (after the storage mount) */
    patches?: ConfigPatch[];
}

/** Input a config cannot be made from; `problems` names each bad field. */
export class MachineConfigError extends Error {
    readonly problems: string[];

    constructor(problems: string[]) {
        const noun = problems.length === 1 ? "problem" : "problems";
        super(`cannot generate the machine config (${problems.length} ${noun}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "MachineConfigError";
        this.problems = problems;
    }
}

const SUPPORTED = `v${TALOS_MINORS[0]} to v${TALOS_MINORS[TALOS_MINORS.length - 1]}`;

/** Every problem with the input, each naming its field; empty when a config can be made. */
export function validateMachineConfigInput(input: MachineConfigInput): string[] {
    const problems: string[] = [];
    if (input.role !== "controlplane" && input.role !== "worker") {
        problems.push(`role: "${String(input.role)}" is not controlplane or worker`);
    }
    if (input.clusterName === "") {
        problems.push("clusterName: empty");
    }
    problems.push(...endpointProblems(input.controlPlaneEndpoint));
    const contract = versionContract(input.talosVersion);
    if (contract === undefined) {
        problems.push(`talosVersion: "${input.talosVersion}" is not a supported Talos version (${SUPPORTED}, written like v1.8.3)`);
    }
    problems.push(...kubernetesProblems(contract, input.kubernetesVersion));
    for (const san of input.additionalSANs ?? []) {
        if (san === "" || /\s/.test(san)) {
            problems.push(`additionalSANs: "${san}" is not a host name or IP address`);
        }
    }
    if (input.storagePath !== undefined && !isValidStoragePath(input.storagePath)) {
        problems.push(`storagePath: "${input.storagePath}" is not ${STORAGE_PATH_RULE}`);
    }
    for (const [host, endpoints] of Object.entries(input.registryMirrors ?? {})) {
        if (host === "" || endpoints.length === 0) {
            problems.push(`registryMirrors: "${host}" needs a host name and at least one endpoint`);
        }
        for (const url of endpoints) {
            if (!isHttpUrl(url)) {
                problems.push(`registryMirrors.${host}: "${url}" is not an http(s) URL`);
            }
        }
    }
    return problems;
}

function endpointProblems(endpoint: string): string[] {
    let url: URL;
    try {
        url = new URL(endpoint);
    } catch {
        return [`controlPlaneEndpoint: "${endpoint}" is not a URL`];
    }
    return url.protocol === "https:" && url.hostname !== "" && url.pathname === "/" && url.search === ""
        ? []
        : [`controlPlaneEndpoint: "${endpoint}" is not of the form https://HOST:PORT`];
}

function kubernetesProblems(contract: VersionContract | undefined, k8s: string): string[] {
    if (parseKubernetesVersion(k8s) === undefined) {
        return [`kubernetesVersion: "${k8s}" is not a Kubernetes version (written like 1.31.1, without v)`];
    }
    if (contract !== undefined && !isSupportedKubernetes(contract, k8s)) {
        const { min, max } = contract.kubernetes;
        return [`kubernetesVersion: ${k8s} is not supported by Talos v${contract.minor} (supported: ${min} to ${max})`];
    }
    return [];
}

function isHttpUrl(s: string): boolean {
    try {
        const u = new URL(s);
        return u.protocol === "https:" || u.protocol === "http:";
    } catch {
        return false;
    }
}

/**
 * The config as objects, before YAML: one per document. Throws MachineConfigError for bad input,
 * PatchError for a patch that does not apply or leaves a config Talos would not load (a key or
 * document kind that Talos version does not know).
 */
export function machineConfigDocuments(input: MachineConfigInput): unknown[] {
    const problems = validateMachineConfigInput(input);
    const contract = versionContract(input.talosVersion);
    if (problems.length > 0 || contract === undefined) {
        throw new MachineConfigError(problems);
    }
    const documents = generateDocuments({
        role: input.role,
        contract,
        clusterName: input.clusterName,
        controlPlaneEndpoint: input.controlPlaneEndpoint,
        kubernetesVersion: input.kubernetesVersion,
        secrets: input.secrets,
        options: dockerGenerateOptions(contract, input.talosVersion, input.additionalSANs ?? [], input.registryMirrors ?? {}),
    });
    const storage = input.storagePath === undefined ? [] : storagePatches(contract.config.kubernetes, input.storagePath);
    const patches = [...storage, ...(input.patches ?? [])];
    const patched = applyPatches(documents, patches);
    const unknown = schemaFindings(patched, contract.minor);
    if (unknown.length > 0) {
        const reasons = unknown.map(describeFinding).join("; ");
        const fields = unknown.map((f) => f.where).filter((w) => w !== "");
        throw new PatchError(`the patched config does not load in Talos v${contract.minor}: ${reasons}`, fields);
    }
    const inContainer = [
        ...conflictProblems(patched, contract.config.kubernetes),
        ...containerModeProblems(patched, contract.config.hostDNS),
    ];
    if (inContainer.length > 0) {
        const reasons = inContainer.map((p) => p.message).join("; ");
        throw new PatchError(`the patched config does not boot in a container: ${reasons}`, inContainer.map((p) => p.field));
    }
    return patched;
}

/** Stands in for the secrets where only the config's shape matters: every value is "". */
const PLACEHOLDER_SECRETS: SecretsBundle = {
    cluster: { id: "", secret: "" },
    secrets: { bootstrapToken: "", secretboxEncryptionSecret: "" },
    trustdInfo: { token: "" },
    certs: {
        etcd: { crt: "", key: "" },
        k8s: { crt: "", key: "" },
        k8sAggregator: { crt: "", key: "" },
        k8sServiceAccount: { key: "" },
        os: { crt: "", key: "" },
    },
};

/**
 * Every reason `machineConfigDocuments` would throw for this input, found without the secrets,
 * so stack config can be checked before any resource exists: the input problems, else the
 * patch problems, each prefixed "patches: ". Call it once per role with that role's patches.
 */
export function checkMachineConfig(input: Omit<MachineConfigInput, "secrets">): string[] {
    const problems = validateMachineConfigInput({ ...input, secrets: PLACEHOLDER_SECRETS });
    if (problems.length > 0) {
        return problems;
    }
    const patchError = findPatchError(input);
    return patchError === undefined ? [] : [`patches: ${patchError.message}`];
}

/**
 * The PatchError `machineConfigDocuments` would throw for this input, found without the secrets;
 * undefined when the patches apply. Throws MachineConfigError when the input itself is bad.
 */
export function findPatchError(input: Omit<MachineConfigInput, "secrets">): PatchError | undefined {
    try {
        machineConfigDocuments({ ...input, secrets: PLACEHOLDER_SECRETS });
        return undefined;
    } catch (e) {
        if (e instanceof PatchError) {
            return e;
        }
        throw e;
    }
}

/** The pod and service networks the (patched) config gives the cluster, found without the secrets. */
export function clusterNetworks(input: Omit<MachineConfigInput, "secrets">): { pods: string[]; services: string[] } {
    return clusterSubnets(machineConfigDocuments({ ...input, secrets: PLACEHOLDER_SECRETS }));
}

/** The config as YAML text; several documents (separated by ---) from v1.12 on. Deterministic. */
export function renderMachineConfig(input: MachineConfigInput): string {
    return toTalosYamlDocuments(machineConfigDocuments(input));
}
