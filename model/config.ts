// Stack config → a typed, defaulted, validated ClusterSpec. Pure: no Pulumi imports, so every
// rule is tested without mocks. Defaults live in DEFAULTS and nowhere else in the program
// (Pulumi.yaml repeats them: the Pulumi CLI refuses a stack that leaves out a key declared there
// without a default; tests keep the two equal). Every problem carries its fix
// (./configproblems.ts); the values a fix proposes come from ./configfixes.ts.
import {
    contractFor, imageTalosVersion, isSupportedKubernetes, isTalosRelease, nearestTalosMinor, parseTalosVersion,
    sameTalosRelease, talosImage, TALOS_IMAGE_REPOSITORY, TALOS_MINORS, versionContract, type VersionContract,
} from "../talos/versions";
import type { ConfigPatch } from "../talos/patches";
import type { SecretsBundle } from "../talos/secretsbundle";
import { parseSecretsYaml, SecretsFileError } from "../talos/secretsfile";
import {
    DEFAULT_STORAGE_PATH, isValidStoragePath, normalizeStoragePath, STORAGE_PATH_RULE,
} from "../talos/config/storage";
import { isPlainObject } from "../talos/yaml";
import { cpusReadBack, declaredCpus, nanoCpus, nearestDeclarableCpus } from "./dockercpus";
import { parseDuration } from "./duration";
import type { ReclaimPolicy } from "./storagemanifest";
import { cidrContains, formatIPv4, hostAddress, parseCidr, parseIPv4, type Cidr } from "./ipv4";
import { ConfigError, ourKey, Problems, shellWord, type ConfigProblem, type ProblemsOptions } from "./configproblems";
import {
    moveFix, nearestKey, nextFreePort, proposeBoolean, proposeDnsLabel, proposeDockerName, unknownKeyFix,
} from "./configfixes";
import { checkOtherNamespaces, configValue, splitNamespaces } from "./confignamespaces";
import { checkClusterNetworks } from "./confignetworks";
import { checkPatchesApply, parsedPatches, parsePatchLists } from "./configpatches";
import {
    DNS_LABEL, FIRST_NODE_OFFSET, MAX_CONTROL_PLANES, nodeAddress, nodeName, nodeSlots, nodeSuffix, subnetLayoutFits, type NodeCounts,
} from "./plan";
import type { MachineConfigSpec } from "./machineinput";
import { checkCacheAddresses, checkCachePorts, parseRegistryMirrors, type RegistryMirrors } from "./registries";

export {
    CONFIG_NAMESPACE, ConfigError, describeProblem, formatProblems, formatWarning, type ConfigProblem,
} from "./configproblems";

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
    /**
     * Set when the stack sets talosVersion and not kubernetesVersion, which then is that minor's
     * default (defaultKubernetesVersion): a change of talosVersion changes Kubernetes too.
     */
    kubernetesFollowsTalos?: true;
    image: string;
    network: { name: string; subnet: string; gateway: string; mtu: number };
    controlPlanes: NodePoolSpec;
    workers: NodePoolSpec;
    ports: { bindAddress: string; kubernetesApi: number; talosApi: number; http: number; https: number };
    configPatches: { all: ConfigPatch[]; controlPlane: ConfigPatch[]; worker: ConfigPatch[] };
    storage: { enabled: boolean; path: string; isDefault: boolean; reclaimPolicy: ReclaimPolicy };
    /** registry host → mirror URLs, as the stack sets them (model/registries.ts nodeMirrors adds the cache's). */
    registryMirrors: RegistryMirrors;
    /** The pull-through caches shared by every cluster on the machine (model/registries.ts). */
    registryCache: { enabled: boolean };
    /**
     * How long bootstrap, the readiness wait, and a config apply (to one node; the Kubernetes
     * manifests) may take, as durations ("10m").
     */
    timeouts: { bootstrap: string; ready: string; apply: string };
    /** The secrets bundle read from `secretsFile`, when the stack reuses one instead of generating. */
    importedSecrets?: { path: string; bundle: SecretsBundle };
}

/** What parsing may need from outside: reading `secretsFile`. Injected so this module stays pure. */
export interface ConfigIo {
    /** Returns the file's text; throws (with a message saying why) when it cannot be read. */
    readFile(path: string): string;
}

/**
 * The reference cluster: every default of the stack config. `kubernetesVersion` is the default
 * only with the default `talosVersion` (the reference pair); a stack that sets `talosVersion` and
 * not `kubernetesVersion` gets that Talos minor's default Kubernetes, as talosctl does
 * (defaultKubernetesVersion).
 */
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
    registryMirrors: {},
    registryCache: { enabled: false },
    timeouts: { bootstrap: "10m", ready: "15m", apply: "10m" },
} as const;

