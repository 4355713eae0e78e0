// Talos' strategic merge on untyped documents. Talos merges typed Go structs
// (talos@v1.13.9:pkg/machinery/config/configpatcher/strategic.go, pkg/machinery/config/merge/merge.go);
// without the types we reproduce its rules from the value shapes plus the few places where a
// type changes them:
//   - documents are matched by (apiVersion, kind, name); an unmatched patch document is appended;
//   - mappings merge key by key; lists are appended to, except the `merge:"replace"` fields and
//     the lists Talos merges by a key (interfaces, vlans, admission plugins);
//   - a scalar replaces the old one, but "" and 0 never replace a value (Go zero values), while
//     false does; null changes nothing;
//   - `$patch: delete` removes a key, a list element (matched by its first key) or a whole
//     document (talos@v1.13.9:pkg/machinery/config/configloader/internal/decoder/delete.go), before
//     the rest of that patch document is merged.
// Deleting a key that is not there is not an error (Talos zeroes the struct field silently).

import { isDeepStrictEqual } from "node:util";

import { isPlainObject } from "../yaml";
import { PatchError } from "./types";

type Obj = Record<string, unknown>;

/** A document's identity, as Talos' configloader computes it (kind "v1alpha1" for the legacy document). */
export interface DocumentId {
    apiVersion: string;
    kind: string;
    name: string;
}

const LEGACY_KIND = "v1alpha1";

export function documentId(doc: Obj): DocumentId {
    const str = (v: unknown) => (typeof v === "string" ? v : "");
    return { apiVersion: str(doc.apiVersion), kind: str(doc.kind) || LEGACY_KIND, name: str(doc.name) };
}

export function describeDocumentId(id: DocumentId): string {
    return [id.apiVersion, id.kind, id.name].filter((s) => s !== "").join("/");
}

function sameId(a: DocumentId, b: DocumentId): boolean {
    return a.apiVersion === b.apiVersion && a.kind === b.kind && a.name === b.name;
}

/** `$patch: delete`: a path in one document, and for a list element the key and value that pick it. */
export interface DeleteSelector {
    doc: DocumentId;
    /** keys; "[i]" marks a list element */
    path: string[];
    element?: { key: string; value: string };
}

const DELETE_KEY = "$patch";
const isDeleteMarker = (o: Obj) => o[DELETE_KEY] === "delete";

/**
 * Splits a patch document into its delete selectors and what is left to merge (undefined when
 * nothing is), as Talos' decoder does. Throws PatchError for a delete Talos refuses.
 */
export function extractDeletes(doc: Obj): { deletes: DeleteSelector[]; rest: Obj | undefined } {
    const rest = structuredClone(doc);
    const id = documentId(doc);
    const deletes: DeleteSelector[] = [];

    const visit = (node: unknown, path: string[], inList: boolean): boolean => {
        if (Array.isArray(node)) {
            let removed = false;
            for (let i = 0; i < node.length; i++) {
                if (visit(node[i], [...path, `[${i}]`], true)) {
                    node.splice(i, 1);
                    i--;
                    removed = true;
                }
            }
            return removed && node.length === 0;
        }
        if (!isPlainObject(node)) {
            return false;
        }
        if (isDeleteMarker(node)) {
            deletes.push(inList ? listSelector(id, path, node) : mapSelector(id, path));
            return true;
        }
        let removed = false;
        for (const key of Object.keys(node)) {
            if (visit(node[key], [...path, key], false)) {
                delete node[key];
                removed = true;
            }
        }
        return removed && Object.keys(node).length === 0;
    };

    const whole = visit(rest, [], false);
    // A document reduced to its identity keys has nothing left to merge (decoder/delete.go `isEmptyDoc`).
    const onlyIdentity = Object.entries(rest).every(
        ([k, v]) => ["version", "kind", "name"].includes(k) && !isPlainObject(v) && !Array.isArray(v),
    );
    return { deletes, rest: whole || onlyIdentity ? undefined : rest };
}

