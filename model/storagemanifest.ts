// The local-path-provisioner objects, rendered from the pinned manifest for one stack's storage
// settings. Pure: no Pulumi imports, so it is tested without mocks.
//
// The manifest (manifests/local-path-provisioner.yaml) is upstream's release file with the Talos
// adaptations listed in its header; this module only sets the three values a stack may change.

import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

import { isValidStoragePath, STORAGE_PATH_RULE } from "../talos/config/storage";

/** The StorageClass the manifest defines; PVCs that name no class get it when it is the default. */
export const STORAGE_CLASS_NAME = "local-path";

/** The namespace the provisioner runs in. */
export const STORAGE_NAMESPACE = "local-path-storage";

/** Where the pinned manifest lives, relative to the project root. */
export const STORAGE_MANIFEST_PATH = path.join(__dirname, "..", "manifests", "local-path-provisioner.yaml");

export type ReclaimPolicy = "Delete" | "Retain";

/** The storage settings of a stack (its `storage` config, less `enabled`). */
export interface StorageSpec {
    /** Root directory on each node under which volumes are created; must be under /var on Talos. */
    path: string;
    /** Whether the StorageClass is the cluster's default. */
    isDefault: boolean;
    /** What happens to a volume's data when its claim is deleted. */
    reclaimPolicy: ReclaimPolicy;
}

/** A problem with one field of a StorageSpec, in the shape of pulumi.InputPropertyErrorDetails. */
export interface StorageSpecProblem {
    propertyPath: keyof StorageSpec;
    reason: string;
}

/**
 * Every problem with `spec`, empty when it is valid. The stack config is validated before any
 * resource is declared; this guards the component when it is used on its own.
 */
export function storageSpecProblems(spec: StorageSpec): StorageSpecProblem[] {
    const problems: StorageSpecProblem[] = [];
    // Talos mounts everything but /var read-only (talos@v1.9.6 local-storage guide).
    if (typeof spec.path !== "string" || !isValidStoragePath(spec.path)) {
        problems.push({
            propertyPath: "path",
            reason: `must be ${STORAGE_PATH_RULE}, got ${JSON.stringify(spec.path)}`,
        });
    }
    if (typeof spec.isDefault !== "boolean") {
        problems.push({ propertyPath: "isDefault", reason: `must be a boolean, got ${JSON.stringify(spec.isDefault)}` });
    }
    if (spec.reclaimPolicy !== "Delete" && spec.reclaimPolicy !== "Retain") {
        problems.push({ propertyPath: "reclaimPolicy", reason: `must be Delete or Retain, got ${JSON.stringify(spec.reclaimPolicy)}` });
    }
    return problems;
}

/** A Kubernetes object as parsed from YAML. */
export type KubeObject = Record<string, unknown>;

const CONFIG_MAP_NAME = "local-path-config";
const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
const PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";
// local-path-provisioner's key for "every node without an entry of its own" (upstream README).
const DEFAULT_NODE_KEY = "DEFAULT_PATH_FOR_NON_LISTED_NODES";

let cache: readonly KubeObject[] | undefined;

/**
 * The pinned manifest's objects, read and parsed once per process. The result is deeply frozen:
 * callers copy it (as renderStorageObjects does) rather than change it.
 */
export function loadStorageManifest(): readonly KubeObject[] {
    cache ??= deepFreeze(parseStorageManifest(fs.readFileSync(STORAGE_MANIFEST_PATH, "utf8")));
    return cache;
}

/** Parses multi-document YAML into its objects, skipping empty documents. */
export function parseStorageManifest(text: string, source = STORAGE_MANIFEST_PATH): KubeObject[] {
    const objects: KubeObject[] = [];
    for (const doc of YAML.parseAllDocuments(text)) {
        if (doc.errors.length > 0) {
            throw new Error(`${source}: ${doc.errors[0].message}`);
        }
        const value: unknown = doc.toJS();
        if (value === null || value === undefined) continue;
        if (!isRecord(value) || typeof value.kind !== "string") {
            throw new Error(`${source}: a document is not a Kubernetes object (no kind)`);
        }
        objects.push(value);
    }
    return objects;
}

