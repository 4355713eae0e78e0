// registryMirrors and registryCache under mocks: the mirrors in each role's machine config, the
// cache resource that attaches the shared caches to the cluster network (and only detaches them
// on delete), and two stacks sharing one set of caches.
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { cacheMirrors, cachePlans } from "../../model/registries";
import { stackFile } from "../support/stack";
import { autoApplyMode } from "../../talos/applymode";
import { loadProgram, Program, promiseOf, Recorded, urnRef } from "./harness";

const COMMAND = "command:local:Command";
const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const reference = stackFile("Pulumi.dev.yaml");
const OWN = { "registry.local:5000": ["https://mirror.example.com"] };

let plain: Program;
let cached: Program;
let cachedV113: Program;
let cachedV114: Program;
let other: Program;

async function run(config: Record<string, unknown>, before?: Program): Promise<Program> {
    const previousOutputs = before === undefined ? undefined : {
        versions: await promiseOf(before.exports.versions),
        secretsIdentity: await promiseOf(before.exports.secretsIdentity),
    };
    const p = await loadProgram(config, previousOutputs === undefined ? {} : { previousOutputs });
    if (p.error) throw p.error;
    return p;
}

beforeAll(async () => {
    plain = await run({ ...reference, registryMirrors: OWN });
    cached = await run({ ...reference, registryMirrors: OWN, registryCache: { enabled: true } });
    cachedV113 = await run({ ...reference, talosVersion: "v1.13.9", kubernetesVersion: "1.36.3", registryCache: { enabled: true } });
    cachedV114 = await run({ ...reference, talosVersion: "v1.14.1", kubernetesVersion: "1.37.0", registryCache: { enabled: true } });
    other = await run({
        ...reference, clusterName: "lab", network: { name: "lab-net", subnet: "10.77.0.0/24" }, registryCache: { enabled: true },
    });
});

/** Each node's machine config, parsed into its documents. */
async function configs(p: Program): Promise<Record<string, Record<string, unknown>[]>> {
    const texts = await promiseOf(p.exports.machineConfigs) as Record<string, string>;
    return Object.fromEntries(Object.entries(texts).map(([node, text]) =>
        [node, parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>)]));
}

/** The mirrors a v1.8 – v1.11 config holds (machine.registries.mirrors). */
function legacyMirrors(docs: Record<string, unknown>[]): Record<string, string[]> {
    const machine = docs[0].machine as { registries?: { mirrors: Record<string, { endpoints: string[] }> } };
    return Object.fromEntries(Object.entries(machine.registries?.mirrors ?? {}).map(([h, m]) => [h, m.endpoints]));
}

describe("registryMirrors", () => {
    it("reach every node of each role, in machine.registries up to v1.11", async () => {
        const all = await configs(plain);
        expect(Object.keys(all).sort()).toEqual(["talos-cp-01", "talos-worker-01", "talos-worker-02"]);
        for (const docs of Object.values(all)) expect(legacyMirrors(docs)).toEqual(OWN);
    });

    it("declare no cache resource without registryCache", () => {
        expect(plain.byType(COMMAND).map((r) => r.name)).not.toContain("talos-registry-cache");
    });
});

