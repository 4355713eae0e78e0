// The local-path-provisioner objects, rendered from the pinned manifest for one stack's storage
// settings, and the Pulumi resources that apply them (name, type, dependencies). Pure: no Pulumi
// imports, so it is tested without mocks.
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
// How every message about the manifest begins.
const MANIFEST = "local-path-provisioner manifest";

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
            `${MANIFEST}: Namespace "${STORAGE_NAMESPACE}" lacks the label ` +
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

/**
 * The kinds the manifest may hold, each with its one apiVersion and the top-level fields of the
 * typed @pulumi/kubernetes resource for it (its Args interface, at 4.34.2: e.g.
 * `core/v1/namespace.d.ts` NamespaceArgs). A typed resource sets apiVersion and kind itself and
 * drops any other field without a word, so an object outside this table is refused here; a kind
 * added to it also needs its case in components/storage.ts, which the compiler asks for.
 */
const STORAGE_KINDS = {
    Namespace: { apiVersion: "v1", fields: ["metadata", "spec"] },
    ServiceAccount: {
        apiVersion: "v1",
        fields: ["metadata", "automountServiceAccountToken", "imagePullSecrets", "secrets"],
    },
    ConfigMap: { apiVersion: "v1", fields: ["metadata", "binaryData", "data", "immutable"] },
    Role: { apiVersion: "rbac.authorization.k8s.io/v1", fields: ["metadata", "rules"] },
    ClusterRole: { apiVersion: "rbac.authorization.k8s.io/v1", fields: ["metadata", "aggregationRule", "rules"] },
    RoleBinding: { apiVersion: "rbac.authorization.k8s.io/v1", fields: ["metadata", "roleRef", "subjects"] },
    ClusterRoleBinding: { apiVersion: "rbac.authorization.k8s.io/v1", fields: ["metadata", "roleRef", "subjects"] },
    Deployment: { apiVersion: "apps/v1", fields: ["metadata", "spec"] },
    StorageClass: {
        apiVersion: "storage.k8s.io/v1",
        fields: [
            "metadata", "allowVolumeExpansion", "allowedTopologies", "mountOptions", "parameters", "provisioner",
            "reclaimPolicy", "volumeBindingMode",
        ],
    },
} as const satisfies Record<string, { apiVersion: string; fields: readonly string[] }>;

/** A kind of Kubernetes object the StorageProvisioner declares a typed resource for. */
export type StorageKind = keyof typeof STORAGE_KINDS;

/**
 * The type token of the yaml/v2 ConfigGroup that applied the manifest before the objects became
 * typed resources. Stacks made then hold each object as that group's child.
 */
export const LEGACY_CONFIG_GROUP_TYPE = "kubernetes:yaml/v2:ConfigGroup";

/**
 * The prefix of every object's resource name: the name the ConfigGroup had, which its children's
 * names began with (see storageResourceName), kept so that those children stay the same resources.
 */
export function storageResourcePrefix(componentName: string): string {
    return `${componentName}-manifests`;
}

/** One object of the manifest as the Pulumi resource that applies it. */
export interface StorageResource {
    readonly kind: StorageKind;
    /** The object as rendered for the spec: the resource's inputs. */
    readonly object: KubeObject;
    /** Its Pulumi resource name (storageResourceName). */
    readonly name: string;
    /**
     * Its Pulumi type token, `kubernetes:<group>/<version>:<kind>` with `core` for the core group:
     * the token of the typed resource, and the one the ConfigGroup registered the object under.
     */
    readonly type: string;
    /** The names of the resources that must exist before it; each comes earlier in the list. */
    readonly dependsOn: readonly string[];
}

/**
 * The objects to apply for `spec` (renderStorageObjects) as resources named from `prefix`, in an
 * order where every resource comes after those it depends on. Throws, naming the object, when the
 * manifest holds a kind, an apiVersion or a top-level field the typed resources do not cover, an
 * object twice, or a namespaced object whose Namespace it does not define.
 */
export function storageResources(
    spec: StorageSpec,
    prefix: string,
    base: readonly KubeObject[] = loadStorageManifest(),
): StorageResource[] {
    const typed = renderStorageObjects(spec, base).map((object) => ({ object, kind: kindOf(object) }));
    const names = new Map<string, StorageKind>();
    for (const { object, kind } of typed) {
        const name = storageResourceName(prefix, object);
        if (names.has(name)) throw new Error(`${MANIFEST} holds ${describe(object)} twice`);
        names.set(name, kind);
    }
    const resources = typed.map(({ object, kind }) => ({
        kind,
        object,
        name: storageResourceName(prefix, object),
        type: typeToken(object),
        dependsOn: dependenciesOf(object, kind, prefix, names),
    }));
    return inDependencyOrder(resources);
}

/**
 * The name yaml/v2's ConfigGroup gave the child for `object`: `<prefix>:<namespace>/<name>`, or
 * `<prefix>:<name>` for a cluster-scoped object (pulumi/pulumi-kubernetes, unchanged from v4.10.0
 * to the last commit read, 94977969d of 2026-07-01: provider/pkg/provider/yaml/v2/yaml.go `register`,
 * "Manufacture a resource name"; configgroup.go `Construct` passes the group's name as the prefix).
 */