const CONTROL_PLANE_COUNT = { min: 1, max: MAX_CONTROL_PLANES } as const;
const WORKER_COUNT = { min: 0, max: 250 } as const;

/** Bounds of what we accept; the Talos minimums come from Talos' system requirements. */
export const LIMITS = {
    controlPlanes: { count: CONTROL_PLANE_COUNT, cpus: 2, memoryMiB: 2048 },
    workers: { count: WORKER_COUNT, cpus: 1, memoryMiB: 1024 },
    mtu: { min: 1280, max: 9216 },
    // Node hostnames must stay DNS labels (63 characters), the last worker's the longest.
    clusterNameLength: 63 - nodeName("", "worker", WORKER_COUNT.max).length,
    timeoutMs: { min: 10_000, max: 24 * 3_600_000 },
} as const;

/** The keys the program reads; anything else in the namespace is a typo. */
export const CONFIG_KEYS = [
    "clusterName", "talosVersion", "kubernetesVersion", "image", "network", "controlPlanes",
    "workers", "ports", "configPatches", "storage", "registryMirrors", "registryCache", "timeouts", "secretsFile",
] as const;

export type ConfigKey = (typeof CONFIG_KEYS)[number];

const OBJECT_KEYS = {
    network: ["name", "subnet", "gateway", "mtu"],
    controlPlanes: ["count", "cpus", "memoryMiB"],
    workers: ["count", "cpus", "memoryMiB"],
    ports: ["bindAddress", "kubernetesApi", "talosApi", "http", "https"],
    configPatches: ["all", "controlPlane", "worker"],
    storage: ["enabled", "path", "isDefault", "reclaimPolicy"],
    registryCache: ["enabled"],
    timeouts: ["bootstrap", "ready", "apply"],
} as const;

/** Raw config as Pulumi holds it: key (without namespace) → string; structured values are JSON. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/**
 * Keys whose default is computed (the image from talosVersion, kubernetesVersion from whether
 * talosVersion is set) or an action (generate the secrets). The Pulumi CLI refuses a stack that
 * leaves out a key Pulumi.yaml declares without a `default`, so Pulumi.yaml declares these with
 * `default: ""` and the CLI hands the program "" when the stack does not set them: here the empty
 * string means unset. talosVersion is one of them so that the program can tell a stack that sets
 * it from one that does not.
 */
export const EMPTY_MEANS_UNSET = ["talosVersion", "kubernetesVersion", "image", "secretsFile"] as const;

/**
 * The Kubernetes version of a stack that does not set one: the reference pair's with the default
 * talosVersion, else the default of the Talos minor the stack sets (talos@TAG:pkg/machinery/
 * constants DefaultKubernetesVersion, which talosctl uses), or the reference one when that minor
 * is not supported (an error already).
 */
export function defaultKubernetesVersion(talosVersion: string | undefined): string {
    if (talosVersion === undefined) return DEFAULTS.kubernetesVersion;
    return versionContract(talosVersion)?.kubernetes.default ?? DEFAULTS.kubernetesVersion;
}

/** The stack sets talosVersion and leaves kubernetesVersion to follow it. */
function kubernetesFollowsTalos(raw: RawConfig): boolean {
    return raw.kubernetesVersion === undefined && raw.talosVersion !== undefined;
}

function withoutEmptyDefaults(raw: RawConfig): RawConfig {
    const result = { ...raw };
    for (const key of EMPTY_MEANS_UNSET) if (result[key] === "") delete result[key];
    return result;
}

/** How a parse is told about its surroundings: secret keys are never shown, nor used in a fix. */
export interface ParseOptions extends ProblemsOptions {
    io?: ConfigIo;
}

/** A valid config: the spec, and what is allowed but unwise (each with its fix). */
export interface ParsedConfig {
    spec: ClusterSpec;
    warnings: ConfigProblem[];
}

const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const KUBERNETES_VERSION = /^v?([0-9]+)\.([0-9]+)\.([0-9]+)$/;

/**
 * Validates and defaults the whole config. Throws one ConfigError listing every problem; a key
 * whose value is wrong is reported once and its dependants are checked against the default.
 */
export function parseClusterSpec(raw: RawConfig, io?: ConfigIo): ClusterSpec {
    return parseStackConfig(raw, { io }).spec;
}

/** parseClusterSpec, with the warnings of a valid config beside the spec. */
export function parseStackConfig(raw: RawConfig, options: ParseOptions = {}): ParsedConfig {
    return parse(raw, {}, options);
}

/**
 * Pulumi's whole stack config, every namespace (`talos-docker:clusterName`, `docker:host`, …):
 * ours parsed, the others checked for keys of ours written there.
 */
export function parseAllConfig(all: Readonly<Record<string, string>>, options: ParseOptions = {}): ParsedConfig {
    const { ours, others } = splitNamespaces(all);
    return parse(ours, others, options);
}

