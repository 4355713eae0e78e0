// Reads the stack's `talos-docker:*` config and validates it before any resource is declared. A
// user mistake leaves as a RunError: Pulumi prints its message alone, without a stack trace. What
// is allowed but unwise is logged as a warning.
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ClusterSpec, ConfigError, ConfigIo, formatWarning, parseAllConfig, ParseOptions } from "../model/config";
import { stackFileName } from "../model/configproblems";

/** Files named in config are relative to the project directory, where Pulumi runs the program. */
const projectFiles: ConfigIo = {
    readFile(path) {
        try {
            return readFileSync(resolve(process.cwd(), path), "utf8");
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            throw new Error(code === "ENOENT" ? `no such file: ${resolve(process.cwd(), path)}` : (code ?? String(err)));
        }
    },
};

export function readStackConfig(): ClusterSpec {
    // Every namespace: the parser also refuses keys of ours written in another one.
    return parseOrRunError(pulumi.runtime.allConfig(), projectFiles, {
        secretKeys: secretConfigKeys(),
        stackFile: stackFileName(pulumi.getStack()),
    });
}

/**
 * The config keys set with `--secret`. The language host hands them to the program in
 * PULUMI_CONFIG_SECRET_KEYS (a JSON list of keys), where @pulumi/pulumi's runtime reads them
 * (runtime/state.js); the SDK keeps its own reader internal.
 */
function secretConfigKeys(): string[] {
    try {
        const keys: unknown = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]");
        return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : [];
    } catch {
        return [];
    }
}

/**
 * The spec of the whole stack config (`namespace:key` → value), each warning logged; every
 * problem at once as a RunError.
 */
export function parseOrRunError(
    all: Readonly<Record<string, string>>,
    io: ConfigIo = projectFiles,
    options: Omit<ParseOptions, "io"> = {},
    warn: (message: string) => void = (message) => void pulumi.log.warn(message),
): ClusterSpec {
    try {
        const { spec, warnings } = parseAllConfig(all, { ...options, io });
        for (const warning of warnings) warn(formatWarning(warning));
        return spec;
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const warning of err.warnings) warn(formatWarning(warning));
        throw new pulumi.RunError(err.message);
    }
}