export function storageResourceName(prefix: string, object: KubeObject): string {
    const { name, namespace } = identity(object);
    return namespace === undefined ? `${prefix}:${name}` : `${prefix}:${namespace}/${name}`;
}

// What must exist first: its Namespace for a namespaced object; for the Deployment, also what its
// pods need when they start (the service account with its roles and bindings, and the config
// map they mount), so that the rollout does not wait on retries.
function dependenciesOf(
    object: KubeObject,
    kind: StorageKind,
    prefix: string,
    names: Map<string, StorageKind>,
): string[] {
    const dependencies: string[] = [];
    const { namespace } = identity(object);
    if (namespace !== undefined) {
        const namespaceName = storageResourceName(prefix, { kind: "Namespace", metadata: { name: namespace } });
        if (names.get(namespaceName) !== "Namespace") {
            throw new Error(`${MANIFEST}: ${describe(object)} is in a namespace it does not define`);
        }
        dependencies.push(namespaceName);
    }
    const before = kindsBefore(kind);
    for (const [name, other] of names) if (before.includes(other)) dependencies.push(name);
    return dependencies;
}

function kindsBefore(kind: StorageKind): readonly StorageKind[] {
    switch (kind) {
        case "Deployment":
            return ["ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap"];
        case "Namespace":
        case "ServiceAccount":
        case "ConfigMap":
        case "Role":
        case "ClusterRole":
        case "RoleBinding":
        case "ClusterRoleBinding":
        case "StorageClass":
            return [];
        default: {
            const unhandled: never = kind;
            throw new Error(`unhandled kind ${String(unhandled)}`);
        }
    }
}

// The manifest's order, except that a resource waits until everything it depends on is listed.
function inDependencyOrder(resources: StorageResource[]): StorageResource[] {
    const ordered: StorageResource[] = [];
    const placed = new Set<string>();
    let pending = resources;
    while (pending.length > 0) {
        const ready = pending.filter((r) => r.dependsOn.every((d) => placed.has(d)));
        if (ready.length === 0) {
            throw new Error(`${MANIFEST}: circular dependencies among ${pending.map((r) => r.name).join(", ")}`);
        }
        for (const r of ready) {
            ordered.push(r);
            placed.add(r.name);
        }
        pending = pending.filter((r) => !placed.has(r.name));
    }
    return ordered;
}

function kindOf(object: KubeObject): StorageKind {
    const kind = Object.keys(STORAGE_KINDS).find((k): k is StorageKind => k === object.kind);
    if (kind === undefined) {
        throw new Error(
            `${MANIFEST}: ${describe(object)} has a kind with no typed resource here ` +
                `(the kinds are ${Object.keys(STORAGE_KINDS).join(", ")}): add it to STORAGE_KINDS in ` +
                "model/storagemanifest.ts and its case to components/storage.ts",
        );
    }
    const { apiVersion, fields } = STORAGE_KINDS[kind];
    if (object.apiVersion !== apiVersion) {
        throw new Error(
            `${MANIFEST}: ${describe(object)} has apiVersion ${JSON.stringify(object.apiVersion)}, ` +
                `the typed resource is ${apiVersion}`,
        );
    }
    const known: readonly string[] = fields;
    const unknown = Object.keys(object).filter((f) => f !== "apiVersion" && f !== "kind" && !known.includes(f));
    if (unknown.length > 0) {
        throw new Error(
            `${MANIFEST}: ${describe(object)} has fields the typed resource would drop: ${unknown.join(", ")}`,
        );
    }
    return kind;
}

// yaml/v2 registered each object as `kubernetes:<apiVersion with core/ for the core group>:<kind>`
// (pulumi/pulumi-kubernetes@94977969d:sdk/go/kubernetes/yaml/v2/kinds.go `RegisterResource`), the
// token the typed resource has too.
function typeToken(object: KubeObject): string {
    const apiVersion = String(object.apiVersion);
    const groupVersion = apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`;
    return `kubernetes:${groupVersion}:${String(object.kind)}`;
}

function identity(object: KubeObject): { name: string; namespace?: string } {
    const metadata = recordOf(object, "metadata");
    if (typeof metadata.name !== "string" || metadata.name === "") {
        throw new Error(`${MANIFEST}: a ${String(object.kind)} has no metadata.name`);
    }
    if (typeof metadata.namespace !== "string" || metadata.namespace === "") return { name: metadata.name };
    return { name: metadata.name, namespace: metadata.namespace };
}

function describe(object: KubeObject): string {
    const { name, namespace } = identity(object);
    return `${String(object.kind)} "${namespace === undefined ? name : `${namespace}/${name}`}"`;
}

// The ConfigMap's config.json with every default-node path replaced by `root`.
function withRootPath(configMap: KubeObject, root: string): string {
    const where = `${MANIFEST}: ConfigMap "${CONFIG_MAP_NAME}"`;
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
        throw new Error(`${MANIFEST} has no ${kind} "${name}"${where}`);
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
