// Which version changes a running cluster can take, as Talos judges them. In a container Talos
// never runs its installer, where these rules live (talos@v1.13.9:cmd/installer/pkg/install/
// preflight.go), and the Upgrade API is refused: a new image simply boots on the old volumes. So the
// rules are ours to apply before anything changes.

import { parseKubernetesVersion, parseTalosVersion, versionContract } from "./versions";

function majorMinor(text: string): { major: number; minor: number } {
    const [major, minor] = text.split(".").map(Number);
    return { major, minor };
}

function compare(a: { major: number; minor: number }, b: { major: number; minor: number }): number {
    return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/**
 * Why a node running Talos `from` cannot move to `to`, or undefined when it can: the target's
 * MinimumHostUpgradeVersion and MaximumHostDowngradeVersion, as `(*TalosVersion).UpgradeableFrom`
 * (talos@v1.13.9:pkg/machinery/compatibility/talos_version.go). One minor may be skipped going
 * up, and one minor back is a downgrade Talos allows.
 */
export function talosChangeProblem(from: string, to: string): string | undefined {
    const running = parseTalosVersion(from);
    const target = versionContract(to);
    if (running === undefined || target === undefined) return undefined; // validated elsewhere
    const lowest = majorMinor(target.upgrade.from);
    const below = majorMinor(target.upgrade.downgradeBelow);
    if (compare(running, lowest) < 0) {
        return `the nodes run Talos ${from}, and Talos v${target.minor} upgrades only from v${target.upgrade.from} ` +
            `or later: move to v${target.upgrade.from} (or the minor after it) first`;
    }
    if (compare(running, below) >= 0) {
        return `the nodes run Talos ${from}, and Talos v${target.minor} can be downgraded to only from releases ` +
            `before v${target.upgrade.downgradeBelow}: go down one minor at a time`;
    }
    return undefined;
}

/**
 * Why Kubernetes `from` cannot move to `to` on a running cluster, or undefined when it can: the
 * same minor (any patch), or the next minor, as talosctl upgrade-k8s allows
 * (siderolabs/go-kubernetes kubernetes/upgrade `Path.IsSupported`).
 */
export function kubernetesChangeProblem(from: string, to: string): string | undefined {
    const a = parseKubernetesVersion(from);
    const b = parseKubernetesVersion(to);
    if (a === undefined || b === undefined) return undefined; // validated elsewhere
    if (a.major === b.major && (b.minor === a.minor || b.minor === a.minor + 1)) return undefined;
    if (a.major === b.major && b.minor < a.minor) {
        return `the cluster runs Kubernetes ${from}: a downgrade to another minor (${to}) is not supported; ` +
            "recreate the cluster (pulumi destroy, then pulumi up) to run an older Kubernetes";
    }
    return `the cluster runs Kubernetes ${from}: it moves one minor at a time, so ${to} needs ` +
        `${a.major}.${a.minor + 1}.x first`;
}
