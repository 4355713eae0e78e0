// Stack config as Pulumi hands it to the program: every key of the stack, in every namespace, each
// value a string (objects as JSON). A key of ours written in another namespace (`talos:clusterName`)
// would otherwise be ignored without a word. Pure; part of the stack-config parser (./config.ts).

import { nearestKey, moveFix } from "./configfixes";
import { CONFIG_NAMESPACE, ourKey, type Problems } from "./configproblems";

/**
 * The namespaces that are read, but not by us: Pulumi's own and those of the providers this
 * program declares resources of (package.json's @pulumi/* dependencies). Left alone.
 */
export const PROVIDER_NAMESPACES: readonly string[] = ["pulumi", "docker", "kubernetes", "command", "tls", "random"];

/**
 * Splits Pulumi's whole config (`namespace:key` → value) into our keys, without the namespace,
 * and everyone else's, whole. Older engines write "talos-docker:config:key": the same key.
 */
export function splitNamespaces(
    all: Readonly<Record<string, string>>,
): { ours: Record<string, string>; others: Record<string, string> } {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const ours: Record<string, string> = {};
    const others: Record<string, string> = {};
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(prefix)) ours[key.slice(prefix.length).replace(/^config:/, "")] = value;
        else others[key] = value;
    }
    return { ours, others };
}

/**
 * A key named like one of ours in a namespace nobody here reads is refused: the program would
 * run without it, which is never what was meant. Any other key of such a namespace is a warning
 * only, since another tool may read this stack's config.
 */
export function checkOtherNamespaces(
    p: Problems,
    others: Readonly<Record<string, string>>,
    ourKeys: readonly string[],
): void {
    for (const [fullKey, text] of Object.entries(others)) {
        const colon = fullKey.indexOf(":");
        if (colon < 0 || PROVIDER_NAMESPACES.includes(fullKey.slice(0, colon))) continue;
        const name = fullKey.slice(colon + 1);
        const value = configValue(text);
        // Only the same name (in any case) counts here: a near miss in a namespace of its own is
        // more likely another tool's key than a typo of ours.
        const meant = ourKeys.find((k) => k.toLowerCase() === name.toLowerCase());
        if (meant !== undefined) {
            p.addFullKey(fullKey, value,
                `is not read: this program reads the ${CONFIG_NAMESPACE} namespace only; did you mean ${ourKey(meant)}?`,
                moveFix(p, p.rmFullKey(fullKey), meant, value), "error");
            continue;
        }
        const near = nearestKey(name, ourKeys);
        p.addFullKey(fullKey, value,
            `is not read by this program (namespace ${CONFIG_NAMESPACE}) ` +
                `or its providers (${PROVIDER_NAMESPACES.join(", ")})` +
                `${near === undefined ? "" : `; did you mean ${ourKey(near)}?`}`,
            `${p.rmFullKey(fullKey)}, unless another tool reads it from this stack`, "warning");
    }
}

/** Structured values arrive as JSON; anything else is the user's plain string. */
export function configValue(text: string | undefined): unknown {
    try {
        return JSON.parse(text ?? "");
    } catch {
        return text;
    }
}
