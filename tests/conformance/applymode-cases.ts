// Cases for the Go side's check of talos/applymode.ts (TestImmediateApplyRule): pairs of our
// configs that differ only outside the fields machined lets change without a reboot, with our
// verdict. For such a pair machined's verdict is reflect.DeepEqual of the two decoded v1alpha1
// documents, which the Go side computes with machinery: so it checks our YAML-level comparison
// (null, empty maps and lists, key order, comments, quoting) without restating the rule in Go.

import { checkImmediate, immediateFields, type ImmediateFields } from "../../talos/applymode";
import { contractFor, type TalosMinor } from "../../talos/versions";
import { toTalosYamlDocuments } from "../../talos/yaml";

type Doc = Record<string, any>;

export interface ImmediateCase {
    name: string;
    current: string;
    next: string;
    /** ours: the change applies without a reboot */
    immediate: boolean;
}

export interface ImmediateFixture {
    fields: ImmediateFields;
    cases: ImmediateCase[];
}

/** Edits that touch only fields outside the immediate list (or nothing machined compares). */
const EDITS: [string, (docs: Doc[]) => void][] = [
    ["same", () => {}],
    ["machine-env-null", (docs) => (v1alpha1(docs).machine.env = null)],
    ["machine-env-empty", (docs) => (v1alpha1(docs).machine.env = {})],
    ["machine-env-set", (docs) => (v1alpha1(docs).machine.env = { HTTP_PROXY: "http://proxy:3128" })],
    ["machine-files-empty", (docs) => (v1alpha1(docs).machine.files = [])],
    ["machine-udev-empty", (docs) => (v1alpha1(docs).machine.udev = {})],
    ["machine-token", (docs) => (v1alpha1(docs).machine.token = "wxyzab.0123456789abcdef")],
    ["machine-keys-reversed", (docs) => {
        const doc = v1alpha1(docs);
        doc.machine = Object.fromEntries(Object.entries(doc.machine).reverse());
    }],
    ["feature-null", (docs) => (v1alpha1(docs).machine.features.stableHostname = null)],
    ["feature-disk-quota-off", (docs) => (v1alpha1(docs).machine.features.diskQuotaSupport = false)],
    ["persist-absent", (docs) => delete v1alpha1(docs).persist],
    ["other-documents-only", (docs) => {
        const hostname = docs.find((d) => d.kind === "HostnameConfig");
        if (hostname === undefined) throw new Error("no HostnameConfig document");
        delete hostname.auto;
        hostname.hostname = "cp-01";
    }],
];

/** Edits of the text itself: the same documents written differently. */
const TEXT_EDITS: [string, (text: string) => string][] = [
    ["comment-added", (text) => text.replace("version: v1alpha1\n", "version: v1alpha1 # written by hand\n")],
    ["token-quoted", (text) => text.replace(/^( {4}token: )(\S+)$/m, "$1'$2'")],
];

export function immediateFixture(minor: TalosMinor, rendered: Doc[]): ImmediateFixture {
    const current = toTalosYamlDocuments(rendered);
    const cases: ImmediateCase[] = [];
    const add = (name: string, next: string) => cases.push({ name, current, next, immediate: checkImmediate(minor, current, next).immediate });
    for (const [name, edit] of EDITS) {
        // Our configs have other documents (HostnameConfig) from v1.12 on.
        if (name === "other-documents-only" && !contractFor(minor).multiDocument) continue;
        const docs = structuredClone(rendered);
        edit(docs);
        add(name, toTalosYamlDocuments(docs));
    }
    for (const [name, edit] of TEXT_EDITS) {
        const next = edit(current);
        if (next === current) throw new Error(`applymode case ${name} changed nothing at ${minor}`);
        add(name, next);
    }
    return { fields: immediateFields(minor), cases };
}

function v1alpha1(docs: Doc[]): Doc {
    const doc = docs.find((d) => d.kind === undefined);
    if (doc === undefined) throw new Error("no v1alpha1 document");
    return doc;
}
