// The newest supported Talos under mocks: its default Kubernetes, the multi-document machine
// config of contract v1.12+ in USERDATA, and the image derived from the version.
import { beforeAll, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadProgram, Program, Recorded } from "./harness";

let program: Program;

beforeAll(async () => {
    program = await loadProgram({ talosVersion: "v1.13.9", kubernetesVersion: "1.36.3", workers: { count: 1 } });
    if (program.error) throw program.error;
});

const documents = (r: Recorded) => {
    const env = (r.inputs.envs as string[]).find((e) => e.startsWith("USERDATA="))!;
    return parseAllDocuments(Buffer.from(env.slice("USERDATA=".length), "base64").toString()).map((d) => d.toJS());
};

it("runs the v1.13.9 image", () => {
    for (const c of program.byType("docker:index/container:Container")) expect(c.inputs.image).toBe("ghcr.io/siderolabs/talos:v1.13.9");
});

it("boots each node from the multi-document config of contract v1.13", () => {
    for (const name of ["talos-cp-01-container", "talos-worker-01-container"]) {
        const docs = documents(program.one("docker:index/container:Container", name));
        expect(docs[0].version).toBe("v1alpha1");
        expect(docs[0].machine.kubelet.image).toBe("ghcr.io/siderolabs/kubelet:v1.36.3");
        expect(docs[0].machine.network).toBeUndefined();
        expect(docs.slice(1).map((d) => d.kind)).toContain("HostnameConfig");
    }
});
