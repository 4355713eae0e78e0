// Stack config → a typed, defaulted, validated ClusterSpec. Pure: no Pulumi imports, so every
// rule is tested without mocks. Defaults live in DEFAULTS and nowhere else in the program
// (Pulumi.yaml repeats them for `pulumi config`, and a test keeps the two equal).
import { isSupportedKubernetes, parseTalosVersion, talosImage, TALOS_MINORS, versionContract, type VersionContract } from "../talos/versions";
import { checkMachineConfig, MachineRole } from "../talos/machineconfig";
import { ConfigPatch, parsePatch, PatchError } from "../talos/patches";
import type { SecretsBundle } from "../talos/secretsbundle";
import { parseSecretsYaml, SecretsFileError } from "../talos/secretsfile";
import { stringify as toYaml } from "yaml";
import { parseDuration } from "./duration";
import { DEFAULT_STORAGE_PATH, isValidStoragePath, STORAGE_PATH_RULE } from "../talos/config/storage";
import type { ReclaimPolicy } from "./storagemanifest";
import { cidrContains, hostAddress, parseCidr, parseIPv4 } from "./ipv4";

export const CONFIG_NAMESPACE = "talos-docker";

export type { ReclaimPolicy };

export interface NodePoolSpec {
    count: number;
    /** CPUs per node; Docker accepts fractions. */
    cpus: number;
    memoryMiB: number;
}

export interface ClusterSpec {
    clusterName: string;
    talosVersion: string;
    kubernetesVersion: string;
    image: string;
    network: { name: string; subnet: string; gateway: string; mtu: number };
    controlPlanes: NodePoolSpec;
    workers: NodePoolSpec;
    ports: { bindAddress: string; kubernetesApi: number; talosApi: number; http: number; https: number };
    configPatches: { all: ConfigPatch[]; controlPlane: ConfigPatch[]; worker: ConfigPatch[] };
    storage: { enabled: boolean; path: string; isDefault: boolean; reclaimPolicy: ReclaimPolicy };
    /** How long bootstrap and the readiness wait may take, as durations ("10m"). */
    timeouts: { bootstrap: string; ready: string };
    /** The secrets bundle read from `secretsFile`, when the stack reuses one instead of generating. */
    importedSecrets?: { path: string; bundle: SecretsBundle };
}

/** What parsing may need from outside: reading `secretsFile`. Injected so this module stays pure. */
export interface ConfigIo {
    /** Returns the file's text; throws (with a message saying why) when it cannot be read. */
    readFile(path: string): string;
}

/** The reference cluster: every default of the stack config. */
export const DEFAULTS = {
    clusterName: "talos",
    talosVersion: "v1.8.3",
    kubernetesVersion: "1.31.1",
    network: { name: "talos-net", subnet: "172.30.0.0/24", mtu: 1500 },
    controlPlanes: { count: 1, cpus: 2, memoryMiB: 4096 },
    workers: { count: 2, cpus: 2, memoryMiB: 4096 },
    ports: { bindAddress: "127.0.0.1", kubernetesApi: 6444, talosApi: 50000, http: 80, https: 443 },
    configPatches: { all: [], controlPlane: [], worker: [] },
    storage: { enabled: true, path: DEFAULT_STORAGE_PATH, isDefault: true, reclaimPolicy: "Delete" },
    timeouts: { bootstrap: "10m", ready: "15m" },
} as const;

/** Bounds of what we accept; the Talos minimums come from Talos' system requirements. */
export const LIMITS = {
    controlPlanes: { count: { min: 1, max: 7 }, cpus: 2, memoryMiB: 2048 },
    workers: { count: { min: 0, max: 250 }, cpus: 1, memoryMiB: 1024 },
    mtu: { min: 1280, max: 9216 },
    // Node hostnames are `<clusterName>-worker-NNN` and must stay DNS labels (63 characters).
    clusterNameLength: 63 - "-worker-000".length,
    timeoutMs: { min: 10_000, max: 24 * 3_600_000 },
} as const;

