// doctor's cgroup check, pure: what the kubelet of the stack's Kubernetes version does on the
// engine's cgroup version (Talos itself does not need cgroup v2 in a container), and a
// failCgroupV1 set by the stack's config patches.

import { describe, expect, it } from "vitest";

import { parseClusterSpec } from "../../model/config";
import {
    ALLOW_CGROUP_V1_DOCUMENT_PATCH, ALLOW_CGROUP_V1_PATCH, cgroupCheck, failCgroupV1Setting, kubeletOnCgroupV1,
} from "../../cli/doctor/cgroup";
import type { EngineInfo } from "../../cli/docker/api";
import { parsePatch } from "../../talos/patches";

const engine = (cgroupVersion: string): EngineInfo => ({ serverVersion: "28.2.2", cgroupVersion, cpus: 8, memoryBytes: 32 * 2 ** 30, operatingSystem: "Debian" });
const HOST_FIX = "boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line; the default of current distributions and Docker Desktop), then restart Docker";

const spec = (talosVersion: string, kubernetesVersion: string, configPatches?: object) =>
    parseClusterSpec({ talosVersion, kubernetesVersion, ...(configPatches ? { configPatches: JSON.stringify(configPatches) } : {}) });

describe("kubeletOnCgroupV1", () => {
    it("supported up to 1.30, maintenance mode 1.31 – 1.34, refused by default from 1.35", () => {
        expect(["1.26.0", "1.30.14", "1.31.0", "1.34.1", "1.35.0", "1.36.3"].map(kubeletOnCgroupV1)).toEqual(["supported", "supported", "maintenance", "maintenance", "refused", "refused"]);
        expect(kubeletOnCgroupV1("v1.31.0")).toBeUndefined();
    });
});

describe("failCgroupV1Setting", () => {
    it("follows the patches in order: strategic merge, JSON6902 at any depth, a removal", () => {
        expect(failCgroupV1Setting([])).toBeUndefined();
        expect(failCgroupV1Setting([parsePatch(ALLOW_CGROUP_V1_PATCH)])).toBe(false);
        expect(failCgroupV1Setting([parsePatch(ALLOW_CGROUP_V1_PATCH), parsePatch("machine: {kubelet: {extraConfig: {failCgroupV1: true}}}")])).toBe(true);
        expect(failCgroupV1Setting([parsePatch("- {op: add, path: /machine/kubelet/extraConfig, value: {failCgroupV1: false}}")])).toBe(false);
        expect(failCgroupV1Setting([parsePatch("- {op: replace, path: /machine/kubelet/extraConfig/failCgroupV1, value: true}")])).toBe(true);
        expect(failCgroupV1Setting([parsePatch(ALLOW_CGROUP_V1_PATCH), parsePatch("- {op: remove, path: /machine/kubelet/extraConfig}")])).toBeUndefined();
        // Another setting of the kubelet, or another document, leaves it alone.
        expect(failCgroupV1Setting([parsePatch("machine: {kubelet: {extraConfig: {maxPods: 250}}}")])).toBeUndefined();
        expect(failCgroupV1Setting([parsePatch("apiVersion: v1alpha1\nkind: HostnameConfig\nmachine: {kubelet: {extraConfig: {failCgroupV1: false}}}\n")])).toBeUndefined();
        expect(failCgroupV1Setting([parsePatch("- {op: add, path: /machine/network, value: {}}")])).toBeUndefined();
    });
});

