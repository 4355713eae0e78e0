// The version contract: every way the generated configs differ between Talos minors lives here and
// nowhere else. The gates mirror talos@v1.14.1:pkg/machinery/config/contract.go (the method named
// in each comment); the Docker additions mirror what `talosctl cluster create` does at that
// minor's own tag (each minor's talosctl generating for its own contract).

/** The Talos minors we generate configs for. */
export type TalosMinor = "1.8" | "1.9" | "1.10" | "1.11" | "1.12" | "1.13" | "1.14";

/** Oldest first. */
export const TALOS_MINORS: readonly TalosMinor[] = ["1.8", "1.9", "1.10", "1.11", "1.12", "1.13", "1.14"];

/** How the stable hostname is asked for. */
export type StableHostnameStyle =
    /** `machine.features.stableHostname: true` */
    | "feature"
    /** a second document `kind: HostnameConfig` with `auto: stable` */
    | "hostnameConfigDocument";

/** Where registry mirrors go. */
export type RegistryMirrorStyle =
    /** `machine.registries.mirrors.<host>.endpoints` */
    | "machineRegistries"
    /** one `kind: RegistryMirrorConfig` document per host */
    | "registryMirrorConfigDocuments";

/** Where host DNS is switched on (container mode requires it). */
export type HostDnsStyle =
    /** `machine.features.hostDNS` */
    | "machineFeatures"
    /** the `hostDNS` section of a `kind: ResolverConfig` document */
    | "resolverConfigDocument";

/** Where the discovery service and the cluster's identity (`cluster.id`, `cluster.secret`) are written. */
export type DiscoveryStyle =
    /** `cluster.id`, `cluster.secret` and `cluster.discovery` of the v1alpha1 document */
    | "v1alpha1Cluster"
    /** a `kind: DiscoveryServiceConfig` document (name "default") and a `kind: DiscoveryIdentityConfig` one */
    | "discoveryDocuments";

/** Where Kubernetes (its components, CAs, network, the kubelet and the node's labels) is configured. */
export type KubernetesConfigStyle =
    /** `cluster.*` and `machine.kubelet`, `machine.nodeLabels`, `machine.features.kubePrism` of the v1alpha1 document */
    | "v1alpha1"
    /** one `kind: Kube…Config` document per component (talos@v1.14.1:pkg/machinery/config/generate/kubernetes.go) */
    | "kubeDocuments";

