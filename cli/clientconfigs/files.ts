// Where the user's kubeconfig and talosconfig live, and writing them safely: the first path of
// KUBECONFIG / TALOSCONFIG as kubectl and talosctl do, a backup of what was there, an atomic
// replace with owner-only permissions (the files hold admin keys).
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";

export type ClientConfigKind = "kubeconfig" | "talosconfig";

/** The file kubectl (KUBECONFIG, first entry) or talosctl (TALOSCONFIG) reads, or their default. */
export function userConfigPath(kind: ClientConfigKind, env: Readonly<Record<string, string | undefined>>, home = homedir()): string {
    switch (kind) {
        case "kubeconfig": {
            const first = (env.KUBECONFIG ?? "").split(delimiter).find((p) => p !== "");
            return first ?? join(home, ".kube", "config");
        }
        case "talosconfig":
            return env.TALOSCONFIG || join(home, ".talos", "config");
        default: {
            const never: never = kind;
            throw new Error(`unknown client config ${String(never)}`);
        }
    }
}

export function readIfExists(path: string): string | undefined {
    return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/**
 * Replaces `path` with `text`: the previous content goes to `<path>.bak` (one backup, the state
 * before our last change), the new content to a temporary file that is renamed over the old, so
 * a crash never leaves half a kubeconfig. Returns the backup's path when one was made.
 */
export function writeWithBackup(path: string, text: string): string | undefined {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let backup: string | undefined;
    if (existsSync(path)) {
        backup = `${path}.bak`;
        copyFileSync(path, backup);
    }
    const temporary = `${path}.tmp-${process.pid}`;
    writeFileSync(temporary, text, { mode: 0o600 });
    renameSync(temporary, path);
    return backup;
}