/** The keys the program reads; anything else in the namespace is a typo. */
export const CONFIG_KEYS = [
    "clusterName", "talosVersion", "kubernetesVersion", "image", "network", "controlPlanes",
    "workers", "ports", "configPatches", "storage", "timeouts", "secretsFile",
] as const;

const OBJECT_KEYS = {
    network: ["name", "subnet", "gateway", "mtu"],
    controlPlanes: ["count", "cpus", "memoryMiB"],
    workers: ["count", "cpus", "memoryMiB"],
    ports: ["bindAddress", "kubernetesApi", "talosApi", "http", "https"],
    configPatches: ["all", "controlPlane", "worker"],
    storage: ["enabled", "path", "isDefault", "reclaimPolicy"],
    timeouts: ["bootstrap", "ready"],
} as const;

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(
            `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}); ` +
                `nothing was created:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        );
        this.name = "ConfigError";
    }
}

/** Raw config as Pulumi holds it: key (without namespace) → string; structured values are JSON. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/** Collects problems as `talos-docker:<key> = <value>: <what is wrong and what is allowed>`. */
class Problems {
    readonly list: string[] = [];
    add(key: string, value: unknown, message: string): void {
        this.list.push(`${CONFIG_NAMESPACE}:${key} = ${show(value)}: ${message}`);
    }
}

function show(value: unknown): string {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const KUBERNETES_VERSION = /^v?([0-9]+)\.([0-9]+)\.([0-9]+)$/;

/**
 * Validates and defaults the whole config. Throws one ConfigError listing every problem; a key
 * whose value is wrong is reported once and its dependants are checked against the default.
 */
export function parseClusterSpec(raw: RawConfig, io?: ConfigIo): ClusterSpec {
    const p = new Problems();
    const objects = readObjects(raw, p);
    checkTopLevelKeys(p, raw);

    const clusterName = parseClusterName(p, raw.clusterName);
    const { talosVersion, kubernetesVersion, contract } = parseVersions(p, raw);
    const image = parseImage(p, raw.image, talosVersion, contract);
    const { gateway: gatewayValue, ...networkFields } = parseNetworkFields(p, objects.network);
    const controlPlanes = pool(p, "controlPlanes", objects.controlPlanes, DEFAULTS.controlPlanes, LIMITS.controlPlanes);
    const workers = pool(p, "workers", objects.workers, DEFAULTS.workers, LIMITS.workers);
    const gateway = checkSubnet(p, networkFields.subnet, gatewayValue, controlPlanes.count + workers.count);
    const network = { ...networkFields, gateway };
    const ports = parsePorts(p, objects.ports);
    const patchLists = parsePatchLists(p, objects.configPatches);
    const storage = parseStorage(p, objects.storage);
    const timeouts = parseTimeouts(p, objects.timeouts);
    const importedSecrets = raw.secretsFile === undefined ? undefined : readSecretsFile(p, raw.secretsFile, io);

    if (p.list.length > 0) throw new ConfigError(p.list);
    const spec: ClusterSpec = {
        clusterName, talosVersion, kubernetesVersion, image, network, controlPlanes, workers, ports,
        configPatches: {
            all: patchLists.all.map((l) => l.patch),
            controlPlane: patchLists.controlPlane.map((l) => l.patch),
            worker: patchLists.worker.map((l) => l.patch),
        },
        storage, timeouts,
        ...(importedSecrets ? { importedSecrets } : {}),
    };
    // Patches can only be tried once everything they are applied to is valid.
    checkPatchesApply(p, spec, patchLists);
    if (p.list.length > 0) throw new ConfigError(p.list);
    return spec;
}

/** Anything in the namespace that is not one of CONFIG_KEYS is a typo. */
function checkTopLevelKeys(p: Problems, raw: RawConfig): void {
    for (const key of Object.keys(raw)) {
        if (raw[key] !== undefined && !(CONFIG_KEYS as readonly string[]).includes(key)) {
            p.add(key, parseJson(raw[key]), `unknown key; the keys are ${CONFIG_KEYS.join(", ")}`);
        }
    }
}

function parseClusterName(p: Problems, value: string | undefined): string {
    const clusterName = value ?? DEFAULTS.clusterName;
    if (!DNS_LABEL.test(clusterName) || clusterName.length > LIMITS.clusterNameLength) {
        p.add("clusterName", clusterName,
            `must be a DNS label of at most ${LIMITS.clusterNameLength} characters (lower-case letters, digits ` +
                `and '-', starting and ending with a letter or digit), since node names are <clusterName>-worker-NN`);
    }
    return clusterName;
}

/** talosVersion and kubernetesVersion, which must be a pair Talos supports. */
function parseVersions(p: Problems, raw: RawConfig): { talosVersion: string; kubernetesVersion: string; contract?: VersionContract } {
    const talosVersion = raw.talosVersion ?? DEFAULTS.talosVersion;
    const contract = versionContract(talosVersion);
    if (!contract) {
        const parsed = parseTalosVersion(talosVersion);
        p.add("talosVersion", talosVersion, parsed
            ? `Talos v${parsed.major}.${parsed.minor} is not supported; supported minors are ${TALOS_MINORS.map((m) => `v${m}`).join(", ")}`
            : `is not a Talos release such as ${DEFAULTS.talosVersion}`);
    }

    const rawKubernetes = raw.kubernetesVersion ?? DEFAULTS.kubernetesVersion;
    const kubernetesVersion = rawKubernetes.replace(/^v/, "");
    if (!KUBERNETES_VERSION.test(rawKubernetes)) {
        p.add("kubernetesVersion", rawKubernetes, `is not a Kubernetes release such as ${DEFAULTS.kubernetesVersion}`);
    } else if (contract && !isSupportedKubernetes(contract, kubernetesVersion)) {
        p.add("kubernetesVersion", rawKubernetes,
            `Talos ${talosVersion} supports Kubernetes ${contract.kubernetes.min} to ${contract.kubernetes.max} ` +
                `(its default is ${contract.kubernetes.default})`);
    }
    return { talosVersion, kubernetesVersion, ...(contract ? { contract } : {}) };
}

/** The node image: set, or derived from talosVersion. */
function parseImage(p: Problems, value: string | undefined, talosVersion: string, contract: VersionContract | undefined): string {
    if (value !== undefined && !/^[^\s]+$/.test(value)) {
        p.add("image", value, "must be an image reference such as ghcr.io/siderolabs/talos:v1.8.3");
    }
    return value ?? (contract ? talosImage(talosVersion) : "");
}

/** The network's own fields; the gateway is checked against the subnet once the node count is known. */
function parseNetworkFields(p: Problems, net: Record<string, unknown>): { name: string; subnet: string; mtu: number; gateway: unknown } {
    const name = str(p, "network.name", net.name, DEFAULTS.network.name);
    if (!DOCKER_NAME.test(name)) {
        p.add("network.name", name, "must be a Docker network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");
    }
    return {
        name,
        subnet: str(p, "network.subnet", net.subnet, DEFAULTS.network.subnet),
        mtu: int(p, "network.mtu", net.mtu, DEFAULTS.network.mtu, LIMITS.mtu.min, LIMITS.mtu.max),
        gateway: net.gateway,
    };
}

function parsePorts(p: Problems, po: Record<string, unknown>): ClusterSpec["ports"] {
    const ports = {
        bindAddress: str(p, "ports.bindAddress", po.bindAddress, DEFAULTS.ports.bindAddress),
        kubernetesApi: int(p, "ports.kubernetesApi", po.kubernetesApi, DEFAULTS.ports.kubernetesApi, 1, 65535),
        talosApi: int(p, "ports.talosApi", po.talosApi, DEFAULTS.ports.talosApi, 1, 65535),
        http: int(p, "ports.http", po.http, DEFAULTS.ports.http, 1, 65535),
        https: int(p, "ports.https", po.https, DEFAULTS.ports.https, 1, 65535),
    };
    if (parseIPv4(ports.bindAddress) === undefined) {
        p.add("ports.bindAddress", ports.bindAddress, "must be an IPv4 address of this host, such as 127.0.0.1 (or 0.0.0.0 for all)");
    }
    const seen = new Map<number, string>();
    for (const key of ["kubernetesApi", "talosApi", "http", "https"] as const) {
        const other = seen.get(ports[key]);
        if (other) p.add(`ports.${key}`, ports[key], `collides with ports.${other}; each host port must be different`);
        seen.set(ports[key], key);
    }
    return ports;
}

type PatchLists = Record<"all" | "controlPlane" | "worker", LabelledPatch[]>;

function parsePatchLists(p: Problems, cp: Record<string, unknown>): PatchLists {
    return {
        all: patches(p, "configPatches.all", cp.all),
        controlPlane: patches(p, "configPatches.controlPlane", cp.controlPlane),
        worker: patches(p, "configPatches.worker", cp.worker),
    };
}

function parseStorage(p: Problems, st: Record<string, unknown>): ClusterSpec["storage"] {
    const storage = {
        enabled: bool(p, "storage.enabled", st.enabled, DEFAULTS.storage.enabled),
        path: str(p, "storage.path", st.path, DEFAULTS.storage.path),
        isDefault: bool(p, "storage.isDefault", st.isDefault, DEFAULTS.storage.isDefault),
        reclaimPolicy: DEFAULTS.storage.reclaimPolicy as ReclaimPolicy,
    };
    if (!isValidStoragePath(storage.path)) {
        p.add("storage.path", storage.path, `must be ${STORAGE_PATH_RULE} (the rest of a Talos node is read-only)`);
    }
    const reclaim = st.reclaimPolicy ?? DEFAULTS.storage.reclaimPolicy;
    if (reclaim === "Delete" || reclaim === "Retain") storage.reclaimPolicy = reclaim;
    else p.add("storage.reclaimPolicy", reclaim, "must be Delete or Retain");
    return storage;
}

function parseTimeouts(p: Problems, to: Record<string, unknown>): ClusterSpec["timeouts"] {
    return {
        bootstrap: duration(p, "timeouts.bootstrap", to.bootstrap, DEFAULTS.timeouts.bootstrap),
        ready: duration(p, "timeouts.ready", to.ready, DEFAULTS.timeouts.ready),
    };
}

type ObjectKey = keyof typeof OBJECT_KEYS;

/** Parses each structured key's JSON and flags unknown fields; a bad object counts as empty. */
function readObjects(raw: RawConfig, p: Problems): Record<ObjectKey, Record<string, unknown>> {
    const result = {} as Record<ObjectKey, Record<string, unknown>>;
    for (const key of Object.keys(OBJECT_KEYS) as ObjectKey[]) {
        result[key] = {};
        const text = raw[key];
        if (text === undefined) continue;
        const value = parseJson(text);
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            p.add(key, value, `must be an object with the keys ${OBJECT_KEYS[key].join(", ")}`);
            continue;
        }
        const fields = value as Record<string, unknown>;
        for (const field of Object.keys(fields)) {
            if (!(OBJECT_KEYS[key] as readonly string[]).includes(field)) {
                p.add(`${key}.${field}`, fields[field], `unknown key; ${key} has ${OBJECT_KEYS[key].join(", ")}`);
            }
        }
        result[key] = fields;
    }
    return result;
}

/** Structured values arrive as JSON; anything else is the user's plain string. */
function parseJson(text: string | undefined): unknown {
    try {
        return JSON.parse(text ?? "");
    } catch {
        return text;
    }
}

function str(p: Problems, key: string, value: unknown, fallback: string): string {
    if (value === undefined) return fallback;
    if (typeof value === "string" && value.length > 0) return value;
    p.add(key, value, "must be a non-empty string");
    return fallback;
}

function bool(p: Problems, key: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value === "boolean") return value;
    p.add(key, value, "must be true or false");
    return fallback;
}

function int(p: Problems, key: string, value: unknown, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
    p.add(key, value, `must be an integer from ${min} to ${max}`);
    return fallback;
}

function duration(p: Problems, key: string, value: unknown, fallback: string): string {
    if (value === undefined) return fallback;
    const ms = typeof value === "string" ? parseDuration(value) : undefined;
    if (ms !== undefined && ms >= LIMITS.timeoutMs.min && ms <= LIMITS.timeoutMs.max) return value as string;
    p.add(key, value, 'must be a duration from 10s to 24h, such as "90s", "10m" or "1h30m"');
    return fallback;
}

function pool(
    p: Problems,
    key: "controlPlanes" | "workers",
    value: Record<string, unknown>,
    fallback: NodePoolSpec,
    limits: { count: { min: number; max: number }; cpus: number; memoryMiB: number },
): NodePoolSpec {
    const what = key === "controlPlanes" ? "control plane" : "worker";
    const count = int(p, `${key}.count`, value.count, fallback.count, limits.count.min, limits.count.max);
    let cpus = fallback.cpus;
    if (value.cpus !== undefined) {
        if (typeof value.cpus === "number" && value.cpus >= limits.cpus && Number.isInteger(value.cpus * 100)) {
            cpus = value.cpus;
        } else {
            p.add(`${key}.cpus`, value.cpus, `must be a number of CPUs of at least ${limits.cpus} (Talos' minimum for a ${what}), in steps of 0.01`);
        }
    }
    let memoryMiB = fallback.memoryMiB;
    if (value.memoryMiB !== undefined) {
        if (typeof value.memoryMiB === "number" && Number.isInteger(value.memoryMiB) && value.memoryMiB >= limits.memoryMiB) {
            memoryMiB = value.memoryMiB;
        } else {
            p.add(`${key}.memoryMiB`, value.memoryMiB, `must be an integer of at least ${limits.memoryMiB} (Talos' minimum for a ${what}, in MiB)`);
        }
    }
    return { count, cpus, memoryMiB };
}

