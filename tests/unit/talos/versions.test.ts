import { describe, expect, it } from "vitest";

import {
    TALOS_MINORS,
    contractFor,
    imageTalosVersion,
    installerImage,
    isSupportedKubernetes,
    isTalosRelease,
    nearestTalosMinor,
    parseKubernetesVersion,
    parseTalosVersion,
    sameTalosRelease,
    talosImage,
    versionContract,
    type TalosMinor,
    type VersionContract,
} from "../../../talos/versions";

/** What each minor must say, written out from the sources rather than from the code under test. */
function expected(minor: TalosMinor): {
    ref: string; latest: string; k8s: [string, string, string]; upTo1_11: boolean; upTo1_12: boolean; upTo1_13: boolean;
} {
    switch (minor) {
        case "1.8":
            return { ref: "v1.8.3", latest: "v1.8.4", k8s: ["1.31.2", "1.26", "1.31"], upTo1_11: true, upTo1_12: true, upTo1_13: true };
        case "1.9":
            return { ref: "v1.9.6", latest: "v1.9.6", k8s: ["1.32.4", "1.27", "1.32"], upTo1_11: true, upTo1_12: true, upTo1_13: true };
        case "1.10":
            return { ref: "v1.10.9", latest: "v1.10.9", k8s: ["1.33.6", "1.28", "1.33"], upTo1_11: true, upTo1_12: true, upTo1_13: true };
        case "1.11":
            return { ref: "v1.11.6", latest: "v1.11.6", k8s: ["1.34.1", "1.29", "1.34"], upTo1_11: true, upTo1_12: true, upTo1_13: true };
        case "1.12":
            return { ref: "v1.12.11", latest: "v1.12.11", k8s: ["1.35.4", "1.30", "1.35"], upTo1_11: false, upTo1_12: true, upTo1_13: true };
        case "1.13":
            return { ref: "v1.13.9", latest: "v1.13.9", k8s: ["1.36.3", "1.31", "1.36"], upTo1_11: false, upTo1_12: false, upTo1_13: true };
        case "1.14":
            return { ref: "v1.14.1", latest: "v1.14.1", k8s: ["1.37.0", "1.32", "1.37"], upTo1_11: false, upTo1_12: false, upTo1_13: false };
        default: {
            const unreachable: never = minor;
            throw new Error(`untested minor ${String(unreachable)}`);
        }
    }
}

describe("parseTalosVersion", () => {
    it.each([
        ["v1.8.3", { major: 1, minor: 8, patch: 3 }],
        ["v1.13.9", { major: 1, minor: 13, patch: 9 }],
        ["v1.10.0-beta.1", { major: 1, minor: 10, patch: 0 }],
    ])("parses %s", (v, want) => {
        expect(parseTalosVersion(v)).toEqual(want);
    });

    it.each(["1.8.3", "v1.8", "v1.8.3.1", "V1.8.3", "v01.8.3", "latest", "", " v1.8.3"])("rejects %j", (v) => {
        expect(parseTalosVersion(v)).toBeUndefined();
    });
});

describe("versionContract", () => {
    it("lists the seven supported minors, oldest first", () => {
        expect(TALOS_MINORS).toEqual(["1.8", "1.9", "1.10", "1.11", "1.12", "1.13", "1.14"]);
    });

    it.each(TALOS_MINORS.map((m) => [m]))("Talos %s: reference release, Kubernetes range and generation gates", (minor) => {
        const want = expected(minor);
        const c = versionContract(want.ref) as VersionContract;
        expect(c.minor).toBe(minor);
        expect(c.referenceVersion).toBe(want.ref);
        expect(c.kubernetes).toEqual({ default: want.k8s[0], min: want.k8s[1], max: want.k8s[2] });
        expect(c.config).toEqual({
            writeRbacAndApidKeyUsageFlags: want.upTo1_11,
            stableHostname: want.upTo1_11 ? "feature" : "hostnameConfigDocument",
            registryMirrors: want.upTo1_11 ? "machineRegistries" : "registryMirrorConfigDocuments",
            apiServerSANsFromEndpoint: want.upTo1_11,
            writeDisablePodSecurityPolicy: want.upTo1_11,
            grubUseUKICmdline: !want.upTo1_11,
            emptyMachineNetwork: want.upTo1_12,
            hostDNS: want.upTo1_13 ? "machineFeatures" : "resolverConfigDocument",
            discovery: want.upTo1_13 ? "v1alpha1Cluster" : "discoveryDocuments",
            machineInstall: want.upTo1_13,
            kubernetes: want.upTo1_13 ? "v1alpha1" : "kubeDocuments",
            filesystemTrim: !want.upTo1_13,
            workloadIsolation: !want.upTo1_13,
        });
        // talos@TAG:pkg/machinery/constants/constants.go EphemeralMountPoint, StateMountPoint, Overlays.
        const volumePaths = want.upTo1_13
            ? ["/var", "/system/state", "/etc/cni", "/etc/kubernetes", "/usr/libexec/kubernetes", "/opt"]
            : ["/var", "/system/state", "/opt"];
        expect(c.docker).toEqual({
            ignoreEth0: want.upTo1_11,
            installImage: want.upTo1_11,
            volumePaths,
        });
        expect(c.multiDocument).toBe(!want.upTo1_11);
        // The default Kubernetes version is one the release supports.
        expect(isSupportedKubernetes(c, c.kubernetes.default)).toBe(true);
    });

    it("gives the same contract for every patch release of a minor", () => {
        expect(versionContract("v1.8.0")).toEqual(contractFor("1.8"));
        expect(versionContract("v1.8.4")).toEqual(contractFor("1.8"));
    });

    it.each(["v1.7.7", "v1.15.0", "v2.8.3", "1.8.3", "nonsense"])("is undefined for %s", (v) => {
        expect(versionContract(v)).toBeUndefined();
    });
});