export interface VersionContract {
    minor: TalosMinor;
    /** the Talos patch release we test with, e.g. "v1.8.3" */
    referenceVersion: string;
    /** the minor's latest patch release, e.g. "v1.8.4"; every patch from .0 up to it exists */
    latestRelease: string;
    /** Kubernetes versions this Talos minor supports: default "X.Y.Z", min and max "X.Y" (inclusive). */
    kubernetes: { default: string; min: string; max: string };
    /**
     * Which running Talos a node may move to this minor from ("X.Y"): at least `from`, and below
     * `downgradeBelow` (so one minor back is a downgrade Talos allows). talos@TAG:
     * pkg/machinery/compatibility/talosNN/talosNN.go MinimumHostUpgradeVersion and
     * MaximumHostDowngradeVersion, applied by `(*TalosVersion).UpgradeableFrom`.
     */
    upgrade: { from: string; downgradeBelow: string };
    /** What Talos' own generator writes for this contract (talos@TAG:pkg/machinery/config/generate/). */
    config: {
        /**
         * `machine.features.rbac` and `.apidCheckExtKeyUsage` are written (both are always on; from
         * v1.12 they are no longer written). contract.go `HideRBACAndKeyUsage`.
         */
        writeRbacAndApidKeyUsageFlags: boolean;
        /** contract.go `MultidocNetworkConfigSupported` (and `StableHostnameEnabled`). */
        stableHostname: StableHostnameStyle;
        /** contract.go `MultidocNetworkConfigSupported` (talos@v1.12.11:pkg/machinery/config/generate/registry.go). */
        registryMirrors: RegistryMirrorStyle;
        /**
         * `cluster.apiServer.certSANs` starts with the control plane endpoint's host; from v1.12
         * Talos adds the endpoint itself at runtime. contract.go `PopulateClusterSANsFromEndpoint`.
         */
        apiServerSANsFromEndpoint: boolean;
        /** `cluster.apiServer.disablePodSecurityPolicy: true` is written. contract.go `HideDisablePSP`. */
        writeDisablePodSecurityPolicy: boolean;
        /** `machine.install.grubUseUKICmdline: true` is written. contract.go `GrubUseUKICmdlineDefault`. */
        grubUseUKICmdline: boolean;
        /**
         * An empty `machine.network: {}` is written when nothing else goes there.
         * contract.go `KubeSpanMultidocConfig` (talos@v1.13.9:pkg/machinery/config/generate/network.go).
         */
        emptyMachineNetwork: boolean;
        /** contract.go `HostDNSMultidocConfig` (talos@v1.14.1:pkg/machinery/config/generate/init.go). */
        hostDNS: HostDnsStyle;
        /**
         * contract.go `DiscoveryServiceMultidocConfig` and `DiscoveryIdentityMultidocConfig` (the
         * same gate): generate/init.go and worker.go write both documents, or both v1alpha1 forms.
         */
        discovery: DiscoveryStyle;
        /**
         * `machine.install` is written. contract.go `UnattendedInstallConfig`: from v1.14 the
         * generator writes a `kind: UnattendedInstallConfig` document instead, and only for an
         * install disk, which the Docker flow has not (generate/init.go).
         */
        machineInstall: boolean;
        /** contract.go `MultidocKubernetesConfigSupported`. */
        kubernetes: KubernetesConfigStyle;
        /**
         * A `kind: VolumeConfig` for EPHEMERAL with `mount.secure: true` and a `kind:
         * FilesystemTrimConfig` with the default interval are written. contract.go
         * `FilesystemTrimEnabledByDefault` (talos@v1.14.1:pkg/machinery/config/generate/block.go).
         */
        filesystemTrim: boolean;
        /**
         * A `kind: SecurityProfileConfig` with `workloadIsolation: true` is written. contract.go
         * `WorkloadIsolationEnabledByDefault` (talos@v1.14.1:pkg/machinery/config/generate/security_profile.go).
         */
        workloadIsolation: boolean;
    };
    /** What `talosctl cluster create` adds for the Docker provisioner at this minor's tag. */
    docker: {
        /**
         * `machine.network.interfaces: [{interface: eth0, ignore: true}]`: Docker owns the
         * container's address. talos@v1.12.11:pkg/provision/providers/docker/docker.go `GenOptions`
         * (only while `!MultidocNetworkConfigSupported`; unconditional at v1.8.3–v1.11.6).
         */
        ignoreEth0: boolean;
        /**
         * `machine.install.image` is set to the installer image. Up to v1.11 create.go passes
         * `generate.WithInstallImage(--install-image)` for every provisioner; from v1.12 only the
         * QEMU maker does (talos@v1.12.11:cmd/talosctl/cmd/mgmt/cluster/create/clusterops/configmaker/internal/makers/qemu.go).
         */
        installImage: boolean;
        /**
         * The container paths Talos' provisioner puts on volumes, in its order
         * (pkg/provision/providers/docker/node.go `createNode`: constants.EphemeralMountPoint,
         * StateMountPoint, then constants.Overlays). See nodeVolumePaths.
         */
        volumePaths: readonly string[];
    };
    /**
     * The config has more than one YAML document, so Talos' configpatcher refuses JSON6902
     * patches for it (talos@v1.13.9:pkg/machinery/config/configpatcher/json6902.go).
     */
    multiDocument: boolean;
}