function parse(given: RawConfig, others: Readonly<Record<string, string>>, options: ParseOptions): ParsedConfig {
    const raw = withoutEmptyDefaults(given);
    const p = new Problems(options);
    const objects = readObjects(raw, p);
    checkTopLevelKeys(p, raw);
    checkOtherNamespaces(p, others, CONFIG_KEYS);

    const clusterName = parseClusterName(p, raw.clusterName);
    const { talosVersion, kubernetesVersion, contract } = parseVersions(p, raw);
    const image = parseImage(p, raw.image, talosVersion, contract);
    const { gateway: gatewayValue, ...networkFields } = parseNetworkFields(p, objects.network);
    const controlPlanes = pool(p, "controlPlanes", objects.controlPlanes, DEFAULTS.controlPlanes, LIMITS.controlPlanes);
    const workers = pool(p, "workers", objects.workers, DEFAULTS.workers, LIMITS.workers);
    warnEvenControlPlanes(p, controlPlanes.count);
    const gateway = checkSubnet(p, networkFields.subnet, gatewayValue, {
        controlPlanes: controlPlanes.count, workers: workers.count,
    });
    const network = { ...networkFields, gateway };
    const ports = parsePorts(p, objects.ports);
    const patchLists = parsePatchLists(p, objects.configPatches);
    const storage = parseStorage(p, objects.storage);
    const registryMirrors = parseRegistryMirrors(p, raw.registryMirrors);
    const registryCache = {
        enabled: bool(p, "registryCache.enabled", objects.registryCache.enabled, DEFAULTS.registryCache.enabled),
    };
    if (registryCache.enabled) {
        checkCacheAddresses(p, { subnet: network.subnet, gateway, workers: workers.count });
        checkCachePorts(p, ports, PORT_KEYS);
    }
    const timeouts = parseTimeouts(p, objects.timeouts);
    const importedSecrets = raw.secretsFile === undefined ? undefined : readSecretsFile(p, raw.secretsFile, options.io);

    // The patches are tried on the best spec there is: the defaults stand in for keys that are
    // wrong, so a patch's own problems are reported beside theirs, and theirs are not repeated.
    const target = patchTarget(
        { clusterName, talosVersion, kubernetesVersion, network, ports, storage, workers, registryMirrors, registryCache }, contract);
    checkPatchesApply(p, target, patchLists);
    checkClusterNetworks(p, target, patchLists, network.subnet);
    if (p.errors.length > 0) throw new ConfigError(p.errors, p.notes, p.warnings);
    const spec: ClusterSpec = {
        clusterName, talosVersion, kubernetesVersion,
        ...(kubernetesFollowsTalos(raw) ? { kubernetesFollowsTalos: true } : {}),
        image, network, controlPlanes, workers, ports,
        configPatches: {
            all: parsedPatches(patchLists.all),
            controlPlane: parsedPatches(patchLists.controlPlane),
            worker: parsedPatches(patchLists.worker),
        },
        storage, registryMirrors, registryCache, timeouts,
        ...(importedSecrets ? { importedSecrets } : {}),
    };
    return { spec, warnings: p.warnings };
}

/**
 * The spec the patches are tried on, with a default for each key that is wrong (and reported);
 * undefined when talosVersion is not of a supported minor: there is no config to patch.
 */
function patchTarget(spec: MachineConfigSpec, contract: VersionContract | undefined): MachineConfigSpec | undefined {
    if (contract === undefined) return undefined;
    // A talosVersion that is no release (v1.8.99) is checked as its minor's latest.
    const talosVersion = isTalosRelease(spec.talosVersion) ? spec.talosVersion : contract.latestRelease;
    const subnet = "error" in parseCidr(spec.network.subnet) ? DEFAULTS.network.subnet : spec.network.subnet;
    return { ...spec, talosVersion, network: { subnet } };
}

/** Anything in the namespace that is not one of CONFIG_KEYS is a typo. */
function checkTopLevelKeys(p: Problems, raw: RawConfig): void {
    for (const key of Object.keys(raw)) {
        if (raw[key] === undefined || (CONFIG_KEYS as readonly string[]).includes(key)) continue;
        const value = configValue(raw[key]);
        // "network.subnet" at the top level: `pulumi config set` without --path.
        const path = isFieldPath(key) ? key : undefined;
        const meant = path ?? nearestKey(key, CONFIG_KEYS) ?? fieldNamed(key);
        const hint = path === undefined
            ? didYouMean(meant)
            : `; did you mean the path ${ourKey(path)} (set with --path)?`;
        // A top-level key, even one with a dot in its name: removed without --path.
        const removal = p.rmFullKey(ourKey(key));
        p.add(key, value, `unknown key; the keys are ${CONFIG_KEYS.join(", ")}${hint}`,
            meant === undefined ? removal : moveFix(p, removal, meant, value));
    }
}

