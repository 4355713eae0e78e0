// DEVELOPMENT TOOL, never imported: regenerates schema.generated.ts from Talos' Go sources.
//   npx tsx scripts/talos-schema-extract.ts <siderolabs/talos git dir> talos/config/schema.generated.ts
// For each reference tag it reads the structs under pkg/machinery/config/types/ (yaml tags, inline
// embeddings, pointer/slice/map types, type definitions, each file's imports) and the document
// kinds registered with `registry.Register`, then merges the tags, marking what exists only
// at some minors. Types that unmarshal themselves (or embed a type that may), Unstructured, and
// types outside the config types packages are "A" (not checked). Add a minor by adding its tag to TAGS.

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

const TAGS: readonly (readonly [string, string])[] = [
    ["1.8", "v1.8.3"],
    ["1.9", "v1.9.6"],
    ["1.10", "v1.10.9"],
    ["1.11", "v1.11.6"],
    ["1.12", "v1.12.11"],
    ["1.13", "v1.13.9"],
    ["1.14", "v1.14.1"],
];
const ROOT = "pkg/machinery/config/types/";
const TYPES_IMPORT = "github.com/siderolabs/talos/pkg/machinery/config/types/";
const X509_IMPORT = "github.com/siderolabs/crypto/x509";
const SCALARS = new Set(["string", "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "byte"]);
// siderolabs/crypto x509 types with a known YAML shape.
const X509_TYPES: Record<string, Record<string, string>> = {
    PEMEncodedCertificateAndKey: { crt: "S", key: "S" },
    PEMEncodedKey: { key: "S" },
    PEMEncodedCertificate: { crt: "S" },
};

type Imports = Map<string, string>;
interface Field {
    key: string;
    type: string;
    inline: boolean;
}
interface Package {
    structs: Map<string, { fields: Field[]; imports: Imports; embeds: boolean }>;
    definitions: Map<string, { type: string; imports: Imports }>;
    selfDecoding: Set<string>;
    constants: Map<string, string>;
    files: Map<string, string>;
}

function main(gitDir: string, outFile: string): void {
    const git = (...args: string[]) => execFileSync("git", ["-C", gitDir, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
    const perTag = TAGS.map(([minor, tag]) => ({ minor, ...extractTag(git, tag) }));
    writeFileSync(outFile, render(perTag));
}

function parseFile(src: string, pkg: Package): void {
    const imports: Imports = new Map();
    const block = /^import \(([\s\S]*?)^\)/m.exec(src)?.[1] ?? /^import (.*)$/m.exec(src)?.[1] ?? "";
    for (const m of block.matchAll(/^\s*(?:(\w+)\s+)?"([^"]+)"/gm)) {
        imports.set(m[1] ?? m[2].slice(m[2].lastIndexOf("/") + 1), m[2]);
    }
    for (const m of src.matchAll(/^func \(\w+ \*?(\w+)\) Unmarshal(?:YAML|Text|JSON)\(/gm)) {
        pkg.selfDecoding.add(m[1]);
    }
    for (const m of src.matchAll(/^\s*(?:const\s+)?(\w+)\s*(?:[\w.]+\s*)?=\s*"([^"]*)"/gm)) {
        pkg.constants.set(m[1], m[2]);
    }
    const lines = src.split("\n");
    for (let i = 0; i < lines.length; i++) {
        const struct = /^type (\w+) struct \{\s*$/.exec(lines[i]);
        if (struct) {
            const fields: Field[] = [];
            let embeds = false;
            for (i++; i < lines.length && !/^\}/.test(lines[i]); i++) {
                const m = /^\s+(?:(\w+)\s+)?([^\s`]+)\s*(?:`([^`]*)`)?\s*$/.exec(lines[i].replace(/\/\/.*$/, ""));
                if (!m) {
                    continue;
                }
                const [, name, type, tags] = m;
                const tag = tags === undefined ? undefined : /yaml:"([^"]*)"/.exec(tags)?.[1];
                if (tag === "-") {
                    continue;
                }
                const parts = (tag ?? "").split(",");
                const inline = parts.includes("inline");
                let key = parts[0];
                if (!inline && key === "") {
                    if (name === undefined) {
                        // An embedded type (e.g. netip.Addr) may promote its UnmarshalText/YAML.
                        embeds = true;
                        continue;
                    }
                    if (!/^[A-Z]/.test(name)) {
                        continue; // unexported
                    }
                    key = name.toLowerCase(); // yaml.v3's default key
                }
                fields.push({ key, type, inline });
            }
            pkg.structs.set(struct[1], { fields, imports, embeds });
            continue;
        }
        const def = /^type (\w+) =?\s*([^\s{]+)\s*$/.exec(lines[i]);
        if (def && def[2] !== "struct" && def[2] !== "interface") {
            pkg.definitions.set(def[1], { type: def[2], imports });
        }
    }
}

function extractTag(git: (...args: string[]) => string, tag: string) {
    const files = git("ls-tree", "-r", "--name-only", tag, ROOT)
        .split("\n")
        .filter((f) => f.endsWith(".go") && !f.endsWith("_test.go") && !f.includes("deepcopy") && !f.endsWith("_doc.go"));
    const pkgs = new Map<string, Package>();
    for (const f of files) {
        const dir = f.slice(ROOT.length, f.lastIndexOf("/"));
        let pkg = pkgs.get(dir);
        if (pkg === undefined) {
            pkg = { structs: new Map(), definitions: new Map(), selfDecoding: new Set(), constants: new Map(), files: new Map() };
            pkgs.set(dir, pkg);
        }
        const src = git("show", `${tag}:${f}`);
        pkg.files.set(f, src);
        parseFile(src, pkg);
    }

    const types: Record<string, Record<string, string>> = {};
    const inProgress = new Set<string>();

    const resolve = (dir: string, type: string, imports: Imports): string => {
        const t = type.replace(/^\*+/, "");
        if (t === "[]byte") {
            return "S";
        }
        if (t.startsWith("[]")) {
            return `L:${resolve(dir, t.slice(2), imports)}`;
        }
        const map = /^map\[[^\]]+\](.*)$/.exec(t);
        if (map) {
            return `M:${resolve(dir, map[1], imports)}`;
        }
        if (t === "any" || t === "interface{}") {
            return "A";
        }
        if (SCALARS.has(t)) {
            return "S";
        }
        let target = dir;
        let name = t;
        if (t.includes(".")) {
            const [alias, n] = t.split(".");
            const path = imports.get(alias) ?? "";
            if (path === X509_IMPORT && X509_TYPES[n] !== undefined) {
                types[`x509.${n}`] = X509_TYPES[n];
                return `T:x509.${n}`;
            }
            if (!path.startsWith(TYPES_IMPORT) || !pkgs.has(path.slice(TYPES_IMPORT.length))) {
                return "A";
            }
            target = path.slice(TYPES_IMPORT.length);
            name = n;
        }
        const pkg = pkgs.get(target);
        const id = `${target}.${name}`;
        if (pkg === undefined || pkg.selfDecoding.has(name) || name === "Unstructured" || inProgress.has(id)) {
            return pkg !== undefined && inProgress.has(id) && pkg.structs.has(name) ? `T:${id}` : "A";
        }
        const struct = pkg.structs.get(name);
        if (struct?.embeds) {
            return "A"; // it may decode itself through a promoted method
        }
        if (struct) {
            if (types[id] === undefined) {
                inProgress.add(id);
                const fields: Record<string, string> = {};
                for (const f of struct.fields) {
                    const r = resolve(target, f.type, struct.imports);
                    if (!f.inline) {
                        fields[f.key] = r;
                    } else if (r.startsWith("T:") && types[r.slice(2)] !== undefined) {
                        Object.assign(fields, types[r.slice(2)]);
                    } else {
                        fields["*"] = "A"; // an inlined map or unknown type: any key
                    }
                }
                types[id] = fields;
                inProgress.delete(id);
            }
            return `T:${id}`;
        }
        const def = pkg.definitions.get(name);
        if (def) {
            inProgress.add(id);
            const r = resolve(target, def.type, def.imports);
            inProgress.delete(id);
            return r;
        }
        return "S"; // e.g. an enum declared as `type X int` on a line we do not parse
    };

    const kinds: Record<string, string> = {};
    for (const [dir, pkg] of pkgs) {
        for (const [file, src] of pkg.files) {
            for (const m of src.matchAll(/registry\.Register\(\s*("?[\w.]+"?)\s*,\s*func\(version string\) config\.Document \{([\s\S]*?)\n\t\}\)/g)) {
                const kind = m[1].startsWith('"') ? m[1].slice(1, -1) : pkg.constants.get(m[1]);
                const struct = /return &(\w+)\{/.exec(m[2])?.[1];
                if (kind === undefined || struct === undefined) {
                    throw new Error(`${tag}: cannot read the registration ${m[1]} in ${file}`);
                }
                kinds[kind] = resolve(dir, struct, new Map());
            }
        }
    }
    return { kinds, types };
}

function render(perTag: { minor: string; kinds: Record<string, string>; types: Record<string, Record<string, string>> }[]): string {
    const minors = perTag.map((t) => t.minor);
    const restrict = (expr: string, at: string[]) => (at.length === minors.length ? expr : `${expr}@${at.join(",")}`);
    // One expression per (thing, key) across minors; a changed type is accepted as anything.
    const mergeOver = (get: (t: (typeof perTag)[number]) => string | undefined): string | undefined => {
        const at = perTag.filter((t) => get(t) !== undefined);
        if (at.length === 0) {
            return undefined;
        }
        const exprs = [...new Set(at.map((t) => get(t) as string))];
        return restrict(exprs.length === 1 ? exprs[0] : "A", at.map((t) => t.minor));
    };

    const kinds: Record<string, string> = {};
    for (const kind of [...new Set(perTag.flatMap((t) => Object.keys(t.kinds)))].sort()) {
        kinds[kind] = mergeOver((t) => t.kinds[kind]) as string;
    }
    const types: Record<string, Record<string, string>> = {};
    const visit = (expr: string) => {
        for (const m of expr.matchAll(/T:([\w./]+)/g)) {
            const id = m[1];
            if (types[id] !== undefined) {
                continue;
            }
            types[id] = {};
            const keys = [...new Set(perTag.flatMap((t) => Object.keys(t.types[id] ?? {})))];
            for (const key of keys) {
                types[id][key] = mergeOver((t) => t.types[id]?.[key]) as string;
                for (const t of perTag) {
                    visit(t.types[id]?.[key] ?? "");
                }
            }
        }
    };
    for (const t of perTag) {
        Object.values(t.kinds).forEach(visit);
    }
    const sorted = Object.fromEntries(Object.keys(types).sort().map((id) => [id, types[id]]));
    return `// GENERATED by scripts/talos-schema-extract.ts from siderolabs/talos ${TAGS.map(([, t]) => t).join(", ")}: the YAML keys
// of every config document kind (Go struct tags under ${ROOT}). Do not edit by hand;
// schema.ts explains the notation.

/** document kind → type expression */
export const DOCUMENT_KINDS: Readonly<Record<string, string>> = ${JSON.stringify(kinds, null, 4)};

/** type id → YAML key → type expression */
export const DOCUMENT_TYPES: Readonly<Record<string, Readonly<Record<string, string>>>> = ${JSON.stringify(sorted, null, 4)};
`;
}

if (require.main === module) {
    const [gitDir, outFile] = process.argv.slice(2);
    if (gitDir === undefined || outFile === undefined) {
        throw new Error("usage: tsx scripts/talos-schema-extract.ts <talos git dir> <output file>");
    }
    main(gitDir, outFile);
}
