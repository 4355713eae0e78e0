// Local storage for local-path-provisioner: the kubelet must bind-mount the host path it uses,
// which must sit under /var (the rest of the Talos root is read-only). This is the patch Talos'
// documentation gives (talos@v1.9.6:website/content/v1.8/kubernetes-guides/configuration/local-storage.md),
// applied before the user's patches so they can still change it.

import { posix } from "node:path";

import type { ConfigPatch } from "../patch/types";

/** Where local-path-provisioner keeps volumes on Talos, per the same guide. */
export const DEFAULT_STORAGE_PATH = "/var/local-path-provisioner";

/**
 * What a storage path must be, in words, for every message about one. The path is written as it
 * is into the kubelet's bind mount and the provisioner's root, so it must be the one plain
 * spelling of a directory under /var: `/var/foo/`, `/var/./foo` or `/var//foo` would name the
 * same directory as `/var/foo` in one place and another string in the other. No whitespace, as
 * config validation always required: blanks in a node path are a typo far more often than meant,
 * and every consumer (the kubelet mount, the provisioner's helper-pod script) would have to quote it.
 */
export const STORAGE_PATH_RULE =
    'an absolute path under /var with no whitespace, no trailing "/" and no empty, "." or ".." segment';

/**
 * The one rule for a storage path (config validation, the storage manifest and the machine config
 * all ask this): absolute, normalized, under /var.
 */
export function isValidStoragePath(path: string): boolean {
    const segments = path.split("/");
    return (
        path.startsWith("/var/") &&
        !/\s/.test(path) &&
        !path.endsWith("/") &&
        segments.slice(1).every((s) => s !== "" && s !== "." && s !== "..")
    );
}

/** The valid spelling of the directory `path` names (`/var/foo/` → `/var/foo`), or undefined when it has none. */
export function normalizeStoragePath(path: string): string | undefined {
    const normal = posix.normalize(path).replace(/\/+$/, "");
    return isValidStoragePath(normal) ? normal : undefined;
}

export function storagePatch(path: string): ConfigPatch {
    return {
        kind: "strategic",
        documents: [
            {
                machine: {
                    kubelet: {
                        extraMounts: [{ destination: path, type: "bind", source: path, options: ["bind", "rshared", "rw"] }],
                    },
                },
            },
        ],
    };
}