function isFieldPath(key: string): boolean {
    const [object, field, ...rest] = key.split(".");
    if (rest.length > 0 || field === undefined || !(object in OBJECT_KEYS)) return false;
    return (OBJECT_KEYS[object as ObjectKey] as readonly string[]).includes(field);
}

/** `subnet` → `network.subnet`: a field written at the top level, when only one object has it. */
function fieldNamed(key: string): string | undefined {
    const owners = (Object.keys(OBJECT_KEYS) as ObjectKey[]).flatMap((object) => {
        const field = nearestKey(key, OBJECT_KEYS[object]);
        return field === undefined ? [] : [`${object}.${field}`];
    });
    return owners.length === 1 ? owners[0] : undefined;
}

function didYouMean(key: string | undefined): string {
    return key === undefined ? "" : `; did you mean ${ourKey(key)}?`;
}

function parseClusterName(p: Problems, value: string | undefined): string {
    const clusterName = value ?? DEFAULTS.clusterName;
    if (!DNS_LABEL.test(clusterName) || clusterName.length > LIMITS.clusterNameLength) {
        p.add("clusterName", clusterName,
            `must be a DNS label of at most ${LIMITS.clusterNameLength} characters (lower-case letters, digits ` +
                `and '-', starting and ending with a letter or digit), since node names are <clusterName>-worker-NN`,
            p.set("clusterName", proposeDnsLabel(clusterName, LIMITS.clusterNameLength) ?? DEFAULTS.clusterName));
        return DEFAULTS.clusterName;
    }
    return clusterName;
}

/**
 * talosVersion and kubernetesVersion, which must be a pair Talos supports. A Kubernetes version
 * that is wrong is replaced by the Talos minor's default, so what depends on it is still checked.
 */
function parseVersions(
    p: Problems,
    raw: RawConfig,
): { talosVersion: string; kubernetesVersion: string; contract?: VersionContract } {
    const talosVersion = raw.talosVersion ?? DEFAULTS.talosVersion;
    const contract = versionContract(talosVersion);
    if (!contract) {
        const parsed = parseTalosVersion(talosVersion);
        const minors = TALOS_MINORS.map((m) => `v${m}`).join(", ");
        p.add("talosVersion", talosVersion, parsed
            ? `Talos v${parsed.major}.${parsed.minor} is not supported; supported minors are ${minors}`
            : `is not a Talos release such as ${DEFAULTS.talosVersion}`,
        p.set("talosVersion", proposeTalosVersion(talosVersion)));
    } else if (!isTalosRelease(talosVersion)) {
        // The minor is known, so what depends on its contract is still checked.
        p.add("talosVersion", talosVersion,
            `is not a Talos release: v${contract.minor} has v${contract.minor}.0 to ${contract.latestRelease}, ` +
                "its latest",
            p.set("talosVersion", contract.latestRelease));
    }

    const rawKubernetes = raw.kubernetesVersion ?? defaultKubernetesVersion(raw.talosVersion);
    const kubernetesVersion = rawKubernetes.replace(/^v/, "");
    const fallback = contract?.kubernetes.default ?? DEFAULTS.kubernetesVersion;
    if (!KUBERNETES_VERSION.test(rawKubernetes)) {
        p.add("kubernetesVersion", rawKubernetes, `is not a Kubernetes release such as ${DEFAULTS.kubernetesVersion}`,
            p.set("kubernetesVersion", proposeKubernetesVersion(rawKubernetes, contract) ?? fallback));
        return { talosVersion, kubernetesVersion: fallback, ...(contract ? { contract } : {}) };
    }
    if (contract && !isSupportedKubernetes(contract, kubernetesVersion)) {
        p.add("kubernetesVersion", rawKubernetes,
            `Talos ${talosVersion} supports Kubernetes ${contract.kubernetes.min} to ${contract.kubernetes.max} ` +
                `(its default is ${contract.kubernetes.default})`,
            p.set("kubernetesVersion", contract.kubernetes.default));
        return { talosVersion, kubernetesVersion: fallback, contract };
    }
    return { talosVersion, kubernetesVersion, ...(contract ? { contract } : {}) };
}

/**
 * The release nearest to what was written: itself with a "v", else the latest of its minor, or of
 * the oldest or the newest minor.
 */
function proposeTalosVersion(value: string): string {
    const withV = value.startsWith("v") ? value : `v${value}`;
    if (isTalosRelease(withV)) return withV;
    return contractFor(nearestTalosMinor(parseTalosVersion(withV))).latestRelease;
}

/** `1.31` → `1.31.0` when the Talos minor runs 1.31; undefined when nothing near it is a release that fits. */
function proposeKubernetesVersion(value: string, contract: VersionContract | undefined): string | undefined {
    const minor = /^v?([0-9]+\.[0-9]+)$/.exec(value);
    if (minor === null) return undefined;
    const release = `${minor[1]}.0`;
    return contract === undefined || isSupportedKubernetes(contract, release) ? release : undefined;
}

