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

interface Kubeconfig {
    clusters: Named[];
    users: Named[];
    contexts: Named[];
    "current-context": string;
}

export function mergeKubeconfig(existing: string | undefined, ours: string, options: MergeOptions): MergeResult {
    const source = parseDocument(ours).toJS() as Kubeconfig;
    const doc = load(existing, "kubeconfig", () => ({
        apiVersion: "v1", kind: "Config", preferences: {}, clusters: [], users: [], contexts: [], "current-context": "",
    }));
    for (const key of ["clusters", "users", "contexts"] as const) {
        for (const item of source[key]) upsertNamed(doc, key, item);
    }
    const context = source["current-context"];
    if (options.switchContext || !doc.get("current-context")) doc.set("current-context", context);
    return { ...sameText(doc, existing), context };
}

interface Talosconfig {
    context: string;
    contexts: Record<string, unknown>;
}

export function mergeTalosconfig(existing: string | undefined, ours: string, options: MergeOptions): MergeResult {
    const source = parseDocument(ours).toJS() as Talosconfig;
    const doc = load(existing, "talosconfig", () => ({ context: "", contexts: {} }));
    let contexts = doc.get("contexts");
    if (!isMap(contexts)) {
        contexts = new YAMLMap();
        doc.set("contexts", contexts);
    }
    for (const [name, value] of Object.entries(source.contexts)) (contexts as YAMLMap).set(name, doc.createNode(value));
    const context = source.context;
    if (options.switchContext || !doc.get("context")) doc.set("context", context);
    return { ...sameText(doc, existing), context };
}
