import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const projectRoot = join(__dirname, "..", "..");

/** A stack file's `talos-docker:*` config with the namespace stripped, values as written. */
export function stackFile(file: string): Record<string, unknown> {
    const doc = parse(readFileSync(join(projectRoot, file), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^talos-docker:/, ""), v]));
}

/** Config values as the Pulumi CLI hands them to a program: strings, objects as JSON. */
export function asRawConfig(values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}