/**
 * The node image: set, or derived from talosVersion. An image whose tag is another Talos release
 * than talosVersion is refused: the machine configs are rendered for talosVersion's contract and
 * checked against it, so the nodes would boot a config made for another release. An image by
 * digest only, or with a tag that is not a version (a local build), is taken as talosVersion's.
 */
function parseImage(
    p: Problems,
    value: string | undefined,
    talosVersion: string,
    contract: VersionContract | undefined,
): string {
    if (value === undefined) return contract ? talosImage(talosVersion) : "";
    if (!/^[^\s]+$/.test(value)) {
        p.add("image", value, `must be an image reference such as ${talosImage(DEFAULTS.talosVersion)}`,
            `${p.rm("image")} (the image then follows talosVersion)`);
        return value;
    }
    const tagged = imageTalosVersion(value);
    // With talosVersion wrong there is nothing to compare with; that problem is reported already.
    if (tagged === undefined || !isTalosRelease(talosVersion)) return value;
    if (sameTalosRelease(tagged.tag, talosVersion)) return value;
    const followVersion = tagged.repository === TALOS_IMAGE_REPOSITORY
        ? `${p.rm("image")} to run ${talosVersion}`
        : `${p.set("image", `${tagged.repository}:${talosVersion}`)} to run ${talosVersion}`;
    const runImage = isTalosRelease(tagged.tag) ? `${p.set("talosVersion", tagged.tag)} to run that release, or ` : "";
    p.add("image", value,
        `is Talos ${tagged.tag} but talosVersion is ${talosVersion}: the machine configs are made for talosVersion, ` +
            "so the image must be that release (an image by digest, or with a tag that is not a version, " +
            "such as a local build, is not compared)",
        `${runImage}${followVersion}`);
    return value;
}

/** The network's own fields; the gateway is checked against the subnet once the node count is known. */
function parseNetworkFields(
    p: Problems,
    net: Record<string, unknown>,
): { name: string; subnet: string; mtu: number; gateway: unknown } {
    let name = str(p, "network.name", net.name, DEFAULTS.network.name);
    if (!DOCKER_NAME.test(name)) {
        p.add("network.name", name, "must be a Docker network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
            p.set("network.name", proposeDockerName(name) ?? DEFAULTS.network.name));
        name = DEFAULTS.network.name;
    }
    return {
        name,
        subnet: str(p, "network.subnet", net.subnet, DEFAULTS.network.subnet),
        mtu: int(p, "network.mtu", net.mtu, DEFAULTS.network.mtu, LIMITS.mtu.min, LIMITS.mtu.max),
        gateway: net.gateway,
    };
}

/** The host ports of `ports`, each published for one in-container port (model/plan.ts CONTAINER_PORTS). */
export const PORT_KEYS = ["kubernetesApi", "talosApi", "http", "https"] as const;

/** The host ports: each from 1 to 65535, all four different; a fix proposes a port none of the others use. */
function parsePorts(p: Problems, po: Record<string, unknown>): ClusterSpec["ports"] {
    let bindAddress = str(p, "ports.bindAddress", po.bindAddress, DEFAULTS.ports.bindAddress);
    if (parseIPv4(bindAddress) === undefined) {
        p.add("ports.bindAddress", bindAddress,
            "must be an IPv4 address of this host, such as 127.0.0.1 (or 0.0.0.0 for all)",
            p.set("ports.bindAddress", DEFAULTS.ports.bindAddress));
        bindAddress = DEFAULTS.ports.bindAddress;
    }
    const ports: ClusterSpec["ports"] = { ...DEFAULTS.ports, bindAddress };
    const outOfRange: (typeof PORT_KEYS)[number][] = [];
    for (const key of PORT_KEYS) {
        const value = po[key];
        if (value === undefined) continue;
        if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535) ports[key] = value;
        else outOfRange.push(key);
    }
    const taken = PORT_KEYS.map((key) => ports[key]);
    for (const key of outOfRange) {
        const others = PORT_KEYS.filter((k) => k !== key).map((k) => ports[k]);
        p.add(`ports.${key}`, po[key], "must be an integer from 1 to 65535",
            p.set(`ports.${key}`, nextFreePort(DEFAULTS.ports[key], others)));
    }
    // A port already reported keeps its default, which proves nothing about a collision.
    const seen = new Map<number, string>();
    for (const key of PORT_KEYS.filter((k) => !outOfRange.includes(k))) {
        const other = seen.get(ports[key]);
        if (other) {
            p.add(`ports.${key}`, ports[key], `collides with ports.${other}; each host port must be different`,
                p.set(`ports.${key}`, nextFreePort(ports[key] + 1, taken)));
        }
        seen.set(ports[key], key);
    }
    return ports;
}

