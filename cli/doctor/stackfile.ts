// The stack's config as `doctor` sees it without the Pulumi CLI: the `talos-docker:*` keys of
// Pulumi.<stack>.yaml, handed to the program's own parser (components/config.ts), so doctor
// judges exactly the cluster `pulumi up` would declare.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";

import { parse } from "yaml";

import { CONFIG_NAMESPACE, ConfigError, parseStackConfig, type ClusterSpec, type ConfigProblem } from "../../components/config";

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
    const raw: Record<string, string> = {};
    if (found.file !== undefined) {
        let doc: { config?: Record<string, unknown> } | null;
        try {
            doc = parse(readFileSync(found.file, "utf8")) as typeof doc;
        } catch (err) {
            return { file: found.file, error: `${found.file} is not YAML: ${(err as Error).message.split("\n")[0]}`, warnings: [], notes };
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
    // Fixes name the file doctor read; `pulumi config` acts on the selected stack unless told which.
    const options = { io, ...(found.file === undefined ? {} : { stackFile: basename(found.file) }), ...(stack === undefined ? {} : { stack }) };
    try {
        const { spec, warnings } = parseStackConfig(raw, options);
        return { file: found.file, spec, warnings, notes };
    } catch (err) {
        if (err instanceof ConfigError) return { file: found.file, error: err.message, warnings: [...err.warnings], notes };
        throw err;
    }
}
