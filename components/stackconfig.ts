// Reads the stack's `talos-docker:*` config and validates it before any resource is declared. A
// user mistake leaves as a RunError: Pulumi prints its message alone, without a stack trace.
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec, CONFIG_NAMESPACE, ConfigError, parseClusterSpec, RawConfig } from "./config";

export function readStackConfig(): ClusterSpec {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        // Keys may arrive as "talos-docker:config:key" from older engines; both mean the same key.
        if (key.startsWith(prefix)) raw[key.slice(prefix.length).replace(/^config:/, "")] = value;
    }
    return parseOrRunError(raw);
}

export function parseOrRunError(raw: RawConfig): ClusterSpec {
    try {
        return parseClusterSpec(raw);
    } catch (err) {
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}