function parseStorage(p: Problems, st: Record<string, unknown>): ClusterSpec["storage"] {
    const storage = {
        enabled: bool(p, "storage.enabled", st.enabled, DEFAULTS.storage.enabled),
        path: str(p, "storage.path", st.path, DEFAULTS.storage.path),
        isDefault: bool(p, "storage.isDefault", st.isDefault, DEFAULTS.storage.isDefault),
        reclaimPolicy: DEFAULTS.storage.reclaimPolicy as ReclaimPolicy,
    };
    if (!isValidStoragePath(storage.path)) {
        p.add("storage.path", storage.path, `must be ${STORAGE_PATH_RULE} (the rest of a Talos node is read-only)`,
            p.set("storage.path", normalizeStoragePath(storage.path) ?? DEFAULTS.storage.path));
        storage.path = DEFAULTS.storage.path;
    }
    const reclaim = st.reclaimPolicy ?? DEFAULTS.storage.reclaimPolicy;
    if (reclaim === "Delete" || reclaim === "Retain") storage.reclaimPolicy = reclaim;
    else {
        const meant = typeof reclaim === "string" ? nearestKey(reclaim, ["Delete", "Retain"]) : undefined;
        p.add("storage.reclaimPolicy", reclaim, "must be Delete or Retain",
            p.set("storage.reclaimPolicy", meant ?? DEFAULTS.storage.reclaimPolicy));
    }
    return storage;
}

function parseTimeouts(p: Problems, to: Record<string, unknown>): ClusterSpec["timeouts"] {
    return {
        bootstrap: duration(p, "timeouts.bootstrap", to.bootstrap, DEFAULTS.timeouts.bootstrap),
        ready: duration(p, "timeouts.ready", to.ready, DEFAULTS.timeouts.ready),
        apply: duration(p, "timeouts.apply", to.apply, DEFAULTS.timeouts.apply),
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
        const value = configValue(text);
        if (!isPlainObject(value)) {
            const example = p.set(`${key}.${OBJECT_KEYS[key][0]}`, "<value>");
            p.add(key, value, `must be an object with the keys ${OBJECT_KEYS[key].join(", ")}`,
                `${p.rm(key)}, then set each field on its own (${example})`);
            continue;
        }
        for (const field of Object.keys(value)) {
            if (!(OBJECT_KEYS[key] as readonly string[]).includes(field)) {
                const meant = nearestKey(field, OBJECT_KEYS[key]);
                const target = meant === undefined ? undefined : `${key}.${meant}`;
                p.add(`${key}.${field}`, value[field],
                    `unknown key; ${key} has ${OBJECT_KEYS[key].join(", ")}${didYouMean(target)}`,
                    unknownKeyFix(p, `${key}.${field}`, value[field], target));
            }
        }
        result[key] = value;
    }
    return result;
}

function str(p: Problems, key: string, value: unknown, fallback: string): string {
    if (value === undefined) return fallback;
    if (typeof value === "string" && value.length > 0) return value;
    p.add(key, value, "must be a non-empty string", p.set(key, fallback));
    return fallback;
}

function bool(p: Problems, key: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value === "boolean") return value;
    p.add(key, value, "must be true or false", p.set(key, proposeBoolean(value) ?? fallback));
    return fallback;
}

/** An integer from min to max; a fix proposes the nearest bound for a number outside them. */
function int(p: Problems, key: string, value: unknown, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
    const nearest = typeof value === "number" && Number.isFinite(value)
        ? Math.min(max, Math.max(min, Math.round(value)))
        : fallback;
    p.add(key, value, `must be an integer from ${min} to ${max}`, p.set(key, nearest));
    return fallback;
}

function duration(p: Problems, key: string, value: unknown, fallback: string): string {
    if (value === undefined) return fallback;
    const ms = typeof value === "string" ? parseDuration(value) : undefined;
    if (ms !== undefined && ms >= LIMITS.timeoutMs.min && ms <= LIMITS.timeoutMs.max) return value as string;
    p.add(key, value, 'must be a duration from 10s to 24h, such as "90s", "10m" or "1h30m"', p.set(key, fallback));
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
        if (typeof value.cpus === "number" && value.cpus >= limits.cpus && inHundredths(value.cpus)) {
            cpus = declarableCpus(p, `${key}.cpus`, value.cpus, limits.cpus) ? value.cpus : fallback.cpus;
        } else {
            const nearest = typeof value.cpus === "number"
                ? Math.max(limits.cpus, Math.round(value.cpus * 100) / 100)
                : fallback.cpus;
            p.add(`${key}.cpus`, value.cpus,
                `must be a number of CPUs of at least ${limits.cpus} (Talos' minimum for a ${what}), in steps of 0.01`,
                p.set(`${key}.cpus`, nearest));
        }
    }
    let memoryMiB = fallback.memoryMiB;
    if (value.memoryMiB !== undefined) {
        if (typeof value.memoryMiB === "number" && Number.isInteger(value.memoryMiB) && value.memoryMiB >= limits.memoryMiB) {
            memoryMiB = value.memoryMiB;
        } else {
            const nearest = typeof value.memoryMiB === "number"
                ? Math.max(limits.memoryMiB, Math.ceil(value.memoryMiB))
                : fallback.memoryMiB;
            p.add(`${key}.memoryMiB`, value.memoryMiB,
                `must be an integer of at least ${limits.memoryMiB} (Talos' minimum for a ${what}, in MiB)`,
                p.set(`${key}.memoryMiB`, nearest));
        }
    }
    return { count, cpus, memoryMiB };
}