describe("cgroupCheck", () => {
    it("cgroup v2 is fine for every version", () => {
        expect(cgroupCheck(engine("2"), spec("v1.13.9", "1.36.3"))).toEqual({ name: "cgroup v2", status: "ok", detail: "the engine runs cgroup v2" });
    });

    it("cgroup v1 with Kubernetes 1.30: ok, the kubelet supports it", () => {
        expect(cgroupCheck(engine("1"), spec("v1.8.3", "1.30.5"))).toEqual({
            name: "cgroup v2",
            status: "ok",
            detail: "the engine runs cgroup v1, which the kubelet of Kubernetes 1.30.5 supports (from 1.35 it refuses it by default); Talos does not need cgroup v2 in a container",
        });
    });

    it("cgroup v1 with Kubernetes 1.31 (the reference stack): a warning, it runs in maintenance mode", () => {
        expect(cgroupCheck(engine("1"), parseClusterSpec({}))).toEqual({
            name: "cgroup v2",
            status: "warn",
            detail: "the engine runs cgroup v1: the kubelet of Kubernetes 1.31.1 runs on it, but cgroup v1 is in maintenance mode from 1.31 and refused by default from 1.35",
            fix: HOST_FIX,
        });
    });

    it("cgroup v1 with Kubernetes 1.35 and 1.36: a failure naming the kubelet, with the three ways out", () => {
        for (const [talos, k8s] of [["v1.12.11", "1.35.4"], ["v1.13.9", "1.36.3"]]) {
            expect(cgroupCheck(engine("1"), spec(talos, k8s))).toEqual({
                name: "cgroup v2",
                status: "fail",
                detail: `the engine runs cgroup v1: the kubelet of Kubernetes ${k8s} refuses to start on it (failCgroupV1 defaults to true from 1.35), so no node becomes Ready; Talos itself runs`,
                fix: `${HOST_FIX}; or set talos-docker:kubernetesVersion to a 1.34 release or older (if talosVersion supports it); ` +
                    "or let the kubelet run on cgroup v1 anyway, deprecated: add `machine: {kubelet: {extraConfig: {failCgroupV1: false}}}` to talos-docker:configPatches.all",
            });
        }
    });

    it("the patch the fix names turns the failure into a warning; on one role only it does not", () => {
        expect(cgroupCheck(engine("1"), spec("v1.13.9", "1.36.3", { all: [ALLOW_CGROUP_V1_PATCH] }))).toEqual({
            name: "cgroup v2",
            status: "warn",
            detail: "the engine runs cgroup v1: the kubelet of Kubernetes 1.36.3 runs on it only because configPatches set failCgroupV1: false; cgroup v1 is deprecated from 1.35",
            fix: HOST_FIX,
        });
        expect(cgroupCheck(engine("1"), spec("v1.13.9", "1.36.3", { controlPlane: [ALLOW_CGROUP_V1_PATCH] })).status).toBe("fail");
        // Without workers, the control planes' patch is all it takes.
        expect(cgroupCheck(engine("1"), { ...spec("v1.13.9", "1.36.3", { controlPlane: [ALLOW_CGROUP_V1_PATCH] }), workers: { count: 0, cpus: 1, memoryMiB: 1024 } }).status).toBe("warn");
    });

    it("Talos v1.14: the fix patches the KubeletConfig document, which the stack config takes and which turns it into a warning", () => {
        const failing = cgroupCheck(engine("1"), spec("v1.14.1", "1.37.0"));
        expect(failing.status).toBe("fail");
        expect(failing.fix).toContain("add `{apiVersion: v1alpha1, kind: KubeletConfig, config: {failCgroupV1: false}}` to talos-docker:configPatches.all");
        expect(cgroupCheck(engine("1"), spec("v1.14.1", "1.37.0", { all: [ALLOW_CGROUP_V1_DOCUMENT_PATCH] })).status).toBe("warn");
        // The v1alpha1 form is refused next to v1.14's KubeletConfig document.
        expect(() => spec("v1.14.1", "1.37.0", { all: [ALLOW_CGROUP_V1_PATCH] })).toThrow("kubelet config is already set in v1alpha1 config");
    });

    it("failCgroupV1: true in a patch fails on cgroup v1 whatever the version", () => {
        expect(cgroupCheck(engine("1"), spec("v1.8.3", "1.31.1", { all: ["machine: {kubelet: {extraConfig: {failCgroupV1: true}}}"] }))).toEqual({
            name: "cgroup v2",
            status: "fail",
            detail: "the engine runs cgroup v1, and configPatches set failCgroupV1: true, so the kubelet (Kubernetes 1.31.1) refuses to start and no node becomes Ready; Talos itself runs",
            fix: `${HOST_FIX}; or drop the failCgroupV1: true patch`,
        });
    });

    it("without a valid config it cannot know the version: a warning that says what it depends on", () => {
        expect(cgroupCheck(engine("1"))).toEqual({
            name: "cgroup v2",
            status: "warn",
            detail: "the engine runs cgroup v1: whether the kubelet starts on it depends on talos-docker:kubernetesVersion (from 1.35 it refuses), which the config above does not give",
            fix: HOST_FIX,
        });
    });
});
