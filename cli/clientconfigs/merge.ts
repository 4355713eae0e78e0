// Merging the cluster's kubeconfig and talosconfig into the user's own files, as `kind` and
// `talosctl kubeconfig` do: our cluster, user and context replace entries of the same name,
// everything else (other contexts, comments, order) stays as it was. Pure: text in, text out.
import { Document, isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from "yaml";

export interface MergeResult {
    text: string;
    /** false when the file already held exactly this: nothing to write */
    changed: boolean;
    /** the context now holding our cluster */
    context: string;
}

export interface MergeOptions {
    /** make our context the current one (it also becomes current when none is set) */
    switchContext: boolean;
}

/** A file that is not what it should be: we never overwrite it. */
export class MergeError extends Error {}

function load(text: string | undefined, what: string, empty: () => object): Document {
    if (text === undefined || text.trim() === "") return new Document(empty());
    const doc = parseDocument(text);
    if (doc.errors.length > 0) {
        const { linePos } = doc.errors[0];
        throw new MergeError(`is not valid YAML${linePos ? ` (line ${linePos[0].line}, column ${linePos[0].col})` : ""}; fix or move it, then run again`);
    }
    if (!isMap(doc.contents)) throw new MergeError(`is not a ${what} (not a YAML map); fix or move it, then run again`);
    return doc;
}

const sameText = (doc: Document, before: string | undefined) => {
    const text = doc.toString({ lineWidth: 0 });
    return { text, changed: text !== (before ?? "") };
};

interface Named {
    name: string;
}

/** Replaces the entry named like `item` in the list at `key`, or appends it. */
function upsertNamed(doc: Document, key: string, item: Named): void {
    let list = doc.get(key);
    if (!isSeq(list)) {
        list = new YAMLSeq();
        doc.set(key, list);
    }
    const seq = list as YAMLSeq;
    const node = doc.createNode(item);
    const index = seq.items.findIndex((entry) => isMap(entry) && (entry as YAMLMap).get("name") === item.name);
    if (index >= 0) seq.items[index] = node;
    else seq.items.push(node);
}

/** A list entry of a kubeconfig (a cluster, user or context), as it is in the file. */
interface Entry extends Named {
    [key: string]: unknown;
}

/** The entry of `list` named `name`; the cluster's config was checked before (loadKubeconfig), so it is there. */
function entryNamed(source: Record<string, unknown>, list: "clusters" | "users" | "contexts", name: unknown): Entry {
    const entries = source[list];
    const found = Array.isArray(entries) ? entries.find((e): e is Entry => isRecord(e) && e.name === name) : undefined;
    if (found === undefined) throw new Error(`the cluster's kubeconfig has no ${list} entry named ${JSON.stringify(name)}`);
    return found;
}

/**
 * Merges the current context of `ours` (a kubeconfig the caller checked with loadKubeconfig)
 * with its cluster and user into `existing`; the rest of `ours`, if any, is not ours to add.
 */
export function mergeKubeconfig(existing: string | undefined, ours: string, options: MergeOptions): MergeResult {
    const source: unknown = parseDocument(ours).toJS();
    if (!isRecord(source)) throw new Error("the cluster's kubeconfig is not a YAML mapping");
    const context = source["current-context"];
    const contextEntry = entryNamed(source, "contexts", context);
    const spec = isRecord(contextEntry.context) ? contextEntry.context : {};
    const doc = load(existing, "kubeconfig", () => ({
        apiVersion: "v1", kind: "Config", preferences: {}, clusters: [], users: [], contexts: [], "current-context": "",
    }));
    upsertNamed(doc, "clusters", entryNamed(source, "clusters", spec.cluster));
    upsertNamed(doc, "users", entryNamed(source, "users", spec.user));
    upsertNamed(doc, "contexts", contextEntry);
    if (options.switchContext || !doc.get("current-context")) doc.set("current-context", context);
    return { ...sameText(doc, existing), context: contextEntry.name };
}

/** Merges the current context of `ours` (a talosconfig the caller checked with parseTalosconfig) into `existing`. */
export function mergeTalosconfig(existing: string | undefined, ours: string, options: MergeOptions): MergeResult {
    const source: unknown = parseDocument(ours).toJS();
    const context = isRecord(source) ? source.context : undefined;
    const contexts = isRecord(source) && isRecord(source.contexts) ? source.contexts : {};
    if (typeof context !== "string" || !isRecord(contexts[context])) throw new Error("the cluster's talosconfig has no current context");
    const doc = load(existing, "talosconfig", () => ({ context: "", contexts: {} }));
    const found = doc.get("contexts");
    const target = isMap(found) ? found : new YAMLMap();
    if (target !== found) doc.set("contexts", target);
    target.set(context, doc.createNode(contexts[context]));
    if (options.switchContext || !doc.get("context")) doc.set("context", context);
    return { ...sameText(doc, existing), context };
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