/** A number of hundredths, as written in decimal: 1.15 * 100 is 114.99999999999999 in binary floating point. */
function inHundredths(value: number): boolean {
    return Number.isFinite(value) && Math.abs(value * 100 - Math.round(value * 100)) < 1e-6;
}

/**
 * A CPU count the node container can be declared with as the Docker provider reads it back
 * (./dockercpus.ts): one whose read-back is rounded (10.05 is stored as "10.1") is refused, since
 * the node would get other CPUs than asked or be replaced on every `pulumi up`.
 */
function declarableCpus(p: Problems, key: string, cpus: number, min: number): boolean {
    if (declaredCpus(cpus) !== undefined) return true;
    const { below, above } = nearestDeclarableCpus(cpus);
    const choices = [below, above].filter((c): c is number => c !== undefined && c >= min);
    const nearest = [...choices].sort((a, b) => Math.abs(a - cpus) - Math.abs(b - cpus))[0] ?? Math.ceil(cpus);
    p.add(key, cpus,
        `the Docker provider stores ${cpus} CPUs as "${cpusReadBack(nanoCpus(cpus))}" (its decimal format rounds it), ` +
            `so the node would get other CPUs or be replaced on every pulumi up; use ${choices.join(" or ")}`,
        p.set(key, nearest));
    return false;
}

/**
 * Warns of an even control-plane count. Allowed, as Talos allows it, but it buys no fault
 * tolerance: etcd needs a majority of its members, so 2 control planes survive no failure (as 1)
 * and 4 survive one (as 3), with one more node that can fail. Not refused: it is a step on the
 * way from one odd count to the next, and a way to watch etcd lose its quorum.
 */
function warnEvenControlPlanes(p: Problems, count: number): void {
    if (count % 2 !== 0) return;
    const tolerated = Math.floor((count - 1) / 2);
    const survives = tolerated === 0 ? "no failure" : `${tolerated} failure${tolerated === 1 ? "" : "s"}`;
    const odd = [count - 1, count + 1].filter((n) => n <= LIMITS.controlPlanes.count.max);
    p.warn("controlPlanes.count", count,
        `an even count adds no fault tolerance: etcd needs a majority (${count / 2 + 1} of ${count}) to keep working, ` +
            `so ${count} control planes survive ${survives}, the same as ${count - 1}; use ${odd.join(" or ")}`,
        p.set("controlPlanes.count", odd[odd.length - 1]));
}

/**
 * The longest prefix whose block holds every node of `counts` at its address (model/plan.ts
 * nodeOffset) between the gateway's .1 and the broadcast address.
 */
function prefixFor(counts: NodeCounts): number {
    let prefix = 30;
    while (prefix > 0 && !subnetLayoutFits(2 ** (32 - prefix), counts)) prefix--;
    return prefix;
}

function describeCounts(counts: NodeCounts): string {
    const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;
    return `${plural(counts.controlPlanes, "control plane")} and ${plural(counts.workers, "worker")}`;
}

/** The addresses the nodes take, as ranges: the first control plane and the workers, then the other control planes. */
function nodeRanges(cidr: Cidr, counts: NodeCounts): string {
    const first = hostAddress(cidr, FIRST_NODE_OFFSET);
    const low = counts.workers === 0 ? first : `${first}-${nodeAddress(cidr, "worker", counts.workers)}`;
    if (counts.controlPlanes < 2) return low;
    return `${low} and ${nodeAddress(cidr, "controlplane", counts.controlPlanes)}-${nodeAddress(cidr, "controlplane", 2)}`;
}

/**
 * Checks that the subnet holds the gateway and every node's address (model/plan.ts nodeOffset:
 * the first control plane at .2, workers from .3 up, the other control planes from the top down);
 * returns the gateway (default: the first host address).
 */
