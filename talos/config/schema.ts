// Which keys a Talos version accepts in each config document. Talos decodes configs and patches
// strictly (talos@v1.8.3:pkg/machinery/config/configloader/internal/decoder/decoder.go sets
// `KnownFields(true)`), so a key it does not know, or a document kind it does not know, makes the
// config unloadable. The key lists come from Talos' Go types (schema.generated.ts); values are
// checked only for their shape (mapping, list or scalar), never for their content.
//
// Type expressions in schema.generated.ts: "S" a scalar, "A" anything (Talos decodes it itself),
// "T:<id>" a struct in DOCUMENT_TYPES, "L:<expr>" a list of, "M:<expr>" a mapping of (any keys);
// a suffix "@1.9,1.10" limits a field or kind to those minors. A "*" key allows any other key.

import type { TalosMinor } from "../versions";
import { isPlainObject } from "../yaml";
import { DOCUMENT_KINDS, DOCUMENT_TYPES } from "./schema.generated";

const LEGACY_KIND = "v1alpha1";

/** The expression if it applies to the minor, else undefined. */
function forMinor(spec: string | undefined, minor: TalosMinor): string | undefined {
    if (spec === undefined) {
        return undefined;
    }
    const at = spec.lastIndexOf("@");
    if (at < 0) {
        return spec;
    }
    return spec.slice(at + 1).split(",").includes(minor) ? spec.slice(0, at) : undefined;
}

/** One thing Talos would refuse: where in the config (see schemaFindings; "" for a whole document) and what. */
export interface SchemaFinding {
    where: string;
    what: string;
}

/** "<where>: <what>" */
export function describeFinding(finding: SchemaFinding): string {
    return finding.where === "" ? finding.what : `${finding.where}: ${finding.what}`;
}

/** Every finding of schemaFindings, described. */
export function schemaProblems(documents: readonly unknown[], minor: TalosMinor): string[] {
    return schemaFindings(documents, minor).map(describeFinding);
}

/**
 * Every key, document kind or value shape in the documents that Talos v<minor> would refuse.
 * `where` is the dotted path for the v1alpha1 document and starts with the document's kind (and
 * name) for the others.
 */
export function schemaFindings(documents: readonly unknown[], minor: TalosMinor): SchemaFinding[] {
    const problems: SchemaFinding[] = [];
    for (const doc of documents) {
        if (!isPlainObject(doc)) {
            problems.push({ where: "", what: "a document is not a mapping" });
            continue;
        }
        const kind = typeof doc.kind === "string" ? doc.kind : LEGACY_KIND;
        const label = kind === LEGACY_KIND ? "" : typeof doc.name === "string" ? `${kind}/${doc.name}` : kind;
        const type = forMinor(DOCUMENT_KINDS[kind], minor);
        if (type === undefined) {
            problems.push({ where: label, what: "unknown document kind" });
            continue;
        }
        if (kind !== LEGACY_KIND && doc.apiVersion !== "v1alpha1") {
            problems.push({ where: `${label}.apiVersion`, what: `unknown version ${JSON.stringify(doc.apiVersion)}` });
        }
        check(doc, type, label, minor, problems);
    }
    return problems;
}

function join(path: string, key: string): string {
    return path === "" ? key : `${path}.${key}`;
}

function check(value: unknown, type: string, path: string, minor: TalosMinor, problems: SchemaFinding[]): void {
    if (value === null || value === undefined || type === "A") {
        return;
    }
    const where = path === "" ? "(document)" : path;
    if (type === "S") {
        if (isPlainObject(value) || Array.isArray(value)) {
            problems.push({ where, what: "expected a scalar" });
        }
        return;
    }
    if (type.startsWith("L:")) {
        if (!Array.isArray(value)) {
            problems.push({ where, what: "expected a list" });
            return;
        }
        value.forEach((item, i) => check(item, type.slice(2), `${path}[${i}]`, minor, problems));
        return;
    }
    if (!isPlainObject(value)) {
        problems.push({ where, what: "expected a mapping" });
        return;
    }
    if (type.startsWith("M:")) {
        for (const [key, item] of Object.entries(value)) {
            check(item, type.slice(2), join(path, key), minor, problems);
        }
        return;
    }
    const fields = DOCUMENT_TYPES[type.slice(2)] ?? {};
    for (const [key, item] of Object.entries(value)) {
        const fieldType = forMinor(fields[key], minor) ?? (fields["*"] === undefined ? undefined : "A");
        if (fieldType === undefined) {
            problems.push({ where: join(path, key), what: "unknown field" });
            continue;
        }
        check(item, fieldType, join(path, key), minor, problems);
    }
}
