// Reads the stack's `talos-docker:*` config and validates it before any resource is declared, then
// checks it against what the stack's last update left running (its own outputs). A user mistake
// leaves as a RunError: Pulumi prints its message alone, without a stack trace. What is allowed
// but unwise is logged as a warning.
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
    ConfigChangeError, readScheduling, readSecretsIdentity, readVersions, RECORD_OUTPUTS, refuseChanges,
    selfReferenceName, type PreviousRun,
} from "../model/clusterchange";
import { ClusterSpec, ConfigError, ConfigIo, formatWarning, parseAllConfig, ParseOptions } from "../model/config";
import { stackFileName } from "../model/configproblems";
import { readNodes } from "../model/nodechange";

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

function problemsOptions() {
    return { secretKeys: secretConfigKeys(), stackFile: stackFileName(pulumi.getStack()) };
}

export function readStackConfig(): ClusterSpec {
    // Every namespace: the parser also refuses keys of ours written in another one.
    return parseOrRunError(pulumi.runtime.allConfig(), projectFiles, problemsOptions());
}

/**
 * The stack's own outputs as its last update left them, read through a StackReference to the
 * stack itself: empty on a stack that was never updated (and after `pulumi destroy`), in preview
 * as in `up`.
 */
export async function readPreviousRun(name: string): Promise<PreviousRun> {
    const stack = selfReferenceName(pulumi.getOrganization(), pulumi.getProject(), pulumi.getStack());
    const self = new pulumi.StackReference(name, { name: stack });
    const [versions, secrets, nodes, scheduling] = await Promise.all([
        self.getOutputDetails(RECORD_OUTPUTS.versions),
        self.getOutputDetails(RECORD_OUTPUTS.secrets),
        self.getOutputDetails(RECORD_OUTPUTS.nodes),
        self.getOutputDetails(RECORD_OUTPUTS.scheduling),
    ]);
    return {
        versions: readVersions(versions.value),
        secrets: readSecretsIdentity(secrets.value),
        nodes: readNodes(nodes.value),
        scheduling: readScheduling(scheduling.value),
    };
}

/**
 * Refuses, as one RunError, the changes of `spec` the running cluster cannot take (a Talos or
 * Kubernetes move Talos does not allow, new CAs, a node at a new address, control planes removed
 * past etcd's quorum); the program awaits it before declaring any resource, so a refused change
 * changes nothing. Returns what the last run left, which the cluster keeps (./cluster.ts).
 */
export async function refuseUnsafeChanges(spec: ClusterSpec, name: string): Promise<PreviousRun> {
    const previous = await readPreviousRun(name);
    try {
        refuseChanges(previous, spec, problemsOptions());
    } catch (err) {
        if (err instanceof ConfigChangeError) throw new pulumi.RunError(err.message);
        throw err;
    }
    return previous;
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