function checkSubnet(p: Problems, subnet: string, gatewayValue: unknown, counts: NodeCounts): string {
    const cidr = parseCidr(subnet);
    if ("error" in cidr) {
        p.add("network.subnet", subnet, cidr.error, p.set("network.subnet", proposeSubnet(subnet, counts)));
        return typeof gatewayValue === "string" ? gatewayValue : "";
    }
    const fits = subnetLayoutFits(cidr.size, counts);
    if (!fits) {
        const prefix = prefixFor(counts);
        p.add("network.subnet", subnet,
            `too small for ${describeCounts(counts)}: it needs the network, gateway and broadcast addresses and one ` +
                "for each node (the first control plane .2, the workers from .3 up, the other control planes from " +
                `the top down); use a /${prefix} or larger`,
            p.set("network.subnet", blockOf(cidr.network, prefix)));
    }
    if (gatewayValue === undefined) return hostAddress(cidr, 1);
    const gateway = typeof gatewayValue === "string" ? parseIPv4(gatewayValue) : undefined;
    const useFirstHost = `${p.rm("network.gateway")} (the gateway is then ${hostAddress(cidr, 1)})`;
    if (gateway === undefined || !cidrContains(cidr, gateway)) {
        p.add("network.gateway", gatewayValue, `must be an IPv4 address inside ${subnet}`, useFirstHost);
        return String(gatewayValue);
    }
    const offset = gateway - cidr.network;
    const node = fits ? nodeSlots(cidr.size, counts).find((s) => s.offset === offset) : undefined;
    if (offset === 0 || offset === cidr.size - 1) {
        p.add("network.gateway", gatewayValue, `is the network or broadcast address of ${subnet}`, useFirstHost);
    } else if (node !== undefined) {
        p.add("network.gateway", gatewayValue,
            `is the address of node ${nodeSuffix(node.role, node.index)}; the nodes take ${nodeRanges(cidr, counts)}: ` +
                `use ${hostAddress(cidr, 1)} or an address outside them`,
            useFirstHost);
    } else if (fits) {
        warnGatewayInTheWay(p, gatewayValue, cidr, offset, useFirstHost);
    }
    return String(gatewayValue);
}

/**
 * A gateway where a further control plane would go (model/plan.ts nodeOffset: from the top of the
 * subnet down) stops controlPlanes.count from ever reaching it, and a running cluster's network
 * cannot take a new gateway in place (the Docker network would be replaced under its containers).
 */
function warnGatewayInTheWay(p: Problems, gatewayValue: unknown, cidr: Cidr, offset: number, fix: string): void {
    const most = { controlPlanes: LIMITS.controlPlanes.count.max, workers: 0 };
    const slot = nodeSlots(cidr.size, most).find((s) => s.role === "controlplane" && s.offset === offset);
    if (slot === undefined) return;
    p.warn("network.gateway", gatewayValue,
        `is the address control plane ${nodeSuffix(slot.role, slot.index)} takes: controlPlanes.count can then never ` +
            `go above ${slot.index - 1}, and a running cluster's network cannot change its gateway`,
        fix);
}

/** The block of `prefix` bits that holds `address`, as CIDR text. */
function blockOf(address: number, prefix: number): string {
    const size = 2 ** (32 - prefix);
    return `${formatIPv4(address - (address % size))}/${prefix}`;
}

/** A subnet near what was written: its network with the host bits cleared, a /24 (or larger) for a bare address. */
function proposeSubnet(text: string, counts: NodeCounts): string {
    const [addressText, prefixText] = text.split("/");
    const address = parseIPv4(addressText);
    if (address === undefined) return DEFAULTS.network.subnet;
    const written = prefixText !== undefined && /^[0-9]{1,2}$/.test(prefixText) ? Number(prefixText) : 24;
    return blockOf(address, Math.min(written, prefixFor(counts), 32));
}

/** Reads a talosctl secrets.yaml; its problems name YAML paths and never echo a secret. */
function readSecretsFile(
    p: Problems,
    path: string,
    io: ConfigIo | undefined,
): { path: string; bundle: SecretsBundle } | undefined {
    const generate = `${p.rm("secretsFile")} to generate new secrets`;
    const file = shellWord(path);
    let text: string;
    try {
        if (!io) throw new Error("no file reader was given");
        text = io.readFile(path);
    } catch (err) {
        p.add("secretsFile", path,
            `cannot be read (${(err as Error).message}); ` +
                "give the path of a talosctl secrets.yaml, relative to the project directory",
            `write it (talosctl gen secrets -o ${file}), or ${generate}`);
        return undefined;
    }
    try {
        return { path, bundle: parseSecretsYaml(text) };
    } catch (err) {
        if (!(err instanceof SecretsFileError)) throw err;
        p.add("secretsFile", path, `is not a usable talosctl secrets bundle: ${err.problems.join("; ")}`,
            `write it again (talosctl gen secrets --force -o ${file} for new secrets, or ` +
                `pulumi stack output talosSecrets --show-secrets > ${file} for this stack's own), or ${generate}`);
        return undefined;
    }
}
