// YAML in and out, in the two dialects we write: Talos' (go yaml.v3 with 4-space indents, as
// machine configs, talosconfig and secrets.yaml are encoded) and Kubernetes' (clientcmd: 2-space
// indents, sequences not indented). Always from objects, never by string building.

import { Document, isDocument, parseAllDocuments, stringify, type ToStringOptions } from "yaml";

const COMMON: ToStringOptions & { aliasDuplicateObjects: false } = {
    // Base64 blobs are long: never fold a line.
    lineWidth: 0,
    minContentWidth: 0,
    // Two equal objects must be written twice, never as an anchor and an alias.
    aliasDuplicateObjects: false,
};

/** One document, Talos style (yaml.v3 Encoder with SetIndent(4)). */
export function toTalosYaml(value: unknown): string {
    return stringify(value, { ...COMMON, indent: 4, indentSeq: true });
}

/** One document, as Kubernetes' clientcmd writes kubeconfigs (sigs.k8s.io/yaml). */
export function toKubernetesYaml(value: unknown): string {
    return stringify(value, { ...COMMON, indent: 2, indentSeq: false });
}

/** Several documents, Talos style, separated as Talos' config container encodes them ("---"). */
export function toTalosYamlDocuments(values: readonly unknown[]): string {
    return values
        .map((value, i) => {
            const doc = new Document(value, { aliasDuplicateObjects: false });
            // The first document has no start marker, the others do (talos@v1.13.9:pkg/machinery/config/container/container.go).
            if (doc.directives) {
                doc.directives.docStart = i > 0 ? true : null;
            }
            return doc.toString({ ...COMMON, indent: 4, indentSeq: true });
        })
        .join("");
}

/** A YAML syntax error, with the parser's position when it has one. */
export interface YamlProblem {
    message: string;
    /** the parser's error code, e.g. BAD_INDENT (never contains document text) */
    code: string;
    line?: number;
    column?: number;
}

/** Parses every document; syntax errors are returned, never thrown. Documents with no content are dropped; an explicit null stays. */
export function parseYamlDocuments(text: string): { documents: unknown[]; problems: YamlProblem[] } {
    const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
    const list = isDocument(docs) ? [docs] : Array.isArray(docs) ? docs : [];
    const problems: YamlProblem[] = [];
    const documents: unknown[] = [];
    for (const doc of list) {
        for (const err of doc.errors) {
            const pos = err.linePos?.[0];
            problems.push({ message: firstLine(err.message), code: err.code, line: pos?.line, column: pos?.col });
        }
        if (doc.errors.length === 0 && doc.contents !== null) {
            documents.push(doc.toJS({ maxAliasCount: 100 }));
        }
    }
    return { documents, problems };
}

/** "line 3, column 5: ..." when the position is known. */
export function describeYamlProblem(p: YamlProblem): string {
    return p.line === undefined ? p.message : `line ${p.line}, column ${p.column ?? 1}: ${p.message}`;
}

function firstLine(s: string): string {
    const i = s.indexOf("\n");
    const line = i < 0 ? s : s.slice(0, i);
    // The yaml package appends " at line L, column C" itself; we report the position separately.
    return line.replace(/ at line \d+, column \d+:?$/, "");
}

/** A plain JSON-like object (not an array, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