describe("isSupportedKubernetes", () => {
    const c18 = contractFor("1.8");

    it.each([
        ["1.26.0", true],
        ["1.31.1", true],
        ["1.31.99", true],
        ["1.25.16", false],
        ["1.32.0", false],
        ["2.0.0", false],
        ["v1.31.1", false],
        ["1.31", false],
        ["", false],
    ])("Talos 1.8 and %j → %s", (k8s, ok) => {
        expect(isSupportedKubernetes(c18, k8s)).toBe(ok);
    });

    it("compares minors numerically (1.9 < 1.26)", () => {
        expect(isSupportedKubernetes(c18, "1.9.0")).toBe(false);
    });

    it("parses Kubernetes versions without a leading v", () => {
        expect(parseKubernetesVersion("1.31.1")).toEqual({ major: 1, minor: 31, patch: 1 });
        expect(parseKubernetesVersion("v1.31.1")).toBeUndefined();
    });
});

describe("images", () => {
    it("names the node and installer images after the Talos version", () => {
        expect(talosImage("v1.8.3")).toBe("ghcr.io/siderolabs/talos:v1.8.3");
        expect(installerImage("v1.13.9")).toBe("ghcr.io/siderolabs/installer:v1.13.9");
    });

    it("refuses a version that does not parse", () => {
        expect(() => talosImage("1.8.3")).toThrow('"1.8.3" is not a Talos version (expected vMAJOR.MINOR.PATCH, e.g. v1.8.3)');
        expect(() => installerImage("")).toThrow('"" is not a Talos version (expected vMAJOR.MINOR.PATCH, e.g. v1.8.3)');
    });
});

describe("the Talos release an image names", () => {
    it.each([
        ["ghcr.io/siderolabs/talos:v1.9.0", { repository: "ghcr.io/siderolabs/talos", tag: "v1.9.0" }],
        ["localhost:5000/talos:v1.8.3-custom@sha256:abcd", { repository: "localhost:5000/talos", tag: "v1.8.3-custom" }],
        ["localhost:5000/talos", undefined],
        ["ghcr.io/siderolabs/talos@sha256:abcd", undefined],
        ["talos:dev", undefined],
        ["talos:1.9.0", undefined],
    ])("%s", (image, want) => {
        expect(imageTalosVersion(image)).toEqual(want);
    });

    it("a build of a release is that release; another patch is not", () => {
        expect(sameTalosRelease("v1.9.0-beta.1", "v1.9.0")).toBe(true);
        expect(sameTalosRelease("v1.8.2", "v1.8.3")).toBe(false);
        expect(sameTalosRelease("latest", "latest")).toBe(false);
    });
});

describe("releases", () => {
    it.each(TALOS_MINORS)("v%s: its latest patch release, from siderolabs/talos' tags", (minor) => {
        expect(contractFor(minor).latestRelease).toBe(expected(minor).latest);
        expect(isTalosRelease(expected(minor).latest)).toBe(true);
        expect(isTalosRelease(`v${minor}.0`)).toBe(true);
        expect(isTalosRelease(expected(minor).latest.replace(/\.(\d+)$/, (_, patch: string) => `.${Number(patch) + 1}`))).toBe(false);
    });

    it("a build of a release is that release; an unsupported minor has none", () => {
        expect(isTalosRelease("v1.9.0-beta.0")).toBe(true);
        expect(isTalosRelease("v1.8.99")).toBe(false);
        expect(isTalosRelease("v1.15.0")).toBe(false);
        expect(isTalosRelease("1.8.3")).toBe(false);
    });

    it("the nearest supported minor", () => {
        expect(nearestTalosMinor({ major: 1, minor: 10 })).toBe("1.10");
        expect(nearestTalosMinor({ major: 1, minor: 7 })).toBe("1.8");
        expect(nearestTalosMinor({ major: 0, minor: 14 })).toBe("1.8");
        expect(nearestTalosMinor({ major: 1, minor: 14 })).toBe("1.14");
        expect(nearestTalosMinor({ major: 1, minor: 15 })).toBe("1.14");
        expect(nearestTalosMinor({ major: 2, minor: 0 })).toBe("1.14");
        expect(nearestTalosMinor(undefined)).toBe("1.14");
    });
});
