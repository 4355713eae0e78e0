// YAML in and out, in the two dialects we write: Talos' (go yaml.v3 with 4-space indents, as
// machine configs, talosconfig and secrets.yaml are encoded) and Kubernetes' (clientcmd: 2-space
// indents, sequences not indented). Always from objects, never by string building.

import { Document, isDocument, LineCounter, parseAllDocuments, stringify, visit, type ToStringOptions } from "yaml";

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

/**
 * Config text with its documents changed in place by `edit` (the yaml package's Document API),
 * everything `edit` leaves alone kept as it was written: comments, order, quoting. Talos keeps a
 * config's bytes as they were submitted, so an edited text is what the node then reports. Our
 * own rendering reads back byte for byte. Throws on text that is not YAML, without quoting it.
 */
export function editTalosYamlDocuments(text: string, edit: (documents: Document.Parsed[]) => void): string {
    const { problems } = parseYamlDocuments(text);
    if (problems.length > 0) throw new Error(`not valid YAML: ${describeYamlProblem(problems[0])}`);
    const documents: Document.Parsed[] = [...parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true })];
    edit(documents);
    return documents.map((doc) => doc.toString({ ...COMMON, indent: 4, indentSeq: true })).join("");
}

/** A YAML syntax error, with the parser's position when it has one. */
export interface YamlProblem {
    message: string;
    /** the parser's error code, e.g. BAD_INDENT (never contains document text) */
    code: string;
    line?: number;
    column?: number;
}

/**
 * Parses every document; syntax errors are returned, never thrown (an alias without its anchor
 * included). Documents with no content are dropped; an explicit null stays. A problem's message
 * is the parser's whole reason, without the excerpt of the text the parser would append.
 */
export function parseYamlDocuments(text: string): { documents: unknown[]; problems: YamlProblem[] } {
    // Positions from a line counter, not prettyErrors: that option appends the offending line
    // of the text to the message, and the text may hold secrets.
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
    const list = isDocument(docs) ? [docs] : Array.isArray(docs) ? docs : [];
    const at = (offset: number | undefined) => {
        if (offset === undefined || offset < 0) return {};
        const { line, col } = lines.linePos(offset);
        return { line, column: col };
    };
    const problems: YamlProblem[] = [];
    const documents: unknown[] = [];
    for (const doc of list) {
        for (const err of doc.errors) {
            problems.push({ message: withoutSource(err.message), code: err.code, ...at(err.pos[0]) });
        }
        if (doc.errors.length > 0 || doc.contents === null) continue;
        try {
            documents.push(doc.toJS({ maxAliasCount: 100 }));
        } catch (err) {
            // The yaml package throws ReferenceError for an alias with no anchor before it, and
            // for more aliases than maxAliasCount allows.
            if (!(err instanceof ReferenceError)) throw err;
            problems.push({ message: err.message, code: "BAD_ALIAS", ...at(unresolvedAliasOffset(doc)) });
        }
    }
    return { documents, problems };
}

/** Where the first alias that names no anchor starts, if one does. */
function unresolvedAliasOffset(doc: Document): number | undefined {
    let offset: number | undefined;
    visit(doc, {
        Alias(_, alias) {
            if (alias.resolve(doc) !== undefined) return undefined;
            offset = alias.range?.[0];
            return visit.BREAK;
        },
    });
    return offset;
}

/**
 * The parser's message without the text it quotes: for a token it cannot place it appends the
 * token's source as JSON (`Unexpected scalar token in YAML stream: "..."`), and that may be a value.
 */
function withoutSource(message: string): string {
    return message.replace(/: "(?:[^"\\]|\\.)*"$/, "");
}

/** "line 3, column 5: ..." when the position is known. */
export function describeYamlProblem(p: YamlProblem): string {
    return p.line === undefined ? p.message : `line ${p.line}, column ${p.column ?? 1}: ${p.message}`;
}

/** A plain JSON-like object (not an array, not null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