function mapSelector(doc: DocumentId, path: string[]): DeleteSelector {
    const inner = path.find((p) => p.startsWith("["));
    if (inner !== undefined) {
        throw new PatchError(`$patch: delete: cannot delete an inner key in '${path.join(".")}'`);
    }
    return { doc, path };
}

function listSelector(doc: DocumentId, path: string[], element: Obj): DeleteSelector {
    const entry = Object.entries(element).find(([k]) => k !== DELETE_KEY);
    if (entry === undefined) {
        throw new PatchError(`$patch: delete: no key:value to select the element at '${path.join(".")}'`);
    }
    const [key, value] = entry;
    return { doc, path, element: { key, value: isPlainObject(value) || Array.isArray(value) ? "" : String(value) } };
}

/** Applies strategic-merge patch documents to a copy of the config documents. */
export function strategicMerge(config: readonly unknown[], patchDocuments: readonly unknown[]): unknown[] {
    let left = structuredClone(config as unknown[]);
    for (const patchDoc of patchDocuments) {
        if (!isPlainObject(patchDoc)) {
            throw new PatchError("strategic merge patch: every document must be a mapping");
        }
        const { deletes, rest } = extractDeletes(patchDoc);
        for (const sel of deletes) {
            left = applyDelete(left, sel);
        }
        if (rest === undefined) {
            continue;
        }
        const id = documentId(rest);
        const target = left.find((d): d is Obj => isPlainObject(d) && sameId(documentId(d), id));
        if (target === undefined) {
            left.push(structuredClone(rest));
        } else {
            mergeObject(target, rest, { kind: id.kind, path: [] });
        }
    }
    return left;
}

function applyDelete(docs: unknown[], sel: DeleteSelector): unknown[] {
    const where = sel.path.length === 0 ? "" : ` at '${sel.path.join(".")}'`;
    const fail = (why: string) =>
        new PatchError(`$patch: delete${where} in document ${describeDocumentId(sel.doc)}: ${why}`);
    const index = docs.findIndex((d) => isPlainObject(d) && sameId(documentId(d), sel.doc));
    if (index < 0) {
        throw fail("the config has no such document");
    }
    if (sel.path.length === 0) {
        if (sel.doc.kind === LEGACY_KIND && sel.doc.apiVersion === "") {
            throw fail("can't delete the root of the legacy document");
        }
        return docs.filter((_, i) => i !== index);
    }
    let cur: unknown = docs[index];
    // Walk to the container: the list for an element selector (its last token is "[i]"), else the mapping.
    for (const key of sel.path.slice(0, -1)) {
        if (!isPlainObject(cur) || cur[key] === undefined || cur[key] === null) {
            throw fail("lookup failed");
        }
        cur = cur[key];
    }
    if (sel.element) {
        const { key, value } = sel.element;
        const found = Array.isArray(cur)
            ? cur.findIndex((e) => isPlainObject(e) && e[key] !== undefined && String(e[key]) === value)
            : -1;
        if (found < 0) {
            throw fail(`no element with ${key}: ${value}`);
        }
        (cur as unknown[]).splice(found, 1);
    } else if (isPlainObject(cur)) {
        delete cur[sel.path[sel.path.length - 1]];
    } else {
        throw fail("lookup failed");
    }
    return docs;
}

interface Context {
    /** the document kind, which selects the special rules */
    kind: string;
    /** keys from the document root; "[]" for a list element */
    path: string[];
}