/**
 * Checks that the subnet holds the gateway and every node address (.2 upwards, control planes
 * first) below the broadcast address; returns the gateway (default: the first host address).
 */
function checkSubnet(p: Problems, subnet: string, gatewayValue: unknown, nodeCount: number): string {
    const cidr = parseCidr(subnet);
    if ("error" in cidr) {
        p.add("network.subnet", subnet, cidr.error);
        return typeof gatewayValue === "string" ? gatewayValue : "";
    }
    const lastNode = 1 + nodeCount; // offsets: 0 network, 1 gateway, 2.. nodes
    if (lastNode >= cidr.size - 1) {
        const prefix = 32 - Math.ceil(Math.log2(nodeCount + 3));
        p.add("network.subnet", subnet,
            `too small for ${nodeCount} nodes: it needs the gateway and ${nodeCount} node addresses from .2 up ` +
                `below the broadcast address; use a /${prefix} or larger`);
    }
    if (gatewayValue === undefined) return hostAddress(cidr, 1);
    const gateway = typeof gatewayValue === "string" ? parseIPv4(gatewayValue) : undefined;
    if (gateway === undefined || !cidrContains(cidr, gateway)) {
        p.add("network.gateway", gatewayValue, `must be an IPv4 address inside ${subnet}`);
    } else {
        const offset = gateway - cidr.network;
        if (offset === 0 || offset === cidr.size - 1) {
            p.add("network.gateway", gatewayValue, `is the network or broadcast address of ${subnet}`);
        } else if (offset >= 2 && offset <= lastNode) {
            p.add("network.gateway", gatewayValue,
                `collides with the node addresses ${hostAddress(cidr, 2)}-${hostAddress(cidr, lastNode)}; use ${hostAddress(cidr, 1)} or an address above them`);
        }
    }
    return String(gatewayValue);
}