/**
 * The objects to apply for `spec`: a deep copy of the pinned manifest with the ConfigMap's root
 * path, the StorageClass's default-class annotation and its reclaimPolicy set from `spec`.
 * `base` defaults to the pinned manifest; it is never modified.
 *
 * Throws when `base` lacks the Namespace (with its privileged Pod Security label), the ConfigMap
 * with a default node path entry, or the StorageClass: a manifest update that drops one of them
 * must fail here, not in the cluster.
 */
export function renderStorageObjects(spec: StorageSpec, base: readonly KubeObject[] = loadStorageManifest()): KubeObject[] {
    const objects = structuredClone(base) as KubeObject[];

    const namespace = find(objects, "Namespace", STORAGE_NAMESPACE);
    if (labelsOf(namespace)[PSA_ENFORCE_LABEL] !== "privileged") {
        throw new Error(
            `local-path-provisioner manifest: Namespace "${STORAGE_NAMESPACE}" lacks the label ` +
                `${PSA_ENFORCE_LABEL}: privileged (Talos enforces the baseline Pod Security level)`,
        );
    }

    const configMap = find(objects, "ConfigMap", CONFIG_MAP_NAME, STORAGE_NAMESPACE);
    recordAt(configMap, "data")["config.json"] = withRootPath(configMap, spec.path);

    const storageClass = find(objects, "StorageClass", STORAGE_CLASS_NAME);
    const metadata = recordAt(storageClass, "metadata");
    recordAt(metadata, "annotations")[DEFAULT_CLASS_ANNOTATION] = String(spec.isDefault);
    storageClass.reclaimPolicy = spec.reclaimPolicy;

    return objects;
}

// The ConfigMap's config.json with every default-node path replaced by `root`.
function withRootPath(configMap: KubeObject, root: string): string {
    const where = `local-path-provisioner manifest: ConfigMap "${CONFIG_MAP_NAME}"`;
    const text = recordOf(configMap, "data")["config.json"];
    if (typeof text !== "string") throw new Error(`${where} has no data."config.json"`);
    let config: unknown;
    try {
        config = JSON.parse(text);
    } catch (err) {
        throw new Error(`${where}: config.json is not JSON: ${(err as Error).message}`);
    }
    const entries = isRecord(config) && Array.isArray(config.nodePathMap) ? config.nodePathMap : [];
    const defaults = entries.filter((e): e is KubeObject => isRecord(e) && e.node === DEFAULT_NODE_KEY);
    if (defaults.length === 0) {
        throw new Error(`${where}: config.json has no nodePathMap entry for ${DEFAULT_NODE_KEY}`);
    }
    for (const entry of defaults) entry.paths = [root];
    return JSON.stringify(config, null, 2);
}

function find(objects: KubeObject[], kind: string, name: string, namespace?: string): KubeObject {
    const found = objects.find((o) => {
        const metadata = recordOf(o, "metadata");
        return o.kind === kind && metadata.name === name && (namespace === undefined || metadata.namespace === namespace);
    });
    if (!found) {
        const where = namespace === undefined ? "" : ` in namespace "${namespace}"`;
        throw new Error(`local-path-provisioner manifest has no ${kind} "${name}"${where}`);
    }
    return found;
}

function labelsOf(object: KubeObject): KubeObject {
    return recordOf(recordOf(object, "metadata"), "labels");
}

// The record at `key`, or an empty one (not stored) when absent.
function recordOf(object: KubeObject, key: string): KubeObject {
    const value = object[key];
    return isRecord(value) ? value : {};
}

// The record at `key`, created empty when absent so that callers may set fields on it.
function recordAt(object: KubeObject, key: string): KubeObject {
    const value = object[key];
    if (isRecord(value)) return value;
    const created: KubeObject = {};
    object[key] = created;
    return created;
}

function isRecord(value: unknown): value is KubeObject {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
    if (typeof value === "object" && value !== null) {
        for (const child of Object.values(value)) deepFreeze(child);
        Object.freeze(value);
    }
    return value;
}
