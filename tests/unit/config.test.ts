import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
    ConfigError, DEFAULTS, describeProblem, EMPTY_MEANS_UNSET, parseAllConfig, parseClusterSpec, parseStackConfig,
    type ConfigProblem, type ParseOptions,
} from "../../model/config";
import { PROVIDER_NAMESPACES } from "../../model/confignamespaces";
import { setCommand } from "../../model/configproblems";
import { asRawConfig, projectRoot as root, stackFile } from "../support/stack";

/** The problems a raw config yields, as printed, with their fixes; [] when it is valid. */
function found(raw: Record<string, unknown>, options: ParseOptions = {}): { text: string; fix: string }[] {
    try {
        parseStackConfig(asRawConfig(raw), options);
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => ({ text: describeProblem(p), fix: p.fix }));
        throw err;
    }
}

/** The problems a raw config yields, or [] when it is valid. */
function problems(raw: Record<string, unknown>): string[] {
    try {
        parseClusterSpec(asRawConfig(raw));
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.problems.map(describeProblem);
        throw err;
    }
}

describe("defaults", () => {
    it("an empty config is the reference cluster", () => {
        const spec = parseClusterSpec({});
        expect(spec).toMatchObject({
            clusterName: "talos",
            talosVersion: "v1.8.3",
            kubernetesVersion: "1.31.1",
            image: "ghcr.io/siderolabs/talos:v1.8.3",
            network: { name: "talos-net", subnet: "172.30.0.0/24", gateway: "172.30.0.1", mtu: 1500 },
            controlPlanes: { count: 1, cpus: 2, memoryMiB: 4096 },
            workers: { count: 2, cpus: 2, memoryMiB: 4096 },
            ports: { bindAddress: "127.0.0.1", kubernetesApi: 6444, talosApi: 50000, http: 80, https: 443 },
            configPatches: { all: [], controlPlane: [], worker: [] },
            storage: { enabled: true, path: "/var/local-path-provisioner", isDefault: true, reclaimPolicy: "Delete" },
            timeouts: { bootstrap: "10m", ready: "15m", apply: "10m" },
        });
    });

    it("Pulumi.dev.yaml spells out exactly the defaults", () => {
        expect(parseClusterSpec(asRawConfig(stackFile("Pulumi.dev.yaml")))).toEqual(parseClusterSpec({}));
    });

    describe("Pulumi.yaml", () => {
        const project = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as {
            config: Record<string, { type?: string; default?: unknown; description?: string }>;
        };
        const declared = project.config;

        it("declares every key the program reads, each described", () => {
            expect(Object.keys(declared).sort()).toEqual(
                ["clusterName", "talosVersion", "kubernetesVersion", "image", "network", "controlPlanes", "workers", "ports", "configPatches", "storage", "registryMirrors", "registryCache", "timeouts", "secretsFile"].sort(),
            );
            for (const entry of Object.values(declared)) expect(entry.description).toBeTruthy();
        });

        it("gives every key a default, since the Pulumi CLI requires a declared key that has none", () => {
            for (const [key, entry] of Object.entries(declared)) expect(entry.default, key).toBeDefined();
        });

        it("has the program's scalar defaults (the versions as \"\": the program tells an unset talosVersion from a set one)", () => {
            expect(declared.clusterName.default).toBe(DEFAULTS.clusterName);
            expect(declared.talosVersion.default).toBe("");
            expect(declared.kubernetesVersion.default).toBe("");
        });

        it("has the program's object defaults (the gateway is left to follow the subnet)", () => {
            const objects = ["network", "controlPlanes", "workers", "ports", "configPatches", "storage", "registryMirrors", "registryCache", "timeouts"] as const;
            for (const key of objects) expect(declared[key].default, key).toEqual(DEFAULTS[key]);
            expect(declared.network.default).not.toHaveProperty("gateway");
        });

        it("declares \"\" exactly for the keys whose empty string the program reads as unset", () => {
            const empty = Object.keys(declared).filter((key) => declared[key].default === "");
            expect(empty.sort()).toEqual([...EMPTY_MEANS_UNSET].sort());
        });

        it("its defaults, as the CLI hands them to the program, are the reference cluster", () => {
            const raw = Object.fromEntries(Object.entries(declared).map(([key, entry]) => [key, entry.default]));
            expect(parseClusterSpec(asRawConfig(raw))).toEqual(parseClusterSpec({}));
        });
    });

    it("an empty image or secretsFile (Pulumi.yaml's default) is unset: the image follows talosVersion", () => {
        expect(parseClusterSpec({ image: "", secretsFile: "" })).toEqual(parseClusterSpec({}));
        const newer = { talosVersion: "v1.13.9", kubernetesVersion: "1.36.3" };
        expect(parseClusterSpec({ ...newer, image: "" }).image).toBe("ghcr.io/siderolabs/talos:v1.13.9");
    });

    it("an empty talosVersion or kubernetesVersion (Pulumi.yaml's default) is unset: the reference pair", () => {
        expect(parseClusterSpec({ talosVersion: "", kubernetesVersion: "" })).toEqual(parseClusterSpec({}));
        const spec = parseClusterSpec({});
        expect([spec.talosVersion, spec.kubernetesVersion]).toEqual(["v1.8.3", "1.31.1"]);
    });

    it("an empty string stays an error for the other keys", () => {
        expect(problems({ clusterName: "", ports: "" })).toEqual([
            "talos-docker:ports = \"\": must be an object with the keys bindAddress, kubernetesApi, talosApi, http, https",
            expect.stringMatching(/^talos-docker:clusterName = "": must be a DNS label/),
        ]);
    });

    // talosctl gen config / cluster create take constants.DefaultKubernetesVersion of their own
    // release (talos@TAG:pkg/machinery/constants/constants.go), written out here per minor.
    it.each([
        ["v1.8.3", "1.31.2"], ["v1.9.6", "1.32.4"], ["v1.10.9", "1.33.6"], ["v1.11.6", "1.34.1"],
        ["v1.12.11", "1.35.4"], ["v1.13.9", "1.36.3"], ["v1.14.1", "1.37.0"], ["v1.14.0", "1.37.0"],
    ])("a talosVersion %s without kubernetesVersion runs that minor's default Kubernetes, %s", (talosVersion, kubernetes) => {
        expect(parseClusterSpec({ talosVersion }).kubernetesVersion).toBe(kubernetes);
        expect(parseClusterSpec({ talosVersion, kubernetesVersion: "" }).kubernetesVersion).toBe(kubernetes);
        expect(problems({ talosVersion })).toEqual([]);
    });

    it("a kubernetesVersion that is set wins over the minor's default", () => {
        expect(parseClusterSpec({ talosVersion: "v1.14.1", kubernetesVersion: "1.35.2" }).kubernetesVersion).toBe("1.35.2");
        expect(parseClusterSpec({ kubernetesVersion: "1.30.4" }).kubernetesVersion).toBe("1.30.4");
    });

    it("a partial object keeps the defaults of the fields it does not set", () => {
        const spec = parseClusterSpec({ workers: JSON.stringify({ count: 0 }), network: JSON.stringify({ mtu: 9000 }) });
        expect(spec.workers).toEqual({ count: 0, cpus: 2, memoryMiB: 4096 });
        expect(spec.network).toEqual({ name: "talos-net", subnet: "172.30.0.0/24", gateway: "172.30.0.1", mtu: 9000 });
    });

    it("derives the image from talosVersion unless it is set", () => {
        expect(parseClusterSpec({ talosVersion: "v1.13.9", kubernetesVersion: "1.36.3" }).image).toBe("ghcr.io/siderolabs/talos:v1.13.9");
        expect(parseClusterSpec({ image: "registry.local/talos:dev" }).image).toBe("registry.local/talos:dev");
    });

    // 1.15 * 100 is 114.99999999999999 in floating point: the steps are the decimal ones written.
    it("accepts CPUs in hundredths as written, and whole numbers the provider stores as \"10.\"", () => {
        expect(parseClusterSpec(asRawConfig({ workers: { cpus: 1.15 }, controlPlanes: { cpus: 2.35 } }))).toMatchObject({
            workers: { cpus: 1.15 }, controlPlanes: { cpus: 2.35 },
        });
        expect(parseClusterSpec(asRawConfig({ workers: { cpus: 10 } })).workers.cpus).toBe(10);
    });

    it("accepts a Kubernetes version written with a leading v", () => {
        expect(parseClusterSpec({ kubernetesVersion: "v1.30.4" }).kubernetesVersion).toBe("1.30.4");
    });
});

