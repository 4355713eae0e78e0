// Config patches as `talosctl --config-patch` takes them (talos@v1.8.3:pkg/machinery/config/configpatcher/load.go
// `LoadPatch`): YAML mappings (one per document) are a strategic merge patch; a YAML or JSON list
// of operations is a JSON6902 patch. Applied in order to the config documents (apply.go `Apply`).

import { parsePointer, applyJson6902 } from "./patch/json6902";
import { describeDocumentId, documentId, extractDeletes, strategicMerge } from "./patch/strategic";
import { PatchError, type ConfigPatch, type Json6902Op } from "./patch/types";
import { describeYamlProblem, isPlainObject, parseYamlDocuments } from "./yaml";

export { PatchError, type ConfigPatch, type Json6902Op } from "./patch/types";

const OPS = ["add", "remove", "replace", "move", "copy", "test"] as const;

/** Parses one patch; throws PatchError for text that is not YAML, is empty, or has malformed operations. */
export function parsePatch(text: string): ConfigPatch {
    const { documents, problems } = parseYamlDocuments(text);
    if (problems.length > 0) {
        throw new PatchError(`the patch is not valid YAML: ${problems.map(describeYamlProblem).join("; ")}`);
    }
    const docs = documents.filter((d) => d !== null);
    if (docs.length === 0) {
        throw new PatchError("the patch is empty");
    }
    if (docs.length === 1 && Array.isArray(docs[0])) {
        return { kind: "json6902", operations: parseOperations(docs[0]) };
    }
    if (!docs.every(isPlainObject)) {
        throw new PatchError(
            "the patch is neither a strategic merge patch (one YAML mapping per document) nor a JSON6902 patch (one list of operations)",
        );
    }
    checkStrategicDocuments(docs);
    return { kind: "strategic", documents: docs };
}

function checkStrategicDocuments(docs: Record<string, unknown>[]): void {
    const seen = new Set<string>();
    docs.forEach((doc, i) => {
        const hasApiVersion = doc.apiVersion !== undefined;
        const hasKind = doc.kind !== undefined;
        if (hasApiVersion !== hasKind) {
            throw new PatchError(`patch document ${i + 1}: apiVersion and kind must be set together`);
        }
        const id = describeDocumentId(documentId(doc));
        if (seen.has(id)) {
            throw new PatchError(`patch document ${i + 1}: duplicate document ${id}`);
        }
        seen.add(id);
        extractDeletes(doc); // throws for a `$patch: delete` Talos refuses
    });
}

function parseOperations(list: unknown[]): Json6902Op[] {
    const problems: string[] = [];
    const ops: Json6902Op[] = [];
    list.forEach((raw, i) => {
        const where = `operation ${i + 1}`;
        if (!isPlainObject(raw)) {
            problems.push(`${where}: expected a mapping`);
            return;
        }
        const op = raw.op;
        if (typeof op !== "string" || !(OPS as readonly string[]).includes(op)) {
            problems.push(`${where}: "op" must be one of ${OPS.join(", ")}`);
            return;
        }
        const pointer = (field: "path" | "from") => {
            const v = raw[field];
            if (typeof v !== "string" || parsePointer(v) === undefined) {
                problems.push(`${where} (${op}): "${field}" must be a JSON pointer ("" or starting with "/")`);
                return undefined;
            }
            return v;
        };
        const path = pointer("path");
        const needsValue = op === "add" || op === "replace" || op === "test";
        if (needsValue && !("value" in raw)) {
            problems.push(`${where} (${op}): "value" is required`);
        }
        const from = op === "move" || op === "copy" ? pointer("from") : "";
        if (path === undefined || from === undefined || (needsValue && !("value" in raw))) {
            return;
        }
        ops.push(toOperation(op as Json6902Op["op"], path, from, raw.value));
    });
    if (list.length === 0) {
        problems.push("the list of operations is empty");
    }
    if (problems.length > 0) {
        throw new PatchError(`the JSON6902 patch is malformed: ${problems.join("; ")}`);
    }
    return ops;
}

function toOperation(op: Json6902Op["op"], path: string, from: string, value: unknown): Json6902Op {
    switch (op) {
        case "add":
        case "replace":
        case "test":
            return { op, path, value };
        case "remove":
            return { op, path };
        case "move":
        case "copy":
            return { op, from, path };
        default: {
            const unreachable: never = op;
            throw new PatchError(`unknown op ${String(unreachable)}`);
        }
    }
}

/**
 * Applies the patches in order to the config documents (multi-document aware) and returns new
 * documents; the input is not modified. A JSON6902 patch needs a single-document config, as in Talos.
 */
export function applyPatches(documents: unknown[], patches: ConfigPatch[]): unknown[] {
    let docs = structuredClone(documents);
    for (const patch of patches) {
        switch (patch.kind) {
            case "strategic":
                docs = strategicMerge(docs, patch.documents);
                break;
            case "json6902":
                if (docs.length !== 1) {
                    // talos@v1.13.9:pkg/machinery/config/configpatcher/json6902.go, word for word.
                    throw new PatchError("JSON6902 patches are not supported for multi-document machine configuration");
                }
                docs = [applyJson6902(docs[0], patch.operations)];
                break;
            default: {
                const unreachable: never = patch;
                throw new PatchError(`unknown patch kind ${JSON.stringify(unreachable)}`);
            }
        }
    }
    return docs;
}