/** Reads a talosctl secrets.yaml; its problems name YAML paths and never echo a secret. */
function readSecretsFile(p: Problems, path: string, io: ConfigIo | undefined): { path: string; bundle: SecretsBundle } | undefined {
    if (path.length === 0) {
        p.add("secretsFile", path, "must be the path of a talosctl secrets.yaml (talosctl gen secrets), relative to the project directory");
        return undefined;
    }
    let text: string;
    try {
        if (!io) throw new Error("no file reader was given");
        text = io.readFile(path);
    } catch (err) {
        p.add("secretsFile", path, `cannot be read (${(err as Error).message}); give the path of a talosctl secrets.yaml, relative to the project directory`);
        return undefined;
    }
    try {
        return { path, bundle: parseSecretsYaml(text) };
    } catch (err) {
        if (!(err instanceof SecretsFileError)) throw err;
        p.add("secretsFile", path, `is not a usable talosctl secrets bundle: ${err.problems.join("; ")}`);
        return undefined;
    }
}

/** A parsed patch with the key and value it came from, so a later problem can name them. */
interface LabelledPatch {
    key: string;
    value: unknown;
    patch: ConfigPatch;
}

/** Patches may be YAML text or YAML written inline in the stack file (then it arrives as an object). */
function patches(p: Problems, key: string, value: unknown): LabelledPatch[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
        p.add(key, value, "must be a list of config patches (YAML text or inline YAML)");
        return [];
    }
    const result: LabelledPatch[] = [];
    value.forEach((item, i) => {
        const text = typeof item === "string" ? item : toYaml(item);
        try {
            result.push({ key: `${key}[${i}]`, value: item, patch: parsePatch(text) });
        } catch (err) {
            if (!(err instanceof PatchError)) throw err;
            p.add(`${key}[${i}]`, item, `is not a valid config patch: ${err.message}`);
        }
    });
    return result;
}

