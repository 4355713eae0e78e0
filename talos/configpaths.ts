// Where two machine configs differ, as dotted paths and never values: `machine.nodeLabels.tier`,
// `cluster.apiServer.image`, `machine.sysctls["vm.max_map_count"]`, `HostnameConfig.auto`. A
// config's values include keys and tokens, so what a change touches is said by path alone.
// The trees are compared as machined's decoded structs see them (talos/applymode.ts says why).

import { isPlainObject, parseYamlDocuments } from "./yaml";

/** `machine.sysctls["vm.max_map_count"]`: keys that are not plain words are quoted. */
export function childPath(path: string, key: string): string {
    if (/^[A-Za-z0-9_-]+$/.test(key)) return path === "" ? key : `${path}.${key}`;
    return `${path}[${JSON.stringify(key)}]`;
}

/** The path prefix of a document: none for v1alpha1, its kind (and name) for the typed ones. */
export function documentPath(doc: Record<string, unknown>): string {
    if (typeof doc.kind !== "string") return "";
    return typeof doc.name === "string" ? `${doc.kind}[${JSON.stringify(doc.name)}]` : doc.kind;
}

/**
 * The tree as a decoded Go struct sees it, for comparison: a key whose value is null is a nil
 * pointer, slice or map, the same as an absent key. An empty map or list stays distinct from an
 * absent one, as a non-nil empty Go map or slice is not DeepEqual to nil.
 */
export function normaliseTree(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(normaliseTree);
    if (!isPlainObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) out[key] = normaliseTree(v);
    }
    return out;
}

/** The paths where two normalised trees differ: the deepest mapping key or list index that does. */
export function differingPaths(a: unknown, b: unknown, path: string): string[] {
    if (isPlainObject(a) && isPlainObject(b)) {
        const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
        return keys.flatMap((key) => differingPaths(a[key], b[key], childPath(path, key)));
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
        return a.flatMap((item, i) => differingPaths(item, b[i], `${path}[${i}]`));
    }
    // Scalars as the YAML parser gives them (core schema: strings, numbers, booleans).
    return Object.is(a, b) ? [] : [path === "" ? "(document)" : path];
}

/** A config text that is not YAML: the message gives a position, never the text. */
export class ConfigPathsInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ConfigPathsInputError";
    }
}

/** What a document is called in a path list when it is added or removed whole. */
const V1ALPHA1_DOCUMENT = "(v1alpha1 document)";

/**
 * Every path at which config text `next` differs from `current`, in every document: the
 * v1alpha1 one by its fields, the typed ones (HostnameConfig, RegistryMirrorConfig, … from
 * v1.12) under their kind and name; a document only one side has is named whole. [] when the
 * two differ only in layout, comments or quoting.
 */
export function changedConfigPaths(current: string, next: string): string[] {
    const before = documentsByPath(current, "the running config");
    const after = documentsByPath(next, "the new config");
    const names = [...new Set([...before.keys(), ...after.keys()])].sort();
    return names.flatMap((name) => {
        const a = before.get(name);
        const b = after.get(name);
        if (a === undefined || b === undefined) return [name === "" ? V1ALPHA1_DOCUMENT : name];
        return differingPaths(normaliseTree(a), normaliseTree(b), name);
    });
}

/** The documents of a text by their path prefix; a repeated prefix gets its position appended. */
function documentsByPath(text: string, what: string): Map<string, Record<string, unknown>> {
    const { documents, problems } = parseYamlDocuments(text);
    if (problems.length > 0) {
        const first = problems[0];
        const at = first.line === undefined ? "" : ` at line ${first.line}`;
        throw new ConfigPathsInputError(`${what} is not valid YAML${at} (${first.code})`);
    }
    const out = new Map<string, Record<string, unknown>>();
    documents.forEach((doc, i) => {
        if (!isPlainObject(doc)) return;
        const name = documentPath(doc);
        out.set(out.has(name) ? `${name}#${i + 1}` : name, doc);
    });
    return out;
}