describe("registryCache", () => {
    it("gives every node the caches' mirrors on its own network, beside the stack's own", async () => {
        for (const docs of Object.values(await configs(cached))) {
            expect(legacyMirrors(docs)).toEqual({ ...cacheMirrors("172.30.0.0/24"), ...OWN });
        }
        for (const docs of Object.values(await configs(other))) expect(legacyMirrors(docs)).toEqual(cacheMirrors("10.77.0.0/24"));
    });

    it("as RegistryMirrorConfig documents from v1.12 (v1.13, v1.14), one per registry", async () => {
        const all = [...Object.values(await configs(cachedV113)), ...Object.values(await configs(cachedV114))];
        expect(all).toHaveLength(6);
        for (const docs of all) {
            const mirrors = docs.filter((d) => d.kind === "RegistryMirrorConfig");
            expect(Object.fromEntries(mirrors.map((d) => [d.name, (d.endpoints as { url: string }[]).map((e) => e.url)])))
                .toEqual(cacheMirrors("172.30.0.0/24"));
            expect(legacyMirrors(docs)).toEqual({});
        }
    });

    it("attaches the caches on create and only detaches them on delete, after the network and before the nodes", () => {
        const cache = cached.one(COMMAND, "talos-registry-cache");
        expect(cache.inputs.create).toBe("node --import tsx cli/main.ts registry-cache attach --network talos-net --subnet 172.30.0.0/24");
        expect(cache.inputs.delete).toBe("node --import tsx cli/main.ts registry-cache detach --network talos-net");
        expect(cache.inputs.update).toBeUndefined();
        expect(cache.dependencies.map(urnRef)).toContain("docker:index/network:Network::talos-network-bridge");
        expect(urnRef(cache.parentUrn)).toBe("talos-docker:index:TalosCluster::talos");
        for (const node of cached.byType(CONTAINER)) {
            expect(node.dependencies.map(urnRef), node.name).toContain("command:local:Command::talos-registry-cache");
        }
    });

    it("declares no cache container or volume: no stack owns them, so no destroy removes them", () => {
        const cacheNames = new Set(cachePlans().flatMap((c) => [c.container, c.volume]));
        for (const type of [CONTAINER, VOLUME]) {
            for (const p of [cached, other]) {
                const named = p.byType(type).map((r) => String(r.inputs.name));
                expect(named.filter((n) => cacheNames.has(n)), type).toEqual([]);
            }
        }
        expect(cached.byType(CONTAINER)).toHaveLength(plain.byType(CONTAINER).length);
        expect(cached.byType(VOLUME)).toHaveLength(plain.byType(VOLUME).length);
    });

    it("two stacks attach the same caches, each to its own network", () => {
        const [a, b] = [cached.one(COMMAND, "talos-registry-cache"), other.one(COMMAND, "lab-registry-cache")];
        expect(b.inputs.create).toBe("node --import tsx cli/main.ts registry-cache attach --network lab-net --subnet 10.77.0.0/24");
        // The command names no cache: both reach the one set the CLI keeps (tests/cli/registrycache.test.ts).
        for (const r of [a, b]) expect(String(r.inputs.create)).not.toMatch(/talos-registry-cache-/);
    });
});

describe("a changed mirror on a running cluster", () => {
    const v113 = { ...reference, talosVersion: "v1.13.9", kubernetesVersion: "1.36.3" };
    const v114 = { ...reference, talosVersion: "v1.14.1", kubernetesVersion: "1.37.0" };
    const pairs: { minor: "1.8" | "1.13" | "1.14"; before: Program; after: Program }[] = [];
    const view = (r: Recorded) => JSON.parse(r.inputs.stdin as string) as Record<string, string>;

    beforeAll(async () => {
        const base = await run(reference);
        const baseV113 = await run(v113);
        pairs.push({ minor: "1.8", before: base, after: await run({ ...reference, registryMirrors: OWN }, base) });
        pairs.push({ minor: "1.13", before: baseV113, after: await run({ ...v113, registryMirrors: OWN }, baseV113) });
        const baseV114 = await run(v114);
        pairs.push({ minor: "1.14", before: baseV114, after: await run({ ...v114, registryMirrors: OWN }, baseV114) });
    });

    it("updates every node's config resource, and the preview's view names the mirror", () => {
        for (const { minor, before, after } of pairs) {
            const field = minor === "1.8"
                ? 'machine.registries.mirrors["registry.local:5000"].endpoints[0]'
                : 'RegistryMirrorConfig["registry.local:5000"].endpoints[0].url';
            for (const node of ["talos-cp-01", "talos-worker-01", "talos-worker-02"]) {
                const [a, b] = [before.one(COMMAND, `${node}-config`), after.one(COMMAND, `${node}-config`)];
                const changedKeys = Object.keys(view(b)).filter((k) => view(a)[k] !== view(b)[k]);
                expect(changedKeys.length, `${minor} ${node}`).toBeGreaterThan(0);
                expect(changedKeys.every((k) => k.includes("registr") || k.startsWith("RegistryMirrorConfig")), changedKeys.join()).toBe(true);
                expect(view(b)[field], `${minor} ${node}: ${Object.keys(view(b)).filter((k) => k.includes("egistr")).join()}`)
                    .toBe("https://mirror.example.com");
            }
        }
    });

    it("is applied without a reboot (auto picks no-reboot), at the v1alpha1 and the multi-document forms", async () => {
        for (const { minor, before, after } of pairs) {
            const [a, b] = [await configs(before), await configs(after)];
            const texts = async (p: Program) => await promiseOf(p.exports.machineConfigs) as Record<string, string>;
            const [ta, tb] = [await texts(before), await texts(after)];
            for (const node of Object.keys(a)) expect(autoApplyMode(minor, ta[node], tb[node]), `${minor} ${node}`).toBe("no-reboot");
            expect(Object.keys(b)).toEqual(Object.keys(a));
        }
    });
});
