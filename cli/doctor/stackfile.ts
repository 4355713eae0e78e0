// The stack's config as `doctor` sees it without the Pulumi CLI: the `talos-docker:*` keys of
// Pulumi.<stack>.yaml, handed to the program's own parser (components/config.ts), so doctor
// judges exactly the cluster `pulumi up` would declare.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

import {
    CONFIG_NAMESPACE, ConfigError, parseAllConfig, type ClusterSpec, type ConfigProblem,
} from "../../components/config";
import { isPlainObject, parseYamlDocuments } from "../../talos/yaml";

export interface StackConfig {
    /** the stack file, or undefined when none was found (defaults then) */
    file?: string;
    spec?: ClusterSpec;
    /** the config's problems, each with its fix, as `pulumi up` would print them */
    error?: string;
    /** what is allowed but unwise, each with its fix, as `pulumi up` would warn of it */
    warnings: ConfigProblem[];
    notes: string[];
}

/** Pulumi.<stack>.yaml: the one named, else the only one in the directory. */
export function findStackFile(projectDir: string, stack: string | undefined): { file?: string; note?: string } {
    if (stack !== undefined) {
        const file = join(projectDir, `Pulumi.${stack}.yaml`);
        const yml = join(projectDir, `Pulumi.${stack}.yml`);
        return existsSync(file) ? { file } : existsSync(yml) ? { file: yml } : { note: `no ${file}: checking the defaults` };
    }
    const files = existsSync(projectDir) ? readdirSync(projectDir).filter((f) => /^Pulumi\..+\.ya?ml$/.test(f)).sort() : [];
    if (files.length === 1) return { file: join(projectDir, files[0]) };
    if (files.length === 0) return { note: `no Pulumi.<stack>.yaml in ${projectDir}: checking the defaults` };
    return { note: `several stacks (${files.join(", ")}): checking the defaults; name one with --stack` };
}

export function readStackConfig(projectDir: string, stack: string | undefined): StackConfig {
    const found = findStackFile(projectDir, stack);
    const notes = found.note ? [found.note] : [];
    let config: Record<string, string> = {};
    let secretKeys: string[] = [];
    if (found.file !== undefined) {
        const read = stackFileConfig(found.file, notes);
        if ("error" in read) return { file: found.file, error: read.error.message, warnings: [], notes };
        ({ config, secretKeys } = read);
    }
    const io = {
        readFile(path: string) {
            try {
                return readFileSync(resolve(projectDir, path), "utf8");
            } catch (err) {
                throw new Error((err as NodeJS.ErrnoException).code === "ENOENT" ? `no such file: ${resolve(projectDir, path)}` : String(err));
            }
        },
    };
    // Fixes name the file doctor read; `pulumi config` acts on the selected stack unless told which.
    const options = {
        io,
        secretKeys,
        ...(found.file === undefined ? {} : { stackFile: basename(found.file) }),
        ...(stack === undefined ? {} : { stack }),
    };
    try {
        const { spec, warnings } = parseAllConfig(config, options);
        return { file: found.file, spec, warnings, notes };
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return { file: found.file, error: err.message, warnings: [...err.warnings], notes };
    }
}

/**
 * The stack file's `config:` as Pulumi hands it to the program: key → string (objects as JSON).
 * Our encrypted values (`secure:`) are left out, each with a note: doctor cannot decrypt them;
 * another namespace's key that holds one is kept as a secret key, whose value is never shown. A
 * file that does not parse is one problem naming its line and column, never its text.
 */
function stackFileConfig(
    file: string,
    notes: string[],
): { config: Record<string, string>; secretKeys: string[] } | { error: ConfigError } {
    const problem = (message: string, fix: string) => ({ error: new ConfigError([{ key: file, message, fix }]) });
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        return problem(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
            `make ${file} readable, or name another stack with --stack`);
    }
    const { documents, problems } = parseYamlDocuments(text);
    if (problems.length > 0) {
        const [first] = problems;
        const where = first.line === undefined ? "" : ` at line ${first.line}, column ${first.column ?? 1}`;
        const more = problems.length === 1 ? "" : ` (and ${problems.length - 1} more after it)`;
        return problem(`is not valid YAML${where}: ${first.message}${more}`,
            `edit ${file}${where}; pulumi config cannot change a file it cannot read`);
    }
    const doc = documents[0] ?? {};
    const config = isPlainObject(doc) ? (doc.config ?? {}) : undefined;
    if (!isPlainObject(config)) {
        return problem("is not a Pulumi stack file: its config must be a mapping of key: value",
            `edit ${file} to have config: with one key: value a line`);
    }
    const result: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(config)) {
        if (!key.startsWith(`${CONFIG_NAMESPACE}:`) && hasEncrypted(value)) {
            secretKeys.push(key);
            result[key] = "";
            continue;
        }
        const readable = withoutEncrypted(value, key, notes);
        if (readable === undefined || readable === null) continue;
        result[key] = typeof readable === "string" ? readable : JSON.stringify(readable);
    }
    return { config: result, secretKeys };
}

function hasEncrypted(value: unknown): boolean {
    if (isEncrypted(value)) return true;
    if (Array.isArray(value)) return value.some(hasEncrypted);
    return isPlainObject(value) && Object.values(value).some(hasEncrypted);
}

/** A value set with `pulumi config set --secret`: `{secure: <ciphertext>}`. */
function isEncrypted(value: unknown): boolean {
    return isPlainObject(value) && Object.keys(value).length === 1 && typeof value.secure === "string";
}

/** The value without its encrypted parts (at any depth, as `--path --secret` writes them), each noted. */
function withoutEncrypted(value: unknown, path: string, notes: string[]): unknown {
    if (isEncrypted(value)) {
        notes.push(`${path} is encrypted: doctor cannot read it and checks the default`);
        return undefined;
    }
    if (Array.isArray(value)) {
        return value.map((item, i) => withoutEncrypted(item, `${path}[${i}]`, notes))
            .filter((item) => item !== undefined);
    }
    if (isPlainObject(value)) {
        const fields = Object.entries(value).map(([k, v]) => [k, withoutEncrypted(v, `${path}.${k}`, notes)] as const);
        return Object.fromEntries(fields.filter(([, v]) => v !== undefined));
    }
    return value;
}
