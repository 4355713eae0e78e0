// Local storage for local-path-provisioner: the kubelet must bind-mount the host path it uses,
// which must sit under /var (the rest of the Talos root is read-only). This is the patch Talos'
// documentation gives (talos@v1.9.6:website/content/v1.8/kubernetes-guides/configuration/local-storage.md),
// applied before the user's patches so they can still change it.

import { posix } from "node:path";

import type { ConfigPatch } from "../patch/types";
import type { KubernetesConfigStyle } from "../versions";
import { kubernetesInV1alpha1 } from "./styles";

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

/**
 * The patches local storage at `path` needs at a contract: the kubelet's bind mount while the
 * kubelet is configured in v1alpha1 (`machine.kubelet.extraMounts`), none from v1.14. There the
 * generator writes a KubeletConfig document, which has no mounts (talos@v1.14.1:
 * pkg/machinery/config/types/k8s/kubelet.go `ExtraMounts` returns nil) and which machinery refuses
 * next to a `machine.kubelet` ("kubelet config is already set in v1alpha1 config"). The
 * provisioner's hostPath volumes are expected to work without it: containerd, in the node's
 * mount namespace, creates a missing hostPath source under /var, and the kubelet (its own root
 * not read-only: internal/app/machined/pkg/system/services/kubelet.go at v1.14.0-rc.1) passes its
 * DirectoryOrCreate check; Talos' v1.14 integration tests deploy local-path-provisioner on
 * /var/local-path-provisioner (internal/integration/k8s/tink.go). Not yet seen on a running v1.14
 * node here: the build machine cannot pull the Talos image.
 */
export function storagePatches(style: KubernetesConfigStyle, path: string): ConfigPatch[] {
    return kubernetesInV1alpha1(style) ? [storagePatch(path)] : [];
}

function storagePatch(path: string): ConfigPatch {
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
