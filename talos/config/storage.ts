// Local storage for local-path-provisioner: the kubelet must bind-mount the host path it uses,
// which must sit under /var (the rest of the Talos root is read-only). This is the patch Talos'
// documentation gives (talos@v1.9.6:website/content/v1.8/kubernetes-guides/configuration/local-storage.md),
// applied before the user's patches so they can still change it.

import type { ConfigPatch } from "../patch/types";

/** Where local-path-provisioner keeps volumes on Talos, per the same guide. */
export const DEFAULT_STORAGE_PATH = "/var/local-path-provisioner";

/** Whether Talos lets the kubelet use this path for storage: absolute, normalized, under /var. */
export function isValidStoragePath(path: string): boolean {
    const segments = path.split("/");
    return (
        path.startsWith("/var/") &&
        !path.endsWith("/") &&
        segments.slice(1).every((s) => s !== "" && s !== "." && s !== "..")
    );
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