const VERSION_PATTERN = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$/;
const KUBERNETES_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** "v1.8.3" (the leading v required, as Talos tags; a pre-release suffix such as "-beta.0" is allowed). */
export function parseTalosVersion(v: string): { major: number; minor: number; patch: number } | undefined {
    const m = VERSION_PATTERN.exec(v);
    if (!m) {
        return undefined;
    }
    return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** "1.31.1" (no leading v, as `talosctl --kubernetes-version` after trimming it). */
export function parseKubernetesVersion(v: string): { major: number; minor: number; patch: number } | undefined {
    const m = KUBERNETES_PATTERN.exec(v);
    if (!m) {
        return undefined;
    }
    return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

function isTalosMinor(s: string): s is TalosMinor {
    return (TALOS_MINORS as readonly string[]).includes(s);
}

/** The contract for a Talos version; undefined when its minor is unsupported or it does not parse. */
export function versionContract(talosVersion: string): VersionContract | undefined {
    const parsed = parseTalosVersion(talosVersion);
    if (!parsed) {
        return undefined;
    }
    const minor = `${parsed.major}.${parsed.minor}`;
    return isTalosMinor(minor) ? contractFor(minor) : undefined;
}

/** The contract of a supported minor. */
export function contractFor(minor: TalosMinor): VersionContract {
    const { referenceVersion, latestRelease, kubernetes, upgrade } = releaseFacts(minor);
    // contract.go: `Greater(TalosVersion1_11)` is true from v1.12 on.
    const after1_11 = minorNumber(minor) > 11;
    const after1_12 = minorNumber(minor) > 12;
    const after1_13 = minorNumber(minor) > 13;
    return {
        minor,
        referenceVersion,
        latestRelease,
        kubernetes,
        upgrade,
        config: {
            writeRbacAndApidKeyUsageFlags: !after1_11,
            stableHostname: after1_11 ? "hostnameConfigDocument" : "feature",
            registryMirrors: after1_11 ? "registryMirrorConfigDocuments" : "machineRegistries",
            apiServerSANsFromEndpoint: !after1_11,
            writeDisablePodSecurityPolicy: !after1_11,
            grubUseUKICmdline: after1_11,
            emptyMachineNetwork: !after1_12,
            hostDNS: after1_13 ? "resolverConfigDocument" : "machineFeatures",
            discovery: after1_13 ? "discoveryDocuments" : "v1alpha1Cluster",
            machineInstall: !after1_13,
            kubernetes: after1_13 ? "kubeDocuments" : "v1alpha1",
            filesystemTrim: after1_13,
            workloadIsolation: after1_13,
        },
        docker: {
            ignoreEth0: !after1_11,
            installImage: !after1_11,
            volumePaths: after1_13 ? VOLUME_PATHS_FROM_1_14 : VOLUME_PATHS_UP_TO_1_13,
        },
        // The HostnameConfig document is always generated from v1.12 on.
        multiDocument: after1_11,
    };
}

/**
 * /var (EPHEMERAL) and /system/state (STATE), then constants.Overlays: at talos@v1.8.3 … v1.13.9
 * /etc/cni, /etc/kubernetes, /usr/libexec/kubernetes and /opt. v1.14 keeps only /opt
 * (talos@v1.14.1:pkg/machinery/constants/constants.go `Overlays`): /etc/cni and /etc/kubernetes
 * became tmpfs that machined mounts over its read-only /etc at every boot (internal/app/machined/
 * pkg/runtime/v1alpha2/etc_overlay.go, commit f146c6a18 "refactor /etc mounts"), and the FlexVolume
 * path is gone (commit 6d65e223b).
 */
const VOLUME_PATHS_UP_TO_1_13: readonly string[] = [
    "/var", "/system/state", "/etc/cni", "/etc/kubernetes", "/usr/libexec/kubernetes", "/opt",
];
const VOLUME_PATHS_FROM_1_14: readonly string[] = ["/var", "/system/state", "/opt"];

/**
 * The container paths a node of this Talos version keeps on volumes: those of the minor it runs,
 * as Talos' own provisioner mounts them, also for a node whose stack ran an older minor before.
 * The paths v1.14 drops hold nothing it reads: it mounts fresh tmpfs over /etc/cni and
 * /etc/kubernetes at every boot (their volumes are hidden under its /etc, on metal as in a
 * container) and no longer uses /usr/libexec/kubernetes; a node of an older minor starts with
 * them empty, as a new node does, and Talos writes them again. Undefined for an unsupported minor.
 */
export function nodeVolumePaths(talosVersion: string): readonly string[] | undefined {
    return versionContract(talosVersion)?.docker.volumePaths;
}

/**
 * The release each minor is tested with, its latest patch release, and the Kubernetes versions it
 * supports: default from talos@TAG:pkg/machinery/constants/constants.go `DefaultKubernetesVersion`,
 * range from talos@TAG:pkg/machinery/compatibility/talosNN/talosNN.go `Minimum/MaximumKubernetesVersion`.
 * The latest releases are siderolabs/talos' tags as of v1.14.1 (2026-09-15), whose patch numbers
 * run from .0 without a gap; a newer patch needs its line here before the config accepts it.
 */
function releaseFacts(minor: TalosMinor): Pick<VersionContract, "referenceVersion" | "latestRelease" | "kubernetes" | "upgrade"> {
    switch (minor) {
        case "1.8":
            return {
                referenceVersion: "v1.8.3",
                latestRelease: "v1.8.4",
                kubernetes: { default: "1.31.2", min: "1.26", max: "1.31" },
                upgrade: { from: "1.5", downgradeBelow: "1.10" },
            };
        case "1.9":
            return {
                referenceVersion: "v1.9.6",
                latestRelease: "v1.9.6",
                kubernetes: { default: "1.32.4", min: "1.27", max: "1.32" },
                upgrade: { from: "1.8", downgradeBelow: "1.11" },
            };
        case "1.10":
            return {
                referenceVersion: "v1.10.9",
                latestRelease: "v1.10.9",
                kubernetes: { default: "1.33.6", min: "1.28", max: "1.33" },
                upgrade: { from: "1.8", downgradeBelow: "1.12" },
            };
        case "1.11":
            return {
                referenceVersion: "v1.11.6",
                latestRelease: "v1.11.6",
                kubernetes: { default: "1.34.1", min: "1.29", max: "1.34" },
                upgrade: { from: "1.9", downgradeBelow: "1.13" },
            };
        case "1.12":
            return {
                referenceVersion: "v1.12.11",
                latestRelease: "v1.12.11",
                kubernetes: { default: "1.35.4", min: "1.30", max: "1.35" },
                upgrade: { from: "1.10", downgradeBelow: "1.14" },
            };
        case "1.13":
            return {
                referenceVersion: "v1.13.9",
                latestRelease: "v1.13.9",
                kubernetes: { default: "1.36.3", min: "1.31", max: "1.36" },
                upgrade: { from: "1.11", downgradeBelow: "1.15" },
            };
        case "1.14":
            return {
                referenceVersion: "v1.14.1",
                latestRelease: "v1.14.1",
                kubernetes: { default: "1.37.0", min: "1.32", max: "1.37" },
                upgrade: { from: "1.12", downgradeBelow: "1.16" },
            };
        default: {
            const unreachable: never = minor;
            throw new Error(`unknown Talos minor ${String(unreachable)}`);
        }
    }
}

/**
 * Whether a supported minor has this release: its patch is at most the minor's latest. A suffix
 * (v1.9.0-beta.0, v1.8.3-custom) is taken as a build of that patch and not checked further.
 */
export function isTalosRelease(talosVersion: string): boolean {
    const contract = versionContract(talosVersion);
    const version = parseTalosVersion(talosVersion);
    const latest = contract === undefined ? undefined : parseTalosVersion(contract.latestRelease);
    return version !== undefined && latest !== undefined && version.patch <= latest.patch;
}

/** The supported minor nearest to a version: its own, else the oldest or the newest. */
export function nearestTalosMinor(version: { major: number; minor: number } | undefined): TalosMinor {
    const oldest = TALOS_MINORS[0];
    const newest = TALOS_MINORS[TALOS_MINORS.length - 1];
    if (version === undefined) return newest;
    const own = TALOS_MINORS.find((m) => m === `${version.major}.${version.minor}`);
    if (own !== undefined) return own;
    return compareMajorMinor(version, parseMajorMinor(oldest)) < 0 ? oldest : newest;
}

function minorNumber(minor: TalosMinor): number {
    return Number(minor.split(".")[1]);
}

function compareMajorMinor(a: { major: number; minor: number }, b: { major: number; minor: number }): number {
    return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

function parseMajorMinor(s: string): { major: number; minor: number } {
    const [major, minor] = s.split(".").map(Number);
    return { major, minor };
}

/** Whether this Talos minor runs the Kubernetes version ("1.31.1" form; no leading v). */
export function isSupportedKubernetes(contract: VersionContract, kubernetesVersion: string): boolean {
    const k = parseKubernetesVersion(kubernetesVersion);
    if (!k) {
        return false;
    }
    return (
        compareMajorMinor(k, parseMajorMinor(contract.kubernetes.min)) >= 0 &&
        compareMajorMinor(k, parseMajorMinor(contract.kubernetes.max)) <= 0
    );
}

function requireTalosVersion(talosVersion: string): string {
    if (!parseTalosVersion(talosVersion)) {
        throw new Error(`"${talosVersion}" is not a Talos version (expected vMAJOR.MINOR.PATCH, e.g. v1.8.3)`);
    }
    return talosVersion;
}

/** Where Talos publishes its node image (talosctl cluster create's default `--image`). */
export const TALOS_IMAGE_REPOSITORY = "ghcr.io/siderolabs/talos";

/** The node image the Docker provisioner runs, e.g. ghcr.io/siderolabs/talos:v1.8.3. Throws when the version does not parse. */
export function talosImage(talosVersion: string): string {
    return `${TALOS_IMAGE_REPOSITORY}:${requireTalosVersion(talosVersion)}`;
}

/**
 * The Talos release an image reference's tag names ("v1.9.0" for ghcr.io/siderolabs/talos:v1.9.0,
 * also with a digest after it), or undefined: no tag, or a tag that is not a version.
 */
export function imageTalosVersion(image: string): { repository: string; tag: string } | undefined {
    const name = image.split("@")[0];
    const slash = name.lastIndexOf("/");
    const colon = name.lastIndexOf(":");
    // A colon before the last slash is a registry's port (localhost:5000/talos), not a tag.
    if (colon <= slash) return undefined;
    const tag = name.slice(colon + 1);
    return parseTalosVersion(tag) === undefined ? undefined : { repository: name.slice(0, colon), tag };
}

/** Whether two Talos versions are the same release (v1.9.0 and v1.9.0-beta.1 are; a suffix is a build of it). */
export function sameTalosRelease(a: string, b: string): boolean {
    const x = parseTalosVersion(a);
    const y = parseTalosVersion(b);
    return x !== undefined && y !== undefined && x.major === y.major && x.minor === y.minor && x.patch === y.patch;
}

/** talosctl's default `--install-image`, e.g. ghcr.io/siderolabs/installer:v1.8.3. Throws when the version does not parse. */
export function installerImage(talosVersion: string): string {
    return `ghcr.io/siderolabs/installer:${requireTalosVersion(talosVersion)}`;
}
