// The stack's config as `doctor` sees it without the Pulumi CLI: the `talos-docker:*` keys of
// Pulumi.<stack>.yaml, handed to the program's own parser (components/config.ts), so doctor
// judges exactly the cluster `pulumi up` would declare.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

import { parse } from "yaml";

import { CONFIG_NAMESPACE, ConfigError, parseClusterSpec, type ClusterSpec } from "../../components/config";
import { CliError, ExitCode } from "../exitcodes";
import { selectedStack } from "../pulumi";
import { didYouMean } from "../suggest";

export interface StackConfig {
    /** the stack file, or undefined when none was found (defaults then) */
    file?: string;
    spec?: ClusterSpec;
    /** the config's problems, as `pulumi up` would print them */
    error?: string;
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
        throw new CliError(ExitCode.USAGE, `doctor: stack "${requested}" has no Pulumi.${requested}.yaml in ${projectDir} (${known}): `
            + `check the name given to --stack${didYouMean(requested, [...files.keys()])}`);
    }
    if (selected !== undefined && "name" in selected) {
        const file = files.get(selected.name);
        if (file !== undefined) return { stack: selected.name, file, note: `stack ${selected.name}: the one Pulumi has selected` };
        throw new CliError(ExitCode.USAGE, `doctor: the selected stack "${selected.name}" has no Pulumi.${selected.name}.yaml `
            + `in ${projectDir} (${known}): pass --stack NAME, or select another (pulumi stack select NAME)`);
    }
    const why = selected === undefined ? "" : ` (${selected.why})`;
    const [only, ...more] = [...files.entries()];
    if (only === undefined) return { note: `no Pulumi.<stack>.yaml in ${projectDir}: checking the defaults` };
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
    const raw: Record<string, string> = {};
    if (found.file !== undefined) {
        let doc: { config?: Record<string, unknown> } | null;
        try {
            doc = parse(readFileSync(found.file, "utf8")) as typeof doc;
        } catch (err) {
            return { file: found.file, error: `${found.file} is not YAML: ${(err as Error).message.split("\n")[0]}`, notes };
        }
        for (const [key, value] of Object.entries(doc?.config ?? {})) {
            if (!key.startsWith(`${CONFIG_NAMESPACE}:`) || value === undefined || value === null) continue;
            const name = key.slice(CONFIG_NAMESPACE.length + 1);
            if (typeof value === "object" && value !== null && "secure" in value) {
                notes.push(`${key} is encrypted: doctor cannot read it and checks the default`);
                continue;
            }
            raw[name] = typeof value === "string" ? value : JSON.stringify(value);
        }
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
    try {
        return { file: found.file, spec: parseClusterSpec(raw, io), notes };
    } catch (err) {
        if (err instanceof ConfigError) return { file: found.file, error: err.message, notes };
        throw err;
    }
}