describe("validation names the key, the value and what is allowed", () => {
    // name, config, the problem as printed, its fix
    const cases: [string, Record<string, unknown>, string, string][] = [
        ["subnet not a CIDR", { network: { subnet: "172.30.0.0" } },
            'talos-docker:network.subnet = "172.30.0.0": is not an IPv4 CIDR such as 172.30.0.0/24',
            "pulumi config set --path 'talos-docker:network.subnet' 172.30.0.0/24"],
        ["subnet with host bits", { network: { subnet: "172.30.0.5/24" } },
            'talos-docker:network.subnet = "172.30.0.5/24": has host bits set; the network is 172.30.0.0/24',
            "pulumi config set --path 'talos-docker:network.subnet' 172.30.0.0/24"],
        ["subnet too small", { network: { subnet: "10.5.0.0/30" } },
            'talos-docker:network.subnet = "10.5.0.0/30": too small for 1 control plane and 2 workers: it needs the network, gateway ' +
                "and broadcast addresses and one for each node (the first control plane .2, the workers from .3 up, the other " +
                "control planes from the top down); use a /29 or larger",
            "pulumi config set --path 'talos-docker:network.subnet' 10.5.0.0/29"],
        ["gateway outside the subnet", { network: { gateway: "10.0.0.1" } },
            'talos-docker:network.gateway = "10.0.0.1": must be an IPv4 address inside 172.30.0.0/24',
            "pulumi config rm --path 'talos-docker:network.gateway' (the gateway is then 172.30.0.1)"],
        ["gateway on a node address", { network: { gateway: "172.30.0.3" } },
            'talos-docker:network.gateway = "172.30.0.3": is the address of node worker-01; the nodes take 172.30.0.2-172.30.0.4: ' +
                "use 172.30.0.1 or an address outside them",
            "pulumi config rm --path 'talos-docker:network.gateway' (the gateway is then 172.30.0.1)"],
        ["gateway on the address of a further control plane", { network: { gateway: "172.30.0.253" }, controlPlanes: { count: 3 } },
            'talos-docker:network.gateway = "172.30.0.253": is the address of node cp-03; the nodes take 172.30.0.2-172.30.0.4 and ' +
                "172.30.0.253-172.30.0.254: use 172.30.0.1 or an address outside them",
            "pulumi config rm --path 'talos-docker:network.gateway' (the gateway is then 172.30.0.1)"],
        ["mtu out of range", { network: { mtu: 100 } },
            "talos-docker:network.mtu = 100: must be an integer from 1280 to 9216",
            "pulumi config set --path 'talos-docker:network.mtu' 1280"],
        ["no control plane", { controlPlanes: { count: 0 } },
            "talos-docker:controlPlanes.count = 0: must be an integer from 1 to 7",
            "pulumi config set --path 'talos-docker:controlPlanes.count' 1"],
        ["too many workers", { workers: { count: 251 } },
            "talos-docker:workers.count = 251: must be an integer from 0 to 250",
            "pulumi config set --path 'talos-docker:workers.count' 250"],
        ["fractional count", { workers: { count: 1.5 } },
            "talos-docker:workers.count = 1.5: must be an integer from 0 to 250",
            "pulumi config set --path 'talos-docker:workers.count' 2"],
        ["control plane memory below Talos' minimum", { controlPlanes: { memoryMiB: 1024 } },
            "talos-docker:controlPlanes.memoryMiB = 1024: must be an integer of at least 2048 (Talos' minimum for a control plane, in MiB)",
            "pulumi config set --path 'talos-docker:controlPlanes.memoryMiB' 2048"],
        ["worker memory below Talos' minimum", { workers: { memoryMiB: 512 } },
            "talos-docker:workers.memoryMiB = 512: must be an integer of at least 1024 (Talos' minimum for a worker, in MiB)",
            "pulumi config set --path 'talos-docker:workers.memoryMiB' 1024"],
        ["control plane cpus below Talos' minimum", { controlPlanes: { cpus: 1 } },
            "talos-docker:controlPlanes.cpus = 1: must be a number of CPUs of at least 2 (Talos' minimum for a control plane), in steps of 0.01",
            "pulumi config set --path 'talos-docker:controlPlanes.cpus' 2"],
        ["cpus the Docker provider reads back rounded", { workers: { cpus: 10.05 } },
            'talos-docker:workers.cpus = 10.05: the Docker provider stores 10.05 CPUs as "10.1" (its decimal format rounds it), ' +
                "so the node would get other CPUs or be replaced on every pulumi up; use 10 or 10.1",
            "pulumi config set --path --type float 'talos-docker:workers.cpus' 10.1"],
        ["cpus rounded down on read-back", { controlPlanes: { cpus: 20.01 } },
            'talos-docker:controlPlanes.cpus = 20.01: the Docker provider stores 20.01 CPUs as "20.0" (its decimal format rounds it), ' +
                "so the node would get other CPUs or be replaced on every pulumi up; use 20 or 20.1",
            "pulumi config set --path 'talos-docker:controlPlanes.cpus' 20"],
        ["node subnet inside Talos' default service network", { network: { subnet: "10.96.0.0/24" } },
            'talos-docker:network.subnet = "10.96.0.0/24": overlaps the service network 10.96.0.0/12 (Talos\' default): ' +
                "the nodes' addresses would be routed to pods or Services instead of the nodes; use a subnet outside the cluster's pod and service networks",
            "pulumi config set --path 'talos-docker:network.subnet' 172.30.0.0/24"],
        ["node subnet inside a patched pod network", {
            network: { subnet: "172.30.0.0/24" },
            configPatches: { all: [{ cluster: { network: { podSubnets: ["172.16.0.0/12"] } } }] },
        },
            'talos-docker:network.subnet = "172.30.0.0/24": overlaps the pod network 172.16.0.0/12 (set by configPatches): ' +
                "the nodes' addresses would be routed to pods or Services instead of the nodes; use a subnet outside the cluster's pod and service networks",
            "pulumi config set --path 'talos-docker:network.subnet' 10.0.0.0/24"],
        ["apply timeout not a duration", { timeouts: { apply: "soon" } },
            'talos-docker:timeouts.apply = "soon": must be a duration from 10s to 24h, such as "90s", "10m" or "1h30m"',
            "pulumi config set --path 'talos-docker:timeouts.apply' 10m"],
        ["port out of range", { ports: { kubernetesApi: 70000 } },
            "talos-docker:ports.kubernetesApi = 70000: must be an integer from 1 to 65535",
            "pulumi config set --path 'talos-docker:ports.kubernetesApi' 6444"],
        ["ports colliding", { ports: { https: 6444 } },
            "talos-docker:ports.https = 6444: collides with ports.kubernetesApi; each host port must be different",
            "pulumi config set --path 'talos-docker:ports.https' 6445"],
        ["bind address not an address", { ports: { bindAddress: "localhost" } },
            'talos-docker:ports.bindAddress = "localhost": must be an IPv4 address of this host, such as 127.0.0.1 (or 0.0.0.0 for all)',
            "pulumi config set --path 'talos-docker:ports.bindAddress' 127.0.0.1"],
        ["Talos minor too old", { talosVersion: "v1.7.6" },
            'talos-docker:talosVersion = "v1.7.6": Talos v1.7 is not supported; supported minors are v1.8, v1.9, v1.10, v1.11, v1.12, v1.13, v1.14',
            "pulumi config set talos-docker:talosVersion v1.8.4"],
        ["Talos minor too new", { talosVersion: "v1.15.0" },
            'talos-docker:talosVersion = "v1.15.0": Talos v1.15 is not supported; supported minors are v1.8, v1.9, v1.10, v1.11, v1.12, v1.13, v1.14',
            "pulumi config set talos-docker:talosVersion v1.14.1"],
        ["Talos version not a version", { talosVersion: "latest" },
            'talos-docker:talosVersion = "latest": is not a Talos release such as v1.8.3',
            "pulumi config set talos-docker:talosVersion v1.14.1"],
        ["Talos patch release that does not exist", { talosVersion: "v1.8.99" },
            'talos-docker:talosVersion = "v1.8.99": is not a Talos release: v1.8 has v1.8.0 to v1.8.4, its latest',
            "pulumi config set talos-docker:talosVersion v1.8.4"],
        ["Talos version without its v", { talosVersion: "1.8.3" },
            'talos-docker:talosVersion = "1.8.3": is not a Talos release such as v1.8.3',
            "pulumi config set talos-docker:talosVersion v1.8.3"],
        ["Kubernetes too new for Talos 1.8", { kubernetesVersion: "1.32.0" },
            'talos-docker:kubernetesVersion = "1.32.0": Talos v1.8.3 supports Kubernetes 1.26 to 1.31 (its default is 1.31.2)',
            "pulumi config set talos-docker:kubernetesVersion 1.31.2"],
        ["Kubernetes too old for Talos 1.13", { talosVersion: "v1.13.9", kubernetesVersion: "1.30.0" },
            'talos-docker:kubernetesVersion = "1.30.0": Talos v1.13.9 supports Kubernetes 1.31 to 1.36 (its default is 1.36.3)',
            "pulumi config set talos-docker:kubernetesVersion 1.36.3"],
        ["Kubernetes version not a version", { kubernetesVersion: "1.31" },
            'talos-docker:kubernetesVersion = "1.31": is not a Kubernetes release such as 1.31.1',
            "pulumi config set talos-docker:kubernetesVersion 1.31.0"],
        ["cluster name not a DNS label", { clusterName: "My_Cluster" },
            'talos-docker:clusterName = "My_Cluster": must be a DNS label of at most 52 characters (lower-case letters, digits and \'-\', starting and ending with a letter or digit), since node names are <clusterName>-worker-NN',
            "pulumi config set talos-docker:clusterName my-cluster"],
        ["cluster name too long for node names", { clusterName: "a".repeat(53) },
            `talos-docker:clusterName = "${"a".repeat(53)}": must be a DNS label of at most 52 characters (lower-case letters, digits and '-', starting and ending with a letter or digit), since node names are <clusterName>-worker-NN`,
            `pulumi config set talos-docker:clusterName ${"a".repeat(52)}`],
        ["storage path outside /var", { storage: { path: "/opt/local-path" } },
            'talos-docker:storage.path = "/opt/local-path": must be an absolute path under /var with no whitespace, no trailing "/" and no empty, "." or ".." segment (the rest of a Talos node is read-only)',
            "pulumi config set --path 'talos-docker:storage.path' /var/local-path-provisioner"],
        ["storage path with a trailing slash", { storage: { path: "/var/foo/" } },
            'talos-docker:storage.path = "/var/foo/": must be an absolute path under /var with no whitespace, no trailing "/" and no empty, "." or ".." segment (the rest of a Talos node is read-only)',
            "pulumi config set --path 'talos-docker:storage.path' /var/foo"],
        ["storage path with a . segment", { storage: { path: "/var/./x" } },
            'talos-docker:storage.path = "/var/./x": must be an absolute path under /var with no whitespace, no trailing "/" and no empty, "." or ".." segment (the rest of a Talos node is read-only)',
            "pulumi config set --path 'talos-docker:storage.path' /var/x"],
        ["storage path with an empty segment", { storage: { path: "/var//x" } },
            'talos-docker:storage.path = "/var//x": must be an absolute path under /var with no whitespace, no trailing "/" and no empty, "." or ".." segment (the rest of a Talos node is read-only)',
            "pulumi config set --path 'talos-docker:storage.path' /var/x"],
        ["reclaim policy", { storage: { reclaimPolicy: "Recycle" } },
            'talos-docker:storage.reclaimPolicy = "Recycle": must be Delete or Retain',
            "pulumi config set --path 'talos-docker:storage.reclaimPolicy' Delete"],
        ["boolean as string", { storage: { enabled: "yes" } },
            'talos-docker:storage.enabled = "yes": must be true or false',
            "pulumi config set --path 'talos-docker:storage.enabled' true"],
        ["unknown field", { network: { subnett: "10.0.0.0/24" } },
            'talos-docker:network.subnett = "10.0.0.0/24": unknown key; network has name, subnet, gateway, mtu; did you mean talos-docker:network.subnet?',
            "pulumi config rm --path 'talos-docker:network.subnett' && pulumi config set --path 'talos-docker:network.subnet' 10.0.0.0/24"],
        ["unknown key", { worker: { count: 3 } },
            "talos-docker:worker = {\"count\":3}: unknown key; the keys are clusterName, talosVersion, kubernetesVersion, image, network, controlPlanes, workers, ports, configPatches, storage, registryMirrors, registryCache, timeouts, secretsFile; did you mean talos-docker:workers?",
            "pulumi config rm talos-docker:worker && pulumi config set --path 'talos-docker:workers.count' 3"],
        ["object key given a scalar", { network: "talos-net" },
            'talos-docker:network = "talos-net": must be an object with the keys name, subnet, gateway, mtu',
            "pulumi config rm talos-docker:network, then set each field on its own (pulumi config set --path 'talos-docker:network.name' <value>)"],
        ["timeout not a duration", { timeouts: { bootstrap: "10" } },
            'talos-docker:timeouts.bootstrap = "10": must be a duration from 10s to 24h, such as "90s", "10m" or "1h30m"',
            "pulumi config set --path 'talos-docker:timeouts.bootstrap' 10m"],
        ["timeout too short", { timeouts: { ready: "1s" } },
            'talos-docker:timeouts.ready = "1s": must be a duration from 10s to 24h, such as "90s", "10m" or "1h30m"',
            "pulumi config set --path 'talos-docker:timeouts.ready' 15m"],
        ["patches not a list", { configPatches: { all: "machine: {}" } },
            'talos-docker:configPatches.all = "machine: {}": must be a list of config patches (YAML text or inline YAML)',
            `edit talos-docker:configPatches.all in Pulumi.<stack>.yaml into a list, one "- " item per patch, or pulumi config rm --path 'talos-docker:configPatches.all'`],
    ];

    it.each(cases)("%s", (_name, raw, message, fix) => {
        expect(found(raw)).toEqual([{ text: message, fix }]);
    });

    it("a patch that is not YAML names its place in the list", () => {
        const found = problems({ configPatches: { worker: ["machine:\n  kubelet: [unclosed"] } });
        expect(found).toHaveLength(1);
        expect(found[0]).toMatch(/^talos-docker:configPatches\.worker\[0\] = "machine:\\n  kubelet: \[unclosed": is not a valid config patch: /);
    });

    it("a patch that targets a key Talos does not have is rejected before anything is made", () => {
        expect(problems({ configPatches: { all: [{ machine: { kubelet: { nonsense: true } } }] } })).toEqual([
            'talos-docker:configPatches.all[0] = {"machine":{"kubelet":{"nonsense":true}}}: does not apply to the controlplane config of Talos v1.8.3: the patched config does not load in Talos v1.8: machine.kubelet.nonsense: unknown field',
        ]);
    });

    it("a JSON6902 patch on a path that does not exist names the patch and the role", () => {
        expect(problems({ configPatches: { worker: ["- op: remove\n  path: /machine/doesnotexist\n"] } })).toEqual([
            'talos-docker:configPatches.worker[0] = "- op: remove\\n  path: /machine/doesnotexist\\n": does not apply to the worker config of Talos v1.8.3: JSON6902 patch, operation 1 (remove "/machine/doesnotexist"): "/machine/doesnotexist" does not exist',
        ]);
    });

    it("JSON6902 is refused where Talos refuses it (multi-document configs, v1.12 on)", () => {
        const found = problems({ talosVersion: "v1.13.9", kubernetesVersion: "1.36.3", configPatches: { controlPlane: ["- op: add\n  path: /machine/nodeLabels/x\n  value: y\n"] } });
        expect(found).toEqual([expect.stringMatching(/^talos-docker:configPatches\.controlPlane\[0\] = .*: does not apply to the controlplane config of Talos v1\.13\.9: JSON6902 patches are not supported for multi-document machine configuration$/)]);
    });

    it("names the first failing patch when later ones build on earlier ones", () => {
        const found = problems({ configPatches: { worker: [
            { machine: { nodeLabels: { tier: "batch" } } },
            "- op: replace\n  path: /machine/nodeLabels/tier\n  value: web\n",
            { machine: { bogus: 1 } },
        ] } });
        expect(found).toHaveLength(1);
        expect(found[0]).toMatch(/^talos-docker:configPatches\.worker\[2\] = \{"machine":\{"bogus":1\}\}: does not apply to the worker config/);
    });

    it("the README's example patches apply", () => {
        const readme = readFileSync(join(root, "README.md"), "utf8");
        const example = /Example patch, in `Pulumi.dev.yaml`:\n\n```yaml\n([\s\S]*?)```/.exec(readme)![1];
        const value = (parse(`config:\n${example}`) as { config: Record<string, unknown> }).config["talos-docker:configPatches"];
        expect(parseClusterSpec(asRawConfig({ configPatches: value })).configPatches.worker).toHaveLength(1);
    });

    it("the README's example error is what the parser prints for its values", () => {
        const readme = readFileSync(join(root, "README.md"), "utf8");
        const example = /```\n(error: invalid stack configuration[\s\S]*?)```/.exec(readme)![1];
        let message = "";
        try {
            parseClusterSpec(asRawConfig({ workers: { memoryMiB: 512 }, ports: { https: 6444 } }));
        } catch (err) {
            message = (err as Error).message;
        }
        expect(`error: ${message}\n`).toBe(example);
    });

    it("inline YAML patches and YAML text are both accepted", () => {
        const spec = parseClusterSpec({
            configPatches: JSON.stringify({
                all: [{ machine: { sysctls: { "vm.max_map_count": "262144" } } }],
                controlPlane: ["cluster:\n  allowSchedulingOnControlPlanes: true\n"],
            }),
        });
        expect(spec.configPatches.all).toHaveLength(1);
        expect(spec.configPatches.controlPlane).toHaveLength(1);
        expect(spec.configPatches.worker).toEqual([]);
    });

    it("lists every problem at once, in one error", () => {
        let error: unknown;
        try {
            parseClusterSpec({
                clusterName: "Bad Name",
                controlPlanes: JSON.stringify({ count: 0, memoryMiB: 100 }),
                ports: JSON.stringify({ talosApi: 6444 }),
                talosVersion: "v2.0.0",
            });
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(ConfigError);
        const { problems: list, message } = error as ConfigError;
        expect(list.map((p) => p.key)).toEqual([
            "talos-docker:clusterName",
            "talos-docker:talosVersion",
            "talos-docker:controlPlanes.count",
            "talos-docker:controlPlanes.memoryMiB",
            "talos-docker:ports.talosApi",
        ]);
        expect(message.split("\n")[0]).toBe("invalid stack configuration (5 problems); nothing was created:");
        expect(message).toContain("\n  - talos-docker:ports.talosApi = 6444: collides with ports.kubernetesApi");
    });

    it("checks the subnet against the node count after the counts are read", () => {
        // A /29 holds the network, the gateway, five nodes (.2-.6) and the broadcast address.
        expect(problems({ network: { subnet: "10.0.0.0/29" }, workers: { count: 4 } })).toEqual([]);
        expect(problems({ network: { subnet: "10.0.0.0/29" }, controlPlanes: { count: 2 }, workers: { count: 3 } })).toEqual([]);
        expect(problems({ network: { subnet: "10.0.0.0/29" }, workers: { count: 5 } })).toEqual([
            'talos-docker:network.subnet = "10.0.0.0/29": too small for 1 control plane and 5 workers: it needs the network, ' +
                "gateway and broadcast addresses and one for each node (the first control plane .2, the workers from .3 up, " +
                "the other control planes from the top down); use a /28 or larger",
        ]);
        // 3 control planes and 3 workers: cp-03 would take .5 of a /29, the address of worker-03.
        expect(problems({ network: { subnet: "10.0.0.0/29" }, controlPlanes: { count: 3 }, workers: { count: 3 } })[0])
            .toMatch(/^talos-docker:network.subnet = "10.0.0.0\/29": too small for 3 control planes and 3 workers: .*; use a \/28 or larger$/);
    });

    it("accepts a gateway between the workers and the other control planes, or at the top with one control plane", () => {
        expect(parseClusterSpec({ network: JSON.stringify({ gateway: "172.30.0.254" }) }).network.gateway).toBe("172.30.0.254");
        const three = asRawConfig({ network: { gateway: "172.30.0.100" }, controlPlanes: { count: 3 } });
        expect(parseClusterSpec(three).network.gateway).toBe("172.30.0.100");
    });
});

describe("each problem's fix fits it", () => {
    const keys = "clusterName, talosVersion, kubernetesVersion, image, network, controlPlanes, workers, ports, configPatches, storage, registryMirrors, registryCache, timeouts, secretsFile";

    it("a misspelt key is moved to the key it meant", () => {
        expect(found({ clustername: "lab" })).toEqual([{
            text: `talos-docker:clustername = "lab": unknown key; the keys are ${keys}; did you mean talos-docker:clusterName?`,
            fix: "pulumi config rm talos-docker:clustername && pulumi config set talos-docker:clusterName lab",
        }]);
    });

    it("a field written at the top level is moved into its object, when only one object has it", () => {
        expect(found({ subnet: "10.9.0.0/24" })[0].fix).toBe(
            "pulumi config rm talos-docker:subnet && pulumi config set --path 'talos-docker:network.subnet' 10.9.0.0/24",
        );
        // controlPlanes and workers both have a count: no guess.
        expect(found({ count: 3 })).toEqual([{ text: `talos-docker:count = 3: unknown key; the keys are ${keys}`, fix: "pulumi config rm talos-docker:count" }]);
    });

    it("a key near nothing is only removed", () => {
        expect(found({ colour: "blue" })).toEqual([{ text: `talos-docker:colour = "blue": unknown key; the keys are ${keys}`, fix: "pulumi config rm talos-docker:colour" }]);
    });

    it("a big object under a misspelt key is renamed in the stack file", () => {
        const storage = { enabled: true, path: "/var/x", isDefault: true, reclaimPolicy: "Retain", extra: 1 };
        expect(found({ storag: storage }, { stackFile: "Pulumi.lab.yaml" })[0].fix).toBe("rename the key to talos-docker:storage in Pulumi.lab.yaml");
    });

    it("commands name the stack when the check is for another one than the selected", () => {
        expect(found({ workers: { memoryMiB: 512 } }, { stack: "lab" })[0].fix).toBe("pulumi config set --stack lab --path 'talos-docker:workers.memoryMiB' 1024");
        expect(found({ image: "a b" }, { stack: "lab" })[0].fix).toBe("pulumi config rm --stack lab talos-docker:image (the image then follows talosVersion)");
    });

    it("a secret key's value is never shown, nor used in its fix", () => {
        const secret = "s3cr3t-path.yaml";
        const problems = found({ secretsFile: secret }, { secretKeys: ["talos-docker:secretsFile"], io: { readFile: () => { throw new Error("no such file"); } } });
        expect(problems).toEqual([{
            text: "talos-docker:secretsFile = [secret]: cannot be read (no such file); give the path of a talosctl secrets.yaml, relative to the project directory",
            fix: "set it again (pulumi config set --secret talos-docker:secretsFile <value>), or remove it (pulumi config rm talos-docker:secretsFile)",
        }]);
        // a nested key is secret when its top-level key is
        expect(found({ network: { name: "bad name!" } }, { secretKeys: ["talos-docker:network"] })[0]).toEqual({
            text: "talos-docker:network.name = [secret]: must be a Docker network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
            fix: "set it again (pulumi config set --secret --path 'talos-docker:network.name' <value>), or remove it (pulumi config rm --path 'talos-docker:network.name')",
        });
    });

    it("two ports that collide: the next port none of the four uses", () => {
        expect(found({ ports: { http: 6444, https: 6445 } })).toEqual([{
            text: "talos-docker:ports.http = 6444: collides with ports.kubernetesApi; each host port must be different",
            fix: "pulumi config set --path 'talos-docker:ports.http' 6446",
        }]);
    });

    it("a port out of range is not also reported as colliding with the default it falls back to", () => {
        expect(found({ ports: { kubernetesApi: 70000, https: 6444 } })).toEqual([{
            text: "talos-docker:ports.kubernetesApi = 70000: must be an integer from 1 to 65535",
            fix: "pulumi config set --path 'talos-docker:ports.kubernetesApi' 6445",
        }]);
    });

    it("--path stores integers and true/false typed, so other values say their type", () => {
        expect(setCommand("controlPlanes.cpus", 2.5)).toBe("pulumi config set --path --type float 'talos-docker:controlPlanes.cpus' 2.5");
        expect(setCommand("network.name", "1234")).toBe("pulumi config set --path --type string 'talos-docker:network.name' 1234");
        expect(setCommand("network.name", "it's")).toBe("pulumi config set --path 'talos-docker:network.name' 'it'\\''s'");
        expect(setCommand("clusterName", "1234")).toBe("pulumi config set talos-docker:clusterName 1234");
        expect(setCommand("workers.count", -1)).toBe("pulumi config set --path 'talos-docker:workers.count' -- -1");
    });

    it("a patch Talos refuses is edited where Talos refuses it, or removed", () => {
        expect(found({ configPatches: { all: [{ machine: { kubelet: { nonsense: true } } }] } })[0].fix).toBe(
            "edit talos-docker:configPatches.all[0] in Pulumi.<stack>.yaml at machine.kubelet.nonsense, " +
                "or pulumi config rm --path 'talos-docker:configPatches.all[0]'",
        );
        expect(found({ configPatches: { worker: ["- op: remove\n  path: /machine/doesnotexist\n"] } }, { stackFile: "Pulumi.dev.yaml" })[0].fix).toBe(
            "edit talos-docker:configPatches.worker[0] in Pulumi.dev.yaml at /machine/doesnotexist, " +
                "or pulumi config rm --path 'talos-docker:configPatches.worker[0]'",
        );
        expect(found({ talosVersion: "v1.13.9", kubernetesVersion: "1.36.3", configPatches: { controlPlane: ["- op: add\n  path: /machine/nodeLabels/x\n  value: y\n"] } })[0].fix).toBe(
            "rewrite talos-docker:configPatches.controlPlane[0] in Pulumi.<stack>.yaml as a strategic merge patch (a YAML mapping): " +
                "Talos v1.13 configs are multi-document and Talos applies JSON6902 only to single-document ones",
        );
        expect(found({ configPatches: { worker: ["machine:\n  kubelet: [unclosed"] } })[0].fix).toBe(
            "edit talos-docker:configPatches.worker[0] in Pulumi.<stack>.yaml (positions are within the patch), " +
                "or pulumi config rm --path 'talos-docker:configPatches.worker[0]'",
        );
    });

    it("the message lists each problem with its fix on the line below", () => {
        let error: unknown;
        try {
            parseClusterSpec(asRawConfig({ workers: { memoryMiB: 512 }, ports: { https: 6444 } }));
        } catch (err) {
            error = err;
        }
        expect((error as ConfigError).message.split("\n")).toEqual([
            "invalid stack configuration (2 problems); nothing was created:",
            "  - talos-docker:workers.memoryMiB = 512: must be an integer of at least 1024 (Talos' minimum for a worker, in MiB)",
            "    fix: pulumi config set --path 'talos-docker:workers.memoryMiB' 1024",
            "  - talos-docker:ports.https = 6444: collides with ports.kubernetesApi; each host port must be different",
            "    fix: pulumi config set --path 'talos-docker:ports.https' 6445",
        ]);
    });
});

describe("a patch problem is reported beside the other keys' problems", () => {
    const badPatch = { machine: { kubelet: { nonsense: true } } };
    const patchProblem = (version: string, minor: string) =>
        `talos-docker:configPatches.all[0] = {"machine":{"kubelet":{"nonsense":true}}}: does not apply to the controlplane config of Talos ${version}: ` +
        `the patched config does not load in Talos ${minor}: machine.kubelet.nonsense: unknown field`;

    it("with another key wrong, both are listed", () => {
        expect(problems({ workers: { memoryMiB: 512 }, configPatches: { all: [badPatch] } })).toEqual([
            "talos-docker:workers.memoryMiB = 512: must be an integer of at least 1024 (Talos' minimum for a worker, in MiB)",
            patchProblem("v1.8.3", "v1.8"),
        ]);
    });

    it("a wrong key is not echoed as a patch problem: the patches are tried with its default", () => {
        const good = [{ machine: { nodeLabels: { tier: "batch" } } }];
        for (const wrong of [
            { kubernetesVersion: "1.40.0" },
            { clusterName: "Not A Label" },
            { storage: { path: "/var/foo/" } },
            { network: { subnet: "nonsense" } },
        ]) {
            expect(problems({ ...wrong, configPatches: { all: good } })).toHaveLength(1);
            expect(problems({ ...wrong, configPatches: { all: [badPatch] } })).toEqual([expect.any(String), patchProblem("v1.8.3", "v1.8")]);
        }
    });

    it("with talosVersion wrong, the patches are not guessed at: one note says so", () => {
        let error: unknown;
        try {
            parseClusterSpec(asRawConfig({ talosVersion: "v2.0.0", configPatches: { all: [badPatch] } }));
        } catch (err) {
            error = err;
        }
        expect((error as ConfigError).problems.map((p) => p.key)).toEqual(["talos-docker:talosVersion"]);
        expect((error as ConfigError).message.split("\n").at(-1)).toBe(
            "  note: talos-docker:configPatches not checked: a patch is checked against the config of talosVersion, which is not valid",
        );
    });

    it("patches after one that does not parse are not tried (they may build on it), and a note says so", () => {
        let error: unknown;
        try {
            parseClusterSpec(asRawConfig({ configPatches: {
                all: ["machine: [unclosed"],
                worker: ["- op: replace\n  path: /machine/nodeLabels/tier\n  value: web\n"],
            } }));
        } catch (err) {
            error = err;
        }
        const { problems: list, message } = error as ConfigError;
        expect(list.map((p) => p.key)).toEqual(["talos-docker:configPatches.all[0]"]);
        expect(message.split("\n").slice(-1)).toEqual([
            "  note: talos-docker:configPatches.worker[0] not checked: it applies after talos-docker:configPatches.all[0], which does not parse",
        ]);
    });
});

describe("warnings: allowed, but said", () => {
    it.each([
        [2, "an even count adds no fault tolerance: etcd needs a majority (2 of 2) to keep working, so 2 control planes survive no failure, the same as 1; use 1 or 3", 3],
        [4, "an even count adds no fault tolerance: etcd needs a majority (3 of 4) to keep working, so 4 control planes survive 1 failure, the same as 3; use 3 or 5", 5],
        [6, "an even count adds no fault tolerance: etcd needs a majority (4 of 6) to keep working, so 6 control planes survive 2 failures, the same as 5; use 5 or 7", 7],
    ])("%i control planes", (count, message, proposed) => {
        const { spec, warnings } = parseStackConfig(asRawConfig({ controlPlanes: { count } }));
        expect(spec.controlPlanes.count).toBe(count);
        expect(warnings.map((w) => ({ text: describeProblem(w), fix: w.fix }))).toEqual([{
            text: `talos-docker:controlPlanes.count = ${count}: ${message}`,
            fix: `pulumi config set --path 'talos-docker:controlPlanes.count' ${proposed}`,
        }]);
    });

    it("a gateway where a further control plane would go: said, and refused once a count reaches it", () => {
        const { warnings } = parseStackConfig(asRawConfig({ network: { gateway: "172.30.0.253" } }));
        expect(warnings.map((w) => ({ text: describeProblem(w), fix: w.fix }))).toEqual([{
            text: 'talos-docker:network.gateway = "172.30.0.253": is the address control plane cp-03 takes: controlPlanes.count ' +
                "can then never go above 2, and a running cluster's network cannot change its gateway",
            fix: "pulumi config rm --path 'talos-docker:network.gateway' (the gateway is then 172.30.0.1)",
        }]);
        expect(parseStackConfig(asRawConfig({ network: { gateway: "172.30.0.100" } })).warnings).toEqual([]);
        // cp-07, the most control planes there may be, takes .249.
        expect(parseStackConfig(asRawConfig({ network: { gateway: "172.30.0.248" } })).warnings).toEqual([]);
        expect(parseStackConfig(asRawConfig({ network: { gateway: "172.30.0.249" } })).warnings.map(describeProblem)).toEqual([
            'talos-docker:network.gateway = "172.30.0.249": is the address control plane cp-07 takes: controlPlanes.count ' +
                "can then never go above 6, and a running cluster's network cannot change its gateway",
        ]);
    });

    it("odd counts warn of nothing", () => {
        for (const count of [1, 3, 5, 7]) expect(parseStackConfig(asRawConfig({ controlPlanes: { count } })).warnings).toEqual([]);
    });

    it("a config with problems keeps its warnings beside them", () => {
        let error: unknown;
        try {
            parseStackConfig(asRawConfig({ controlPlanes: { count: 2 }, workers: { count: -1 } }));
        } catch (err) {
            error = err;
        }
        expect((error as ConfigError).warnings.map((w) => w.key)).toEqual(["talos-docker:controlPlanes.count"]);
        expect((error as ConfigError).message).not.toContain("even count");
    });
});

describe("keys in other namespaces", () => {
    /** What the whole config (namespaces included) yields: problems and warnings, as printed, with fixes. */
    function judged(all: Record<string, unknown>, options: ParseOptions = {}) {
        const show = (list: readonly ConfigProblem[]) => list.map((p) => ({ text: describeProblem(p), fix: p.fix }));
        const config = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
        try {
            return { problems: [], warnings: show(parseAllConfig(config, options).warnings) };
        } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            return { problems: show(err.problems), warnings: show(err.warnings) };
        }
    }

    it("a key of ours in another namespace is refused, and moved where the program reads it", () => {
        expect(judged({ "talos:clusterName": "lab", "talos:workers": { count: 3 } })).toEqual({
            problems: [
                {
                    text: 'talos:clusterName = "lab": is not read: this program reads the talos-docker namespace only; did you mean talos-docker:clusterName?',
                    fix: "pulumi config rm talos:clusterName && pulumi config set talos-docker:clusterName lab",
                },
                {
                    text: 'talos:workers = {"count":3}: is not read: this program reads the talos-docker namespace only; did you mean talos-docker:workers?',
                    fix: "pulumi config rm talos:workers && pulumi config set --path 'talos-docker:workers.count' 3",
                },
            ],
            warnings: [],
        });
    });

    it("the providers' and Pulumi's namespaces are left alone", () => {
        const all = Object.fromEntries(PROVIDER_NAMESPACES.map((ns) => [`${ns}:clusterName`, "x"]));
        expect(judged({ ...all, "docker:host": "unix:///var/run/docker.sock", "pulumi:tags": { team: "a" } })).toEqual({ problems: [], warnings: [] });
    });

    it("the providers' namespaces are those of the program's @pulumi packages", () => {
        const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string> };
        const packages = Object.keys(pkg.dependencies).filter((d) => d.startsWith("@pulumi/")).map((d) => d.slice("@pulumi/".length));
        expect([...PROVIDER_NAMESPACES].sort()).toEqual(packages.sort());
    });

    it("any other key of another namespace is a warning: another tool may read it", () => {
        expect(judged({ "myteam:owner": "ops", "talos:clusterNme": "lab" })).toEqual({
            problems: [],
            warnings: [
                {
                    text: 'myteam:owner = "ops": is not read by this program (namespace talos-docker) or its providers (pulumi, docker, kubernetes, command, tls, random)',
                    fix: "pulumi config rm myteam:owner, unless another tool reads it from this stack",
                },
                {
                    text: 'talos:clusterNme = "lab": is not read by this program (namespace talos-docker) or its providers (pulumi, docker, kubernetes, command, tls, random); did you mean talos-docker:clusterName?',
                    fix: "pulumi config rm talos:clusterNme, unless another tool reads it from this stack",
                },
            ],
        });
    });

    it("a secret key of another namespace shows no value", () => {
        expect(judged({ "talos:clusterName": "hush" }, { secretKeys: ["talos:clusterName"] }).problems).toEqual([{
            text: "talos:clusterName = [secret]: is not read: this program reads the talos-docker namespace only; did you mean talos-docker:clusterName?",
            fix: "remove it (pulumi config rm talos:clusterName)",
        }]);
    });

    it("our own keys, in both spellings engines use", () => {
        const { spec } = parseAllConfig({ "talos-docker:clusterName": "lab", "talos-docker:config:workers": '{"count":0}' });
        expect([spec.clusterName, spec.workers.count]).toEqual(["lab", 0]);
    });

    it("a nested key set without --path is a top-level key with a dot: removed as such, set as a path", () => {
        expect(judged({ "talos-docker:network.subnet": "10.9.0.0/24" }).problems).toEqual([{
            text: 'talos-docker:network.subnet = "10.9.0.0/24": unknown key; the keys are clusterName, talosVersion, kubernetesVersion, image, network, ' +
                "controlPlanes, workers, ports, configPatches, storage, registryMirrors, registryCache, timeouts, secretsFile; did you mean the path talos-docker:network.subnet (set with --path)?",
            fix: "pulumi config rm talos-docker:network.subnet && pulumi config set --path 'talos-docker:network.subnet' 10.9.0.0/24",
        }]);
    });
});

