// Writes the conformance fixtures: for every supported Talos minor, what our TypeScript Talos layer
// renders (secrets.yaml, controlplane.yaml, worker.yaml, talosconfig, kubeconfig), the inputs it
// was given (options.json, for the Go side to give Talos' generator the same), each case of
// patch-cases.yaml applied by ours (patches.json), what the preview shows of each config
// (*.view.json), our version-change verdicts (upgrades.json), our Kubernetes upgrade steps
// (k8ssteps.json), our immediate-apply verdicts on changes of the control plane config
// (applymode.json, from applymode-cases.ts) and each case of mirror-cases.yaml rendered by ours
// (mirrors.json). The Go suite then
// checks them with Talos' own machinery. Run by run.sh: `npx tsx tests/conformance/write-fixtures.ts [OUT_DIR] [MINOR...]`.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { parse } from "yaml";

import { renderKubeconfig, renderTalosconfig } from "../../talos/clientconfig";
import { kubernetesUpgradeSteps } from "../../talos/k8supgrade";
import {
    DEFAULT_STORAGE_PATH, MACHINE_ROLES, machineConfigDocuments, renderMachineConfig, type MachineConfigInput, type MachineRole,
} from "../../talos/machineconfig";
import { configView } from "../../talos/configview";
import { talosChangeProblem } from "../../talos/upgrades";
import { parsePatch } from "../../talos/patches";
import { renderSecretsYaml } from "../../talos/secretsfile";
import { TALOS_MINORS, contractFor, type TalosMinor } from "../../talos/versions";
import { makeAdminClients, makeSecretsBundle } from "../support/pki";
import { immediateFixture } from "./applymode-cases";

const HERE = __dirname;

/** The inputs every minor is rendered with: the reference stack's, plus one of each option. */
const CLUSTER_NAME = "talos-default";
const CONTROL_PLANE_ENDPOINT = "https://172.30.0.2:6443";
const ADDITIONAL_SANS = ["talos-docker.internal"];
const REGISTRY_MIRRORS: Record<string, string[]> = { "docker.io": ["http://172.30.0.1:5000"] };
const TALOS_API_ENDPOINTS = ["127.0.0.1:50000"];
const TALOS_NODES = ["172.30.0.2"];
const KUBERNETES_SERVER = "https://127.0.0.1:6444";

/** One case of patch-cases.yaml. */
interface PatchCaseDefinition {
    name: string;
    description: string;
    role: MachineRole;
    patches: string[];
}

/** One entry of patches.json (the Go side's PatchCase). */
interface PatchCaseFixture extends PatchCaseDefinition {
    result: string | null;
    error: string | null;
}

function readPatchCases(): PatchCaseDefinition[] {
    const cases = parse(readFileSync(join(HERE, "patch-cases.yaml"), "utf8")) as PatchCaseDefinition[];
    for (const c of cases) {
        if (typeof c.name !== "string" || (c.role !== "controlplane" && c.role !== "worker") || !Array.isArray(c.patches)) {
            throw new Error(`patch-cases.yaml: malformed case ${JSON.stringify(c)}`);
        }
    }
    return cases;
}

/** One case of mirror-cases.yaml. */
interface MirrorCaseDefinition {
    name: string;
    description: string;
    mirrors: Record<string, string[]>;
}

/** One entry of mirrors.json (the Go side's MirrorCase). */
interface MirrorCaseFixture extends MirrorCaseDefinition {
    controlplane: string;
    worker: string;
}

function readMirrorCases(): MirrorCaseDefinition[] {
    const cases = parse(readFileSync(join(HERE, "mirror-cases.yaml"), "utf8")) as MirrorCaseDefinition[];
    for (const c of cases) {
        if (typeof c.name !== "string" || c.mirrors === null || typeof c.mirrors !== "object") {
            throw new Error(`mirror-cases.yaml: malformed case ${JSON.stringify(c)}`);
        }
    }
    return cases;
}