/**
 * Applies each role's patches to that role's config, as the cluster will, and names the first
 * patch that fails (unknown key, missing path, a form this Talos version refuses). A patch in
 * `all` that fails for both roles is reported once.
 */
function checkPatchesApply(p: Problems, spec: ClusterSpec, lists: PatchLists): void {
    const reported = new Set<string>();
    const cidr = parseCidr(spec.network.subnet);
    const endpoint = `https://${"error" in cidr ? "127.0.0.1" : hostAddress(cidr, 2)}:6443`;
    const roles: [MachineRole, LabelledPatch[]][] = [["controlplane", lists.controlPlane], ["worker", lists.worker]];
    for (const [role, own] of roles) {
        const labelled = [...lists.all, ...own];
        const check = (count: number) => checkMachineConfig({
            role,
            clusterName: spec.clusterName,
            controlPlaneEndpoint: endpoint,
            talosVersion: spec.talosVersion,
            kubernetesVersion: spec.kubernetesVersion,
            storagePath: spec.storage.enabled ? spec.storage.path : undefined,
            patches: labelled.slice(0, count).map((l) => l.patch),
        });
        if (labelled.length === 0 || check(labelled.length).length === 0) continue;
        // Find the first patch that breaks: later ones may rely on earlier ones.
        for (let i = 1; i <= labelled.length; i++) {
            const problems = check(i);
            if (problems.length === 0) continue;
            const { key, value } = labelled[i - 1];
            if (!reported.has(key)) {
                reported.add(key);
                const reasons = problems.map((r) => r.replace(/^patches: /, "")).join("; ");
                p.add(key, value, `does not apply to the ${role} config of Talos ${spec.talosVersion}: ${reasons}`);
            }
            break;
        }
    }
}
