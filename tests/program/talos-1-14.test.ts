// Talos v1.14 under mocks: its default Kubernetes when the stack sets only talosVersion, the
// Kubernetes settings in documents of their own in USERDATA, the node container with v1.14's
// volume set (talos@v1.14.1:pkg/machinery/constants Overlays: /opt only), and a stack on v1.13
// moving to it.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadProgram, Program, promiseOf, Recorded } from "./harness";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";

let v113: Program;
let v114: Program;

async function record(p: Program): Promise<Record<string, unknown>> {
    return {
        versions: await promiseOf(p.exports.versions as pulumi.Output<unknown>),
        secretsIdentity: await promiseOf(p.exports.secretsIdentity as pulumi.Output<unknown>),
    };
}

beforeAll(async () => {
    v113 = await loadProgram({ talosVersion: "v1.13.9", workers: { count: 1 } });
    if (v113.error) throw v113.error;
    // The same stack with talosVersion raised and still no kubernetesVersion, as the next run.
    v114 = await loadProgram({ talosVersion: "v1.14.1", workers: { count: 1 } }, { previousOutputs: await record(v113) });
    if (v114.error) throw v114.error;
});

const documents = (r: Recorded) => {
    const env = (r.inputs.envs as string[]).find((e) => e.startsWith("USERDATA="))!;
    return parseAllDocuments(Buffer.from(env.slice("USERDATA=".length), "base64").toString()).map((d) => d.toJS());
};
const volumePaths = (p: Program, container: string) =>
    (p.one(CONTAINER, container).inputs.volumes as { containerPath: string }[]).map((v) => v.containerPath);

describe("a stack on Talos v1.14.1 without kubernetesVersion", () => {
    it("runs the v1.14.1 image and Kubernetes 1.37.0, v1.14.1's default", async () => {
        for (const c of v114.byType(CONTAINER)) expect(c.inputs.image).toBe("ghcr.io/siderolabs/talos:v1.14.1");
        expect(await promiseOf(v114.exports.versions as pulumi.Output<unknown>)).toEqual({ talos: "v1.14.1", kubernetes: "1.37.0" });
    });

    it("boots each node with the Kubernetes documents of contract v1.14, none in v1alpha1", () => {
        for (const name of ["talos-cp-01-container", "talos-worker-01-container"]) {
            const docs = documents(v114.one(CONTAINER, name));
            expect(docs[0].version).toBe("v1alpha1");
            expect(docs[0].machine.kubelet).toBeUndefined();
            expect(docs.find((d) => d.kind === "KubeletConfig")?.image).toBe("ghcr.io/siderolabs/kubelet:v1.37.0");
            expect(docs.find((d) => d.kind === "ResolverConfig")?.hostDNS).toEqual({ enabled: true, forwardKubeDNSToHost: true });
        }
    });

    it("gives each node the volumes of v1.14's provisioner: /var, /system/state, /opt", () => {
        for (const name of ["talos-cp-01-container", "talos-worker-01-container"]) {
            expect(volumePaths(v114, name)).toEqual(["/var", "/system/state", "/opt"]);
        }
        expect(v114.byType(VOLUME).map((v) => v.inputs.name).sort()).toEqual([
            "talos-cp-01-opt", "talos-cp-01-system-state", "talos-cp-01-var",
            "talos-worker-01-opt", "talos-worker-01-system-state", "talos-worker-01-var",
        ]);
    });
});

describe("raising talosVersion from v1.13.9", () => {
    it("v1.13.9 ran its own default Kubernetes, 1.36.3, on the six volumes", async () => {
        expect(await promiseOf(v113.exports.versions as pulumi.Output<unknown>)).toEqual({ talos: "v1.13.9", kubernetes: "1.36.3" });
        expect(volumePaths(v113, "talos-cp-01-container")).toEqual([
            "/var", "/system/state", "/etc/cni", "/etc/kubernetes", "/usr/libexec/kubernetes", "/opt",
        ]);
    });

    it("keeps the /var, /system/state and /opt volumes as they were; the three v1.14 no longer mounts go", () => {
        const names = (p: Program) => p.byType(VOLUME).map((v) => v.name).sort();
        const kept = names(v114);
        expect(kept.every((n) => names(v113).includes(n))).toBe(true);
        expect(names(v113).filter((n) => !kept.includes(n))).toEqual([
            "talos-cp-01-etc-cni", "talos-cp-01-etc-kubernetes", "talos-cp-01-usr-libexec-kubernetes",
            "talos-worker-01-etc-cni", "talos-worker-01-etc-kubernetes", "talos-worker-01-usr-libexec-kubernetes",
        ]);
        for (const name of kept) expect(v114.one(VOLUME, name).inputs).toEqual(v113.one(VOLUME, name).inputs);
    });
});
