// The stack's config as `doctor` sees it without the Pulumi CLI: the `talos-docker:*` keys of
// Pulumi.<stack>.yaml, handed to the program's own parser (model/config.ts), so doctor
// judges exactly the cluster `pulumi up` would declare.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

import {
    CONFIG_NAMESPACE, ConfigError, parseAllConfig, type ClusterSpec, type ConfigProblem,
} from "../../model/config";
import { stackFileName } from "../../model/configproblems";
import { isPlainObject, parseYamlDocuments } from "../../talos/yaml";
import { CliError, ExitCode } from "../exitcodes";
import { selectedStack } from "../pulumi";
import { didYouMean } from "../suggest";

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

/** The stack doctor checks and its file; neither when there is no stack file at all (defaults). */
export interface FoundStack {
    stack?: string;
    file?: string;
    /** how it was chosen, when that is worth saying */
    note?: string;
}

/** The stack a file is the config of: Pulumi.<stack>.yaml (or .yml), else undefined. */
export function stackOfFile(path: string): string | undefined {
    return /^Pulumi\.(.+)\.ya?ml$/.exec(basename(path))?.[1];
}

/** The stacks that have a file in the directory, by name. */
export function stackFiles(projectDir: string): Map<string, string> {
    const names = existsSync(projectDir) ? readdirSync(projectDir).sort() : [];
    const files = new Map<string, string>();
    for (const name of names) {
        const stack = stackOfFile(name);
        if (stack !== undefined && !files.has(stack)) files.set(stack, join(projectDir, name));
    }
    return files;
}

/** The other stack of this project whose config makes a Talos cluster of that name (its clusterName), if one does. */
export function stackMaking(projectDir: string, cluster: string, except: string | undefined): string | undefined {
    const stacks = [...stackFiles(projectDir).keys()].filter((stack) => stack !== except);
    return stacks.find((stack) => readStackConfig(projectDir, stack).spec?.clusterName === cluster);
}

/** What Pulumi said when asked for its selected stack: its name, or why there is none. */
export type PulumiSelection = { name: string } | { why: string };

/** Pulumi's selected stack for the project in `projectDir` (`pulumi stack --show-name`); without a Pulumi CLI, why. */
export async function pulumiSelection(projectDir: string, env: Readonly<Record<string, string | undefined>>): Promise<PulumiSelection> {
    try {
        return await selectedStack(env, projectDir);
    } catch (err) {
        if (err instanceof CliError) return { why: "the Pulumi CLI (pulumi) is not on PATH" };
        // Spawning it failed otherwise (EACCES: a `pulumi` on PATH that is not executable).
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== undefined) return { why: `the Pulumi CLI cannot be run (${code})` };
        throw err;
    }
}

/**
 * The stack file to check, as the other commands pick their stack: the one --stack names, else
 * the one Pulumi has selected, else (no selection, or no Pulumi CLI) the only stack file there is;
 * the defaults when there is none. A stack without a file is a usage error naming the stacks that
 * have one: Pulumi would run it on the defaults, which is not what a typo means.
 */
export function findStackFile(projectDir: string, requested: string | undefined, selected?: PulumiSelection): FoundStack {
    const files = stackFiles(projectDir);
    const known = files.size > 0 ? `stacks with a file: ${[...files.keys()].join(", ")}` : "no stack has a file there";
    if (requested !== undefined) {
        const file = files.get(requested);
        if (file !== undefined) return { stack: requested, file };
        throw new CliError(ExitCode.USAGE,
            `doctor: stack "${requested}" has no ${stackFileName(requested)} in ${projectDir} (${known}): `
            + `check the name given to --stack${didYouMean(requested, [...files.keys()])}`);
    }
    if (selected !== undefined && "name" in selected) {
        const file = files.get(selected.name);
        if (file !== undefined) return { stack: selected.name, file, note: `stack ${selected.name}: the one Pulumi has selected` };
        throw new CliError(ExitCode.USAGE,
            `doctor: the selected stack "${selected.name}" has no ${stackFileName(selected.name)} `
            + `in ${projectDir} (${known}): pass --stack NAME, or select another (pulumi stack select NAME)`);
    }
    const why = selected === undefined ? "" : ` (${selected.why})`;
    const [only, ...more] = [...files.entries()];
    if (only === undefined) return { note: `no ${stackFileName("<stack>")} in ${projectDir}: checking the defaults` };
    if (more.length > 0) {
        const stacks = [...files.keys()].join(", ");
        throw new CliError(ExitCode.USAGE, `doctor: no Pulumi stack is selected${why} and several have a file in ${projectDir} (${stacks}): pass --stack NAME`);
    }
    const note = selected === undefined ? undefined : `no Pulumi stack is selected${why}: checking the only stack file, stack ${only[0]}`;
    return { stack: only[0], file: only[1], note };
}

export function readStackConfig(projectDir: string, stack: string | undefined, selected?: PulumiSelection): StackConfig {
    const found = findStackFile(projectDir, stack, selected);
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