describe("an image of another Talos release than talosVersion", () => {
    const why = "the machine configs are made for talosVersion, so the image must be that release " +
        "(an image by digest, or with a tag that is not a version, such as a local build, is not compared)";

    it("is refused, with both ways to make them agree", () => {
        expect(found({ image: "ghcr.io/siderolabs/talos:v1.9.0" })).toEqual([{
            text: `talos-docker:image = "ghcr.io/siderolabs/talos:v1.9.0": is Talos v1.9.0 but talosVersion is v1.8.3: ${why}`,
            fix: "pulumi config set talos-docker:talosVersion v1.9.0 to run that release, or pulumi config rm talos-docker:image to run v1.8.3",
        }]);
    });

    it("from a mirror, the fix keeps the mirror", () => {
        expect(found({ image: "registry.local:5000/siderolabs/talos:v1.8.2" })[0].fix).toBe(
            "pulumi config set talos-docker:talosVersion v1.8.2 to run that release, or " +
                "pulumi config set talos-docker:image registry.local:5000/siderolabs/talos:v1.8.3 to run v1.8.3",
        );
    });

    it("of a release this program does not support, only the image can change", () => {
        expect(found({ image: "ghcr.io/siderolabs/talos:v1.15.0" })[0].fix).toBe("pulumi config rm talos-docker:image to run v1.8.3");
    });

    it.each([
        "ghcr.io/siderolabs/talos:v1.8.3",
        "ghcr.io/siderolabs/talos:v1.8.3@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "ghcr.io/siderolabs/talos@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "ghcr.io/siderolabs/talos:v1.8.3-custom.1",
        "localhost:5000/talos",
        "talos:dev",
    ])("accepts %s with talosVersion v1.8.3", (image) => {
        expect(parseClusterSpec({ image }).image).toBe(image);
    });

    it("is not compared when talosVersion is itself wrong", () => {
        expect(problems({ talosVersion: "v2.0.0", image: "ghcr.io/siderolabs/talos:v1.9.0" }).map((p) => p.split(" = ")[0])).toEqual(["talos-docker:talosVersion"]);
    });
});

describe("a Talos patch release that does not exist", () => {
    it("is the only problem: the image is not compared with it, the patches are checked as its minor's latest", () => {
        const list = problems({ talosVersion: "v1.8.99", image: "ghcr.io/siderolabs/talos:v1.8.4", configPatches: { worker: [{ machine: { bogus: 1 } }] } });
        expect(list.map((p) => p.split(" = ")[0])).toEqual(["talos-docker:talosVersion", "talos-docker:configPatches.worker[0]"]);
        expect(list[1]).toContain("does not apply to the worker config of Talos v1.8.4: ");
    });

    it("every supported minor's releases from .0 to its latest pass", () => {
        for (const version of ["v1.8.0", "v1.8.4", "v1.9.6", "v1.12.11", "v1.13.9", "v1.13.0-beta.0"]) {
            expect(problems({ talosVersion: version, kubernetesVersion: "1.31.1" })).toEqual([]);
        }
    });
});
