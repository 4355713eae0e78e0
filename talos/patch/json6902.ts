// RFC 6902 JSON Patch on one config document, with the strictness of evanphx/json-patch (v4),
// which Talos uses (talos@v1.8.3:pkg/machinery/config/configpatcher/json6902.go): a path that
// must exist and does not is an error, and so is an add whose parent does not exist.

import { isDeepStrictEqual } from "node:util";

import { isPlainObject } from "../yaml";
import { PatchError, type Json6902Op } from "./types";

/** RFC 6901: "" is the whole document, otherwise "/"-separated tokens with ~1 = "/" and ~0 = "~". */
export function parsePointer(pointer: string): string[] | undefined {
    if (pointer === "") {
        return [];
    }
    if (!pointer.startsWith("/")) {
        return undefined;
    }
    return pointer
        .slice(1)
        .split("/")
        .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Applies the operations in order to a copy of the document; throws PatchError naming the failed operation. */
export function applyJson6902(document: unknown, operations: readonly Json6902Op[]): unknown {
    let doc = structuredClone(document);
    operations.forEach((op, i) => {
        try {
            doc = applyOne(doc, op);
        } catch (e) {
            if (e instanceof OpFailure) {
                const where = `JSON6902 patch, operation ${i + 1} (${op.op} "${op.path}")`;
                throw new PatchError(`${where}: ${e.message}`, [op.path]);
            }
            throw e;
        }
    });
    return doc;
}

class OpFailure extends Error {}

function applyOne(doc: unknown, op: Json6902Op): unknown {
    switch (op.op) {
        case "add":
            return add(doc, pointer(op.path), structuredClone(op.value));
        case "remove":
            return remove(doc, pointer(op.path));
        case "replace": {
            const path = pointer(op.path);
            if (path.length === 0) {
                return structuredClone(op.value);
            }
            get(doc, path); // must exist
            return add(remove(doc, path), path, structuredClone(op.value));
        }
        case "move": {
            const from = pointer(op.from);
            const path = pointer(op.path);
            if (path.length > from.length && from.every((t, i) => t === path[i])) {
                throw new OpFailure(`cannot move "${op.from}" into itself`);
            }
            const value = get(doc, from);
            return add(remove(doc, from), path, value);
        }
        case "copy":
            return add(doc, pointer(op.path), structuredClone(get(doc, pointer(op.from))));
        case "test":
            if (!isDeepStrictEqual(get(doc, pointer(op.path)), op.value)) {
                throw new OpFailure("test failed: the value differs");
            }
            return doc;
        default: {
            const unreachable: never = op;
            throw new OpFailure(`unknown op ${JSON.stringify(unreachable)}`);
        }
    }
}

function pointer(p: string): string[] {
    const tokens = parsePointer(p);
    if (tokens === undefined) {
        throw new OpFailure(`"${p}" is not a JSON pointer`);
    }
    return tokens;
}

function describe(tokens: readonly string[]): string {
    return `"/${tokens.map((t) => t.replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}"`;
}

function arrayIndex(arr: unknown[], token: string, tokens: readonly string[], allowEnd: boolean): number {
    if (allowEnd && token === "-") {
        return arr.length;
    }
    if (!/^(0|[1-9]\d*)$/.test(token)) {
        throw new OpFailure(`${describe(tokens)}: "${token}" is not an array index`);
    }
    const i = Number(token);
    if (i > arr.length || (!allowEnd && i === arr.length)) {
        throw new OpFailure(`${describe(tokens)}: index ${i} is out of range`);
    }
    return i;
}

/** The container holding the last token, which must exist. */
function parentOf(doc: unknown, tokens: readonly string[]): unknown {
    let cur = doc;
    tokens.slice(0, -1).forEach((t, i) => {
        const here = tokens.slice(0, i + 1);
        if (Array.isArray(cur)) {
            cur = cur[arrayIndex(cur, t, here, false)];
        } else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) {
            cur = cur[t];
        } else {
            throw new OpFailure(`${describe(here)} does not exist`);
        }
    });
    return cur;
}

function get(doc: unknown, tokens: readonly string[]): unknown {
    if (tokens.length === 0) {
        return doc;
    }
    const parent = parentOf(doc, tokens);
    const last = tokens[tokens.length - 1];
    if (Array.isArray(parent)) {
        return parent[arrayIndex(parent, last, tokens, false)];
    }
    if (isPlainObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
        return parent[last];
    }
    throw new OpFailure(`${describe(tokens)} does not exist`);
}

function add(doc: unknown, tokens: readonly string[], value: unknown): unknown {
    if (tokens.length === 0) {
        return value;
    }
    const parent = parentOf(doc, tokens);
    const last = tokens[tokens.length - 1];
    if (Array.isArray(parent)) {
        parent.splice(arrayIndex(parent, last, tokens, true), 0, value);
    } else if (isPlainObject(parent)) {
        parent[last] = value;
    } else {
        throw new OpFailure(`${describe(tokens.slice(0, -1))} is not an object or array`);
    }
    return doc;
}

function remove(doc: unknown, tokens: readonly string[]): unknown {
    if (tokens.length === 0) {
        throw new OpFailure("cannot remove the whole document");
    }
    const parent = parentOf(doc, tokens);
    const last = tokens[tokens.length - 1];
    if (Array.isArray(parent)) {
        parent.splice(arrayIndex(parent, last, tokens, false), 1);
    } else if (isPlainObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
        delete parent[last];
    } else {
        throw new OpFailure(`${describe(tokens)} does not exist`);
    }
    return doc;
}
