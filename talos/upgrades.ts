// Which version changes a running cluster can take, as Talos judges them. In a container Talos
// never runs its installer, where these rules live (talos@v1.13.9:cmd/installer/pkg/install/
// preflight.go), and the Upgrade API is refused: a new image simply boots on the old volumes. So the
// rules are ours to apply before anything changes.

import {
    contractFor, isSupportedKubernetes, parseKubernetesVersion, parseTalosVersion, TALOS_MINORS, versionContract,
} from "./versions";

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

/**
 * The release a refused Talos change can go to first: the minor furthest toward `to` that nodes
 * running `from` may move to (its latest release), or undefined when there is none.
 */
export function talosStepToward(from: string, to: string): string | undefined {
    const running = parseTalosVersion(from);
    const target = parseTalosVersion(to);
    if (running === undefined || target === undefined) return undefined;
    const up = compare(target, running) > 0;
    // The minors strictly between the two, furthest toward the target first.
    const between = TALOS_MINORS.map(contractFor).filter((c) => {
        const m = majorMinor(c.minor);
        const [low, high] = up ? [running, target] : [target, running];
        return compare(low, m) < 0 && compare(m, high) < 0;
    });
    const ordered = up ? [...between].reverse() : between;
    return ordered.map((c) => c.latestRelease).find((release) => talosChangeProblem(from, release) === undefined);
}

/**
 * The version a refused Kubernetes upgrade can go to first, on Talos `talosVersion`: the next minor
 * (its .0 release), when that Talos runs it; undefined for a downgrade or when it does not.
 */
export function kubernetesStepToward(from: string, to: string, talosVersion: string): string | undefined {
    const a = parseKubernetesVersion(from);
    const b = parseKubernetesVersion(to);
    const contract = versionContract(talosVersion);
    if (a === undefined || b === undefined || contract === undefined || compare(b, a) <= 0) return undefined;
    const step = `${a.major}.${a.minor + 1}.0`;
    return isSupportedKubernetes(contract, step) ? step : undefined;
}