/** Fields tagged `merge:"replace"`, by document kind. */
const REPLACE: Record<string, readonly string[]> = {
    v1alpha1: ["cluster.apiServer.auditPolicy", "cluster.network.podSubnets", "cluster.network.serviceSubnets"],
    NetworkRuleConfig: ["ingress", "portSelector.ports"],
    // The documents of v1.14 (talos@v1.14.1:pkg/machinery/config/types/{k8s,network,cri}/*.go). Its
    // ResolverConfig also replaces `searchDomains.domains`, which v1.12 and v1.13 merge: not listed,
    // as these rules are the same for every minor.
    KubeAuditPolicyConfig: ["configuration"],
    KubeAuthenticationConfig: ["configuration"],
    KubeCredentialProviderConfig: ["configuration"],
    KubeNetworkConfig: ["podSubnets", "serviceSubnets"],
    KubeStaticPodConfig: ["pod"],
    BGPInstanceConfig: ["advertise", "importRoutes", "neighbors"],
    CRIBaseRuntimeSpecConfig: ["overrides"],
};

/** Lists Talos merges element by element, with how two elements are the same one. */
const KEYED_LISTS: Record<string, Record<string, (a: Obj, b: Obj) => boolean>> = {
    v1alpha1: {
        // NetworkDeviceList.Merge: by interface name, else by an equal deviceSelector.
        "machine.network.interfaces": (a, b) =>
            typeof b.interface === "string" && b.interface !== ""
                ? a.interface === b.interface
                : b.deviceSelector !== undefined && isDeepStrictEqual(a.deviceSelector, b.deviceSelector),
        // VlanList.Merge
        "machine.network.interfaces[].vlans": (a, b) => a.vlanId === b.vlanId,
        // AdmissionPluginConfigList.Merge
        "cluster.apiServer.admissionControl": (a, b) => a.name === b.name,
    },
};

function shape(v: unknown): string {
    return Array.isArray(v) ? "list" : isPlainObject(v) ? "mapping" : "scalar";
}

function mergeObject(left: Obj, right: Obj, ctx: Context): void {
    // Args.Merge (v1.13; a plain map before): extra args are replaced key by key, never merged.
    const shallow = ctx.kind === LEGACY_KIND && ctx.path[ctx.path.length - 1] === "extraArgs";
    for (const [key, r] of Object.entries(right)) {
        const path = [...ctx.path, key];
        const l = left[key];
        if (r === null || r === undefined) {
            continue;
        }
        if (l === undefined || l === null || shallow || (REPLACE[ctx.kind] ?? []).includes(path.join("."))) {
            if (!isZeroScalar(r) || l === undefined || l === null) {
                left[key] = structuredClone(r);
            }
            continue;
        }
        left[key] = mergeValue(l, r, { kind: ctx.kind, path });
    }
}

/** Go zero values of non-bool scalars: merge.go leaves the left side alone for them. */
function isZeroScalar(v: unknown): boolean {
    return v === "" || v === 0;
}

function mergeValue(l: unknown, r: unknown, ctx: Context): unknown {
    if (shape(l) !== shape(r)) {
        throw new PatchError(`strategic merge patch: ${ctx.path.join(".")}: cannot merge a ${shape(r)} into a ${shape(l)}`);
    }
    if (isPlainObject(l) && isPlainObject(r)) {
        mergeObject(l, r, ctx);
        return l;
    }
    if (Array.isArray(l) && Array.isArray(r)) {
        return mergeList(l, r, ctx);
    }
    return isZeroScalar(r) ? l : r;
}

function mergeList(l: unknown[], r: unknown[], ctx: Context): unknown[] {
    const same = KEYED_LISTS[ctx.kind]?.[ctx.path.join(".")];
    if (same === undefined) {
        return [...l, ...structuredClone(r)];
    }
    for (const elem of r) {
        const existing = isPlainObject(elem) ? l.find((e): e is Obj => isPlainObject(e) && same(e, elem)) : undefined;
        if (existing !== undefined && isPlainObject(elem)) {
            mergeObject(existing, elem, { kind: ctx.kind, path: [...ctx.path.slice(0, -1), `${ctx.path[ctx.path.length - 1]}[]`] });
        } else {
            l.push(structuredClone(elem));
        }
    }
    return l;
}
