// Values to propose in a config problem's fix: the nearest key for a typo, a spelling of a name
// that passes, the next free port. Pure; the rules themselves live in ./config.ts.

import { isPlainObject } from "../talos/yaml";
import { ourKey, type Problems } from "./configproblems";

/**
 * The candidate a misspelt key most likely meant: the same letters in another case, or at most
 * two edits away (one for short names), the closest first. Undefined when nothing is that near.
 */
export function nearestKey(name: string, candidates: readonly string[]): string | undefined {
    const lower = name.toLowerCase();
    const same = candidates.find((c) => c.toLowerCase() === lower);
    if (same !== undefined) return same;
    const limit = name.length <= 4 ? 1 : 2;
    let best: { key: string; distance: number } | undefined;
    for (const candidate of candidates) {
        const distance = editDistance(lower, candidate.toLowerCase());
        if (distance <= limit && (best === undefined || distance < best.distance)) best = { key: candidate, distance };
    }
    return best?.key;
}

/** Levenshtein distance with adjacent transpositions counted as one edit. */
function editDistance(a: string, b: string): number {
    // rows[i][j]: the distance between a's first i and b's first j characters (i or j when the other is 0).
    const rows = Array.from({ length: a.length + 1 }, (_, i) =>
        Array.from({ length: b.length + 1 }, (_, j) => Math.max(i, j) * Number(i === 0 || j === 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const substitution = rows[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
            let best = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, substitution);
            const transposed = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1];
            if (transposed) best = Math.min(best, rows[i - 2][j - 2] + 1);
            rows[i][j] = best;
        }
    }
    return rows[a.length][b.length];
}

/**
 * How to move a value from a key the program does not read (`removal`, the command that drops it)
 * to the key it meant (one of ours, without the namespace): one set per field for a small flat
 * object, a rename in the stack file for anything bigger.
 */
export function moveFix(p: Problems, removal: string, target: string, value: unknown): string {
    if (isScalar(value)) return `${removal} && ${p.set(target, value)}`;
    if (isPlainObject(value)) {
        const fields = Object.entries(value);
        const scalars = fields.flatMap(([field, v]) => (isScalar(v) ? [p.set(`${target}.${field}`, v)] : []));
        const small = fields.length > 0 && fields.length <= 4 && scalars.length === fields.length;
        if (small) return [removal, ...scalars].join(" && ");
    }
    return `rename the key to ${ourKey(target)} in ${p.stackFile}`;
}

function isScalar(value: unknown): value is string | number | boolean {
    return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/** The fix for one of our keys that the program does not read: remove it, or move its value where it was meant to go. */
export function unknownKeyFix(p: Problems, key: string, value: unknown, meant: string | undefined): string {
    return meant === undefined ? p.rm(key) : moveFix(p, p.rm(key), meant, value);
}

/** `My_Cluster` → `my-cluster`: the DNS label nearest to what was written, or undefined. */
export function proposeDnsLabel(value: string, maxLength: number): string | undefined {
    const label = value.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+/, "")
        .slice(0, maxLength).replace(/-+$/, "");
    return label === "" ? undefined : label;
}

/** A Docker object name nearest to what was written ([a-zA-Z0-9][a-zA-Z0-9_.-]*), or undefined. */
export function proposeDockerName(value: string): string | undefined {
    const name = value.replace(/[^a-zA-Z0-9_.-]+/g, "-").replace(/^[^a-zA-Z0-9]+/, "");
    return name === "" ? undefined : name;
}

/** "yes", "on", "1" … as the boolean they mean, or undefined. */
export function proposeBoolean(value: unknown): boolean | undefined {
    if (value === 1 || value === 0) return value === 1;
    if (typeof value !== "string") return undefined;
    const word = value.trim().toLowerCase();
    if (["true", "yes", "on", "1", "y"].includes(word)) return true;
    if (["false", "no", "off", "0", "n"].includes(word)) return false;
    return undefined;
}

/** The first port from `start` upwards (wrapping to 1024) that is none of `taken`. */
export function nextFreePort(start: number, taken: readonly number[]): number {
    for (let port = start; port <= 65535; port++) if (!taken.includes(port)) return port;
    for (let port = 1024; port < start; port++) if (!taken.includes(port)) return port;
    return start;
}
