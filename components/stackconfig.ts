// Reads the stack's `talos-docker:*` config and validates it before any resource is declared. A
// user mistake leaves as a RunError: Pulumi prints its message alone, without a stack trace.
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ClusterSpec, CONFIG_NAMESPACE, ConfigError, ConfigIo, parseClusterSpec, RawConfig } from "./config";

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
    const prefix = `${CONFIG_NAMESPACE}:`;
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        // Keys may arrive as "talos-docker:config:key" from older engines; both mean the same key.
        if (key.startsWith(prefix)) raw[key.slice(prefix.length).replace(/^config:/, "")] = value;
    }
    return parseOrRunError(raw);
}

export function parseOrRunError(raw: RawConfig, io: ConfigIo = projectFiles): ClusterSpec {
    try {
        return parseClusterSpec(raw, io);
    } catch (err) {
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}