function errorMessage(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

async function main(): Promise<void> {
    const [outArg, ...minorArgs] = process.argv.slice(2);
    const outDir = resolve(outArg ?? join(HERE, ".fixtures"));
    const minors: TalosMinor[] =
        minorArgs.length === 0 ? [...TALOS_MINORS] : minorArgs.map((m) => m.replace(/^v/, "") as TalosMinor);
    for (const m of minors) {
        if (!TALOS_MINORS.includes(m)) {
            throw new Error(`unknown Talos minor ${m} (supported: ${TALOS_MINORS.join(", ")})`);
        }
    }

    // One bundle and one pair of admin certificates for every minor: a secrets bundle does not
    // depend on the Talos version (contracts after v1.6 make the same kinds of keys).
    const secrets = await makeSecretsBundle();
    const admin = await makeAdminClients(secrets);
    const patchCases = readPatchCases();

    for (const minor of minors) {
        const contract = contractFor(minor);
        const dir = join(outDir, `v${minor}`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });

        const base: Omit<MachineConfigInput, "role"> = {
            clusterName: CLUSTER_NAME,
            controlPlaneEndpoint: CONTROL_PLANE_ENDPOINT,
            talosVersion: contract.referenceVersion,
            kubernetesVersion: contract.kubernetes.default,
            secrets,
            additionalSANs: ADDITIONAL_SANS,
            storagePath: DEFAULT_STORAGE_PATH,
            registryMirrors: REGISTRY_MIRRORS,
        };

        const configs = {
            controlplane: renderMachineConfig({ ...base, role: "controlplane" }),
            worker: renderMachineConfig({ ...base, role: "worker" }),
        };
        const files: Record<string, string> = {
            "secrets.yaml": renderSecretsYaml(secrets),
            "controlplane.yaml": configs.controlplane,
            "worker.yaml": configs.worker,
            // What `pulumi preview --diff` shows of each role's config.
            "controlplane.view.json": JSON.stringify(configView(configs.controlplane, secrets), null, 2) + "\n",
            "worker.view.json": JSON.stringify(configView(configs.worker, secrets), null, 2) + "\n",
            talosconfig: renderTalosconfig({
                contextName: CLUSTER_NAME,
                endpoints: TALOS_API_ENDPOINTS,
                nodes: TALOS_NODES,
                ca: secrets.certs.os.crt,
                crt: admin.talos.crt,
                key: admin.talos.key,
            }),
            kubeconfig: renderKubeconfig({
                clusterName: CLUSTER_NAME,
                server: KUBERNETES_SERVER,
                ca: secrets.certs.k8s.crt,
                crt: admin.kubernetes.crt,
                key: admin.kubernetes.key,
            }),
        };

        // Each case through the production path: the user's patches after generation and the
        // storage mount, which is the config above with the patches applied in order.
        const patches: PatchCaseFixture[] = patchCases.map((c) => {
            try {
                const result = renderMachineConfig({ ...base, role: c.role, patches: c.patches.map(parsePatch) });
                return { ...c, result, error: null };
            } catch (err) {
                return { ...c, result: null, error: errorMessage(err) };
            }
        });
        files["patches.json"] = JSON.stringify(patches, null, 2) + "\n";

        // Each mirror case through the production path, with the base's storage mount.
        const mirrors: MirrorCaseFixture[] = readMirrorCases().map((c) => ({
            ...c,
            controlplane: renderMachineConfig({ ...base, role: "controlplane", registryMirrors: c.mirrors }),
            worker: renderMachineConfig({ ...base, role: "worker", registryMirrors: c.mirrors }),
        }));
        files["mirrors.json"] = JSON.stringify(mirrors, null, 2) + "\n";

        // Our immediate-apply verdicts on changes of the control plane config (applymode-cases.ts).
        const documents = machineConfigDocuments({ ...base, role: "controlplane" }) as Record<string, unknown>[];
        files["applymode.json"] = JSON.stringify(immediateFixture(minor, documents), null, 2) + "\n";

        // Our steps of a Kubernetes patch upgrade on each role's config (talos/k8supgrade.ts), for
        // machinery's stdpatches to redo where it has them (v1.14).
        const nextKubernetes = contract.kubernetes.default.replace(/\.(\d+)$/, (_, patch: string) => `.${Number(patch) + 1}`);
        files["k8ssteps.json"] = JSON.stringify(MACHINE_ROLES.map((role) => {
            const next = renderMachineConfig({ ...base, role, kubernetesVersion: nextKubernetes });
            return { role, from: configs[role], steps: kubernetesUpgradeSteps(configs[role], next) };
        }), null, 2) + "\n";

        // Our version-change rule for every pair of releases we know, for machinery to judge.
        const releases = TALOS_MINORS.flatMap((m) => [contractFor(m).referenceVersion, contractFor(m).latestRelease]);
        const upgrades = [...new Set(releases)].flatMap((from) => [...new Set(releases)].map((to) =>
            ({ from, to, allowed: talosChangeProblem(from, to) === undefined })));
        files["upgrades.json"] = JSON.stringify(upgrades, null, 2) + "\n";

        files["options.json"] =
            JSON.stringify(
                {
                    minor: `v${minor}`,
                    talosVersion: contract.referenceVersion,
                    kubernetesVersion: contract.kubernetes.default,
                    clusterName: CLUSTER_NAME,
                    controlPlaneEndpoint: CONTROL_PLANE_ENDPOINT,
                    additionalSANs: ADDITIONAL_SANS,
                    storagePath: DEFAULT_STORAGE_PATH,
                    registryMirrors: REGISTRY_MIRRORS,
                    talosconfig: { contextName: CLUSTER_NAME, endpoints: TALOS_API_ENDPOINTS, nodes: TALOS_NODES },
                    kubeconfig: { server: KUBERNETES_SERVER },
                    generator: "talos-docker",
                },
                null,
                2,
            ) + "\n";

        for (const [name, text] of Object.entries(files)) {
            writeFileSync(join(dir, name), text, { mode: 0o600 });
        }
        const rejected = patches.filter((p) => p.error !== null).length;
        console.log(
            `fixtures v${minor} (${contract.referenceVersion}, Kubernetes ${contract.kubernetes.default}): ${dir} — ${patches.length} patch cases, ${rejected} rejected by ours`,
        );
    }
}

main().catch((err: unknown) => {
    console.error(`write-fixtures: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
});
