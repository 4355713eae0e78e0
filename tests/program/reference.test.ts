// The stack `dev` (Pulumi.dev.yaml) under Pulumi's mocks: every resource it declares, its inputs,
// and the secrecy of everything that holds key material.
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { stackFile } from "../support/stack";
import type { SecretsBundle } from "../../talos/secretsbundle";
import { HEX_ALPHABET, TOKEN_ALPHABET, TOKEN_PATTERN, decodeStdBase64, decodeUrlBase64 } from "../../talos/tokens";
import { fakePem, loadProgram, mockPasswordResult, mockPrivateKeyPem, passwordAlphabet, Program, promiseOf, Recorded, urnRef } from "./harness";

let program: Program;

beforeAll(async () => {
    program = await loadProgram(stackFile("Pulumi.dev.yaml"));
    if (program.error) throw program.error;
});

const CONTAINER = "docker:index/container:Container";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const VOLUME = "docker:index/volume:Volume";
const b64 = (text: string) => Buffer.from(text).toString("base64");
const envMap = (r: Recorded) => Object.fromEntries((r.inputs.envs as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
const userData = (r: Recorded) => parseAllDocuments(Buffer.from(envMap(r).USERDATA, "base64").toString("utf8")).map((d) => d.toJS());

describe("the component tree", () => {
    it("declares exactly the expected resources, by type", () => {
        const counts: Record<string, number> = {};
        for (const r of program.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
        expect(counts).toEqual({
            "talos-docker:index:TalosCluster": 1,
            "talos-docker:index:MachineSecrets": 1,
            "talos-docker:index:TalosNetwork": 1,
            "talos-docker:index:TalosNode": 3,
            "talos-docker:index:StorageProvisioner": 1,
            "docker:index/network:Network": 1,
            [VOLUME]: 18,
            [CONTAINER]: 3,
            "tls:index/privateKey:PrivateKey": 7,
            "tls:index/selfSignedCert:SelfSignedCert": 4,
            "tls:index/certRequest:CertRequest": 2,
            "tls:index/locallySignedCert:LocallySignedCert": 2,
            [PASSWORD]: 5,
            // bootstrap, a config resource per node, the manifests step, readiness
            "command:local:Command": 6,
            "pulumi:pulumi:StackReference": 1,
            "pulumi:providers:kubernetes": 1,
            "kubernetes:core/v1:Namespace": 1,
            "kubernetes:core/v1:ServiceAccount": 1,
            "kubernetes:core/v1:ConfigMap": 1,
            "kubernetes:rbac.authorization.k8s.io/v1:Role": 1,
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": 1,
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 1,
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": 1,
            "kubernetes:apps/v1:Deployment": 1,
            "kubernetes:storage.k8s.io/v1:StorageClass": 1,
        });
    });

    // A plain `pulumi destroy` then leaves nothing: the program makes no Docker object it does not
    // declare (the count above), and each carries the cluster's label, by which `status` and the
    // Docker tests' clean-up check look for leftovers.
    it("labels every Docker object it declares with the cluster's name", () => {
        const docker = program.resources.filter((r) => r.type.startsWith("docker:"));
        expect(docker).toHaveLength(22);
        for (const r of docker) expect(r.inputs.labels, r.name).toContainEqual({ label: "talos.cluster.name", value: "talos" });
    });

    it("parents every child to its component, with names derived from the component's", () => {
        const parentOf = (r: Recorded) => urnRef(r.parentUrn);
        expect(parentOf(program.one("talos-docker:index:MachineSecrets", "talos-secrets"))).toBe("talos-docker:index:TalosCluster::talos");
        expect(parentOf(program.one("talos-docker:index:TalosNetwork", "talos-network"))).toBe("talos-docker:index:TalosCluster::talos");
        for (const node of ["talos-cp-01", "talos-worker-01", "talos-worker-02"]) {
            expect(parentOf(program.one("talos-docker:index:TalosNode", node))).toBe("talos-docker:index:TalosCluster::talos");
            expect(parentOf(program.one(CONTAINER, `${node}-container`))).toBe(`talos-docker:index:TalosNode::${node}`);
        }
        expect(parentOf(program.one("docker:index/network:Network", "talos-network-bridge"))).toBe("talos-docker:index:TalosNetwork::talos-network");
        for (const r of program.resources.filter((r) => r.type.startsWith("tls:") || r.type.startsWith("random:"))) {
            expect(parentOf(r), r.name).toBe("talos-docker:index:MachineSecrets::talos-secrets");
            expect(r.name.startsWith("talos-secrets-"), r.name).toBe(true);
        }
        for (const r of program.byType(VOLUME)) {
            const node = r.name.replace(/-(var|system-state|etc-cni|etc-kubernetes|usr-libexec-kubernetes|opt)$/, "");
            expect(parentOf(r)).toBe(`talos-docker:index:TalosNode::${node}`);
        }
    });
});

describe("TalosNetwork", () => {
    it("is the bridge talos-net with the subnet, gateway, MTU and labels", () => {
        expect(program.one("docker:index/network:Network", "talos-network-bridge").inputs).toMatchObject({
            name: "talos-net",
            driver: "bridge",
            ipamConfigs: [{ subnet: "172.30.0.0/24", gateway: "172.30.0.1" }],
            options: { "com.docker.network.driver.mtu": "1500" },
            labels: [{ label: "talos.cluster.name", value: "talos" }, { label: "talos.owned", value: "true" }],
        });
    });
});

describe("TalosNode", () => {
    it("the control plane container, input by input", () => {
        const cp = program.one(CONTAINER, "talos-cp-01-container");
        expect(cp.inputs).toMatchObject({
            name: "talos-cp-01",
            hostname: "talos-cp-01",
            image: "ghcr.io/siderolabs/talos:v1.8.3",
            privileged: true,
            securityOpts: ["seccomp=unconfined", "label=disable"],
            readOnly: true,
            tmpfs: { "/run": "rw", "/system": "rw", "/tmp": "rw" },
            sysctls: { "net.ipv6.conf.all.disable_ipv6": "0" },
            cpus: "2.0",
            memory: 4096,
            memorySwap: -1,
            mustRun: true,
            restart: "unless-stopped",
            destroyGraceSeconds: 30,
            networksAdvanced: [{ name: "talos-net", ipv4Address: "172.30.0.2" }],
            ports: [
                { internal: 6443, external: 6444, ip: "127.0.0.1", protocol: "tcp" },
                { internal: 50000, external: 50000, ip: "127.0.0.1", protocol: "tcp" },
            ],
            labels: [
                { label: "talos.cluster.name", value: "talos" },
                { label: "talos.owned", value: "true" },
                { label: "talos.type", value: "controlplane" },
            ],
            volumes: [
                { volumeName: "talos-cp-01-var", containerPath: "/var" },
                { volumeName: "talos-cp-01-system-state", containerPath: "/system/state" },
                { volumeName: "talos-cp-01-etc-cni", containerPath: "/etc/cni" },
                { volumeName: "talos-cp-01-etc-kubernetes", containerPath: "/etc/kubernetes" },
                { volumeName: "talos-cp-01-usr-libexec-kubernetes", containerPath: "/usr/libexec/kubernetes" },
                { volumeName: "talos-cp-01-opt", containerPath: "/opt" },
            ],
        });
        // Nothing the provider reads back differently: no platform, no shm size, no capabilities.
        for (const unset of ["platform", "shmSize", "capabilities", "networkMode", "logDriver", "entrypoints", "command"]) {
            expect(cp.inputs[unset], unset).toBeUndefined();
        }
        const env = envMap(cp);
        expect(Object.keys(env)).toEqual(["PLATFORM", "TALOSSKU", "USERDATA"]);
        expect(env.PLATFORM).toBe("container");
        expect(env.TALOSSKU).toBe("2CPU-4096RAM");
    });

    it("workers: the first publishes http/https, the second nothing", () => {
        const w1 = program.one(CONTAINER, "talos-worker-01-container");
        const w2 = program.one(CONTAINER, "talos-worker-02-container");
        expect(w1.inputs.networksAdvanced).toEqual([{ name: "talos-net", ipv4Address: "172.30.0.3" }]);
        expect(w2.inputs.networksAdvanced).toEqual([{ name: "talos-net", ipv4Address: "172.30.0.4" }]);
        expect(w1.inputs.ports).toEqual([
            { internal: 80, external: 80, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 443, external: 443, ip: "127.0.0.1", protocol: "tcp" },
        ]);
        expect(w2.inputs.ports ?? []).toEqual([]);
        expect((w1.inputs.labels as { label: string; value: string }[]).find((l) => l.label === "talos.type")?.value).toBe("worker");
    });

    it("volumes carry the cluster labels and the node's name", () => {
        const names = program.byType(VOLUME).map((v) => v.inputs.name).sort();
        expect(names).toHaveLength(18);
        expect(names).toContain("talos-worker-02-usr-libexec-kubernetes");
        for (const v of program.byType(VOLUME)) {
            expect(v.inputs.labels).toContainEqual({ label: "talos.owned", value: "true" });
        }
    });

    it("the whole environment is one secret, and so is the provider's envs output; a change to it is ignored", () => {
        for (const c of program.byType(CONTAINER)) {
            // The engine marks an output secret only when the input of its name was wholly secret.
            expect(c.secretPaths, c.name).toEqual(["envs"]);
            expect(c.plainInputs.envs, c.name).toBe("[secret]");
            expect(c.additionalSecretOutputs, c.name).toContain("envs");
            // USERDATA is only the first boot's config: changes go through the config resources.
            expect(c.ignoreChanges, c.name).toEqual(["envs"]);
        }
    });

    it("a volume's labels never replace it", () => {
        for (const v of program.byType(VOLUME)) expect(v.ignoreChanges, v.name).toEqual(["labels"]);
    });

    it("USERDATA is the machine config of the node's role", () => {
        const cp = userData(program.one(CONTAINER, "talos-cp-01-container"));
        const worker = userData(program.one(CONTAINER, "talos-worker-01-container"));
        expect(cp[0].machine.type).toBe("controlplane");
        expect(worker[0].machine.type).toBe("worker");
        expect(cp[0].cluster.controlPlane.endpoint).toBe("https://172.30.0.2:6443");
        expect(cp[0].cluster.clusterName).toBe("talos");
        // Every worker boots from the same config.
        expect(envMap(program.one(CONTAINER, "talos-worker-02-container")).USERDATA).toBe(envMap(program.one(CONTAINER, "talos-worker-01-container")).USERDATA);
    });

    it("the machine configs are made of MachineSecrets' keys", () => {
        const cp = userData(program.one(CONTAINER, "talos-cp-01-container"))[0];
        expect(cp.cluster.ca.crt).toBe(b64(fakePem("CERTIFICATE", "talos-secrets-k8s-ca")));
        expect(cp.cluster.etcd.ca.crt).toBe(b64(fakePem("CERTIFICATE", "talos-secrets-etcd-ca")));
        expect(cp.machine.ca.crt).toBe(b64(fakePem("CERTIFICATE", "talos-secrets-os-ca")));
        // Talos reads only its own label for Ed25519 keys.
        expect(Buffer.from(cp.machine.ca.key, "base64").toString().trim()).toBe(
            mockPrivateKeyPem("talos-secrets-os-ca-key", "ED25519").replace(/PRIVATE KEY/g, "ED25519 PRIVATE KEY").trim());
        expect(cp.cluster.serviceAccount.key).toBe(b64(mockPrivateKeyPem("talos-secrets-k8s-service-account", "RSA")));
        expect(cp.cluster.token).toMatch(/^[0-9a-z]{6}\.[0-9a-z]{16}$/);
        expect(cp.machine.token).toMatch(/^[0-9a-z]{6}\.[0-9a-z]{16}$/);
        expect(cp.machine.token).not.toBe(cp.cluster.token);
        expect(cp.cluster.id).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    });

    it("the kubelet mounts the storage path for local-path-provisioner", () => {
        const worker = userData(program.one(CONTAINER, "talos-worker-01-container"))[0];
        expect(worker.machine.kubelet.extraMounts).toContainEqual({
            destination: "/var/local-path-provisioner", type: "bind", source: "/var/local-path-provisioner", options: ["bind", "rshared", "rw"],
        });
    });
});

describe("MachineSecrets", () => {
    const key = (name: string) => program.one("tls:index/privateKey:PrivateKey", name).inputs;
    const ca = (name: string) => program.one("tls:index/selfSignedCert:SelfSignedCert", name).inputs;
    const caUses = ["digital_signature", "cert_signing", "server_auth", "client_auth"];

    it("makes the four CAs with Talos' algorithms, subjects and ten-year lifetimes", () => {
        expect(key("talos-secrets-os-ca-key")).toEqual({ algorithm: "ED25519" });
        for (const n of ["etcd", "k8s", "k8s-aggregator"]) expect(key(`talos-secrets-${n}-ca-key`)).toEqual({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        expect(key("talos-secrets-k8s-service-account")).toEqual({ algorithm: "RSA", rsaBits: 4096 });
        const subjects: [string, unknown][] = [["os", { organization: "talos" }], ["etcd", { organization: "etcd" }], ["k8s", { organization: "kubernetes" }], ["k8s-aggregator", { commonName: "front-proxy" }]];
        for (const [n, subject] of subjects) {
            const c = ca(`talos-secrets-${n}-ca`);
            expect(c.subject).toEqual(subject);
            expect(c.isCaCertificate).toBe(true);
            expect(c.validityPeriodHours).toBe(87600);
            expect([...(c.allowedUses as string[])].sort()).toEqual([...caUses].sort());
            expect(c.privateKeyPem).toBe(mockPrivateKeyPem(`talos-secrets-${n}-ca-key`, n === "os" ? "ED25519" : "ECDSA"));
        }
    });

    it("makes the talosconfig admin certificate: Ed25519, O=os:admin, clientAuth only, one year, by the OS CA", () => {
        expect(key("talos-secrets-talos-admin-key")).toEqual({ algorithm: "ED25519" });
        expect(program.one("tls:index/certRequest:CertRequest", "talos-secrets-talos-admin-csr").inputs.subject).toEqual({ organization: "os:admin" });
        const cert = program.one("tls:index/locallySignedCert:LocallySignedCert", "talos-secrets-talos-admin-cert").inputs;
        expect(cert).toMatchObject({ validityPeriodHours: 8760, caCertPem: fakePem("CERTIFICATE", "talos-secrets-os-ca") });
        expect(cert.allowedUses).toEqual(["digital_signature", "client_auth"]);
        // @pulumi/tls signs with its own PEM label, not Talos' relabelled one.
        expect(cert.caPrivateKeyPem).toBe(mockPrivateKeyPem("talos-secrets-os-ca-key", "ED25519"));
        expect(cert.caPrivateKeyPem).toContain("-----BEGIN PRIVATE KEY-----");
    });

    it("makes the kubeconfig admin certificate: P-256, CN=admin O=system:masters, by the Kubernetes CA", () => {
        expect(key("talos-secrets-kube-admin-key")).toEqual({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        expect(program.one("tls:index/certRequest:CertRequest", "talos-secrets-kube-admin-csr").inputs.subject).toEqual({ commonName: "admin", organization: "system:masters" });
        const cert = program.one("tls:index/locallySignedCert:LocallySignedCert", "talos-secrets-kube-admin-cert").inputs;
        expect(cert).toMatchObject({ validityPeriodHours: 8760, caCertPem: fakePem("CERTIFICATE", "talos-secrets-k8s-ca") });
        expect([...(cert.allowedUses as string[])].sort()).toEqual(["client_auth", "digital_signature", "key_encipherment"]);
    });

    it("draws the tokens as 22 characters of [0-9a-z] and the 32-byte values as 64 hex digits", () => {
        const tokenInputs = { length: 22, upper: false, lower: true, numeric: true, special: false, minUpper: 0, minLower: 0, minNumeric: 0, minSpecial: 0 };
        const hexInputs = { length: 64, upper: false, lower: false, numeric: false, special: true, overrideSpecial: "0123456789abcdef", minUpper: 0, minLower: 0, minNumeric: 0, minSpecial: 0 };
        for (const n of ["bootstrap-token", "trustd-token"]) expect(program.one(PASSWORD, `talos-secrets-${n}`).inputs).toEqual(tokenInputs);
        for (const n of ["secretbox", "cluster-id", "cluster-secret"]) expect(program.one(PASSWORD, `talos-secrets-${n}`).inputs).toEqual(hexInputs);
    });

    it("the CA keys passed to signing are secret", () => {
        for (const n of ["talos-admin-cert", "kube-admin-cert"]) {
            expect(program.one("tls:index/locallySignedCert:LocallySignedCert", `talos-secrets-${n}`).secretPaths).toContain("caPrivateKeyPem");
        }
    });

    it("the keys passed to self-signing and to the certificate requests are secret", () => {
        for (const r of [...program.byType("tls:index/selfSignedCert:SelfSignedCert"), ...program.byType("tls:index/certRequest:CertRequest")]) {
            expect(r.secretPaths, r.name).toContain("privateKeyPem");
        }
    });
});

// What the state file keeps: IDs are never encrypted, and an output is encrypted only when the
// provider's schema or the resource's additionalSecretOutputs says so.
describe("no secret in the state in clear", () => {
    /** @pulumi/random resources whose ID is the value, or whose value is a plain output. */
    const PLAIN_RANDOM = [
        "random:index/randomString:RandomString", "random:index/randomBytes:RandomBytes", "random:index/randomId:RandomId",
        "random:index/randomUuid:RandomUuid", "random:index/randomUuid4:RandomUuid4", "random:index/randomUuid7:RandomUuid7",
        "random:index/randomInteger:RandomInteger", "random:index/randomPet:RandomPet", "random:index/randomShuffle:RandomShuffle",
    ];
    const bundle = () => program.one("talos-docker:index:MachineSecrets", "talos-secrets").outputs?.bundle as SecretsBundle;
    /** The bytes a RandomPassword's hex digits stand for. */
    const hexOf = (name: string) => Buffer.from(mockPasswordResult(program.one(PASSWORD, name)), "hex");

    it("declares no random resource whose ID or plain output is the value", () => {
        for (const type of PLAIN_RANDOM) expect(program.byType(type), type).toEqual([]);
    });

    it("declares every random value as a RandomPassword (ID \"none\"), with result and bcryptHash secret", () => {
        const randoms = program.resources.filter((r) => r.type.startsWith("random:"));
        expect(randoms.map((r) => r.type)).toEqual(randoms.map(() => PASSWORD));
        expect(randoms.map((r) => r.name).sort()).toEqual(["bootstrap-token", "cluster-id", "cluster-secret", "secretbox", "trustd-token"].map((n) => `talos-secrets-${n}`));
        for (const r of randoms) expect(r.additionalSecretOutputs, r.name).toEqual(expect.arrayContaining(["result", "bcryptHash"]));
    });

    // The provider draws each character uniformly from one alphabet made of the enabled sets, after
    // the `min*` characters: no minimum, and an alphabet without repeats, leave no bias.
    it("draws from alphabets of distinct characters, with no forced minimum: the tokens' [0-9a-z], the bytes' 16 hex digits", () => {
        const sorted = (chars: string) => [...chars].sort().join("");
        for (const r of program.byType(PASSWORD)) {
            const alphabet = passwordAlphabet(r.inputs);
            expect(new Set(alphabet).size, r.name).toBe(alphabet.length);
            expect(sorted(alphabet), r.name).toBe(r.name.endsWith("-token") ? sorted(TOKEN_ALPHABET) : HEX_ALPHABET);
            for (const min of ["minUpper", "minLower", "minNumeric", "minSpecial"]) expect(r.inputs[min], `${r.name} ${min}`).toBe(0);
        }
    });

    it("declares the private keys' outputs secret, and the key echoed by every certificate resource", () => {
        for (const r of program.byType("tls:index/privateKey:PrivateKey")) {
            expect(r.additionalSecretOutputs, r.name).toEqual(expect.arrayContaining(["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]));
        }
        for (const r of [...program.byType("tls:index/selfSignedCert:SelfSignedCert"), ...program.byType("tls:index/certRequest:CertRequest")]) {
            expect(r.additionalSecretOutputs, r.name).toContain("privateKeyPem");
        }
        for (const r of program.byType("tls:index/locallySignedCert:LocallySignedCert")) expect(r.additionalSecretOutputs, r.name).toContain("caPrivateKeyPem");
    });

    it("MachineSecrets registers the bundle and the admin credentials as secrets", () => {
        const secrets = program.one("talos-docker:index:MachineSecrets", "talos-secrets");
        expect(Object.keys(secrets.outputs ?? {}).sort()).toEqual(["admin", "bundle"]);
        expect(secrets.outputSecretPaths).toEqual(expect.arrayContaining(["bundle", "admin"]));
    });

    it("the bundle's tokens are the passwords' characters as [0-9a-z]{6}.[0-9a-z]{16}, two different ones", () => {
        const { secrets, trustdInfo } = bundle();
        expect(secrets.bootstrapToken).toMatch(TOKEN_PATTERN);
        expect(trustdInfo.token).toMatch(TOKEN_PATTERN);
        expect(secrets.bootstrapToken.replace(".", "")).toBe(mockPasswordResult(program.one(PASSWORD, "talos-secrets-bootstrap-token")));
        expect(trustdInfo.token.replace(".", "")).toBe(mockPasswordResult(program.one(PASSWORD, "talos-secrets-trustd-token")));
        expect(secrets.bootstrapToken).not.toBe(trustdInfo.token);
    });

    it("the bundle's 32-byte values are the passwords' hex digits, in Talos' encodings", () => {
        const { cluster, secrets } = bundle();
        expect(cluster.id).toMatch(/^[A-Za-z0-9_-]{43}=$/);
        expect(decodeUrlBase64(cluster.id)).toEqual(hexOf("talos-secrets-cluster-id"));
        expect(decodeStdBase64(cluster.secret)).toEqual(hexOf("talos-secrets-cluster-secret"));
        expect(decodeStdBase64(secrets.secretboxEncryptionSecret)).toEqual(hexOf("talos-secrets-secretbox"));
        for (const value of [cluster.id, cluster.secret, secrets.secretboxEncryptionSecret]) expect(value).toHaveLength(44);
        expect(hexOf("talos-secrets-cluster-id")).toHaveLength(32);
        expect(new Set([cluster.id, cluster.secret, secrets.secretboxEncryptionSecret].map((v) => Buffer.from(v, "base64").toString("hex"))).size).toBe(3);
    });
});

describe("bootstrap and readiness", () => {
    const COMMAND = "command:local:Command";
    /** Custom resources a resource waits for (a component in dependsOn stands for its children). */
    const waitsFor = (r: Recorded) => r.dependencies.map(urnRef);

    it("bootstrap runs our CLI with the talosconfig as a secret in its environment, never on its command line", () => {
        const bootstrap = program.one(COMMAND, "talos-bootstrap");
        expect(bootstrap.inputs.create).toBe("node --import tsx cli/main.ts bootstrap --timeout 10m --containers talos-cp-01=172.30.0.2");
        expect(bootstrap.secretPaths.some((p) => p.startsWith("environment"))).toBe(true);
        expect((bootstrap.inputs.environment as Record<string, string>).TALOS_DOCKER_TALOSCONFIG).toContain("contexts:");
        expect(bootstrap.inputs.logging).toBe("stdoutAndStderr");
        expect(bootstrap.inputs.create).not.toMatch(/BEGIN|crt|key/);
    });

    it("bootstrap waits for the first control plane only, so workers are not held back", () => {
        const deps = waitsFor(program.one(COMMAND, "talos-bootstrap"));
        expect(deps).toContain(`${CONTAINER}::talos-cp-01-container`);
        expect(deps.filter((d) => d.includes("worker"))).toEqual([]);
        expect(program.one(COMMAND, "talos-bootstrap").inputs.triggers).toEqual(["talos-cp-01-container-id"]);
        for (const w of ["talos-worker-01", "talos-worker-02"]) {
            expect(waitsFor(program.one(CONTAINER, `${w}-container`)).filter((d) => d.startsWith(COMMAND))).toEqual([]);
        }
    });

    it("readiness waits for the bootstrap and every node, with the kubeconfig and talosconfig secret", () => {
        const ready = program.one(COMMAND, "talos-ready");
        expect(ready.inputs.create).toBe("node --import tsx cli/main.ts wait --nodes 3 --timeout 15m --control-planes talos-cp-01=172.30.0.2 " +
            "--workers talos-worker-01=172.30.0.3,talos-worker-02=172.30.0.4 --cluster talos --cni flannel --kube-proxy on --coredns on");
        expect(ready.secretPaths.filter((p) => p.startsWith("environment")).sort()).toEqual([
            "environment.TALOS_DOCKER_KUBECONFIG", "environment.TALOS_DOCKER_TALOSCONFIG",
        ]);
        expect((ready.inputs.environment as Record<string, string>).TALOS_DOCKER_KUBECONFIG).toContain("admin@talos");
        expect((ready.inputs.environment as Record<string, string>).TALOS_DOCKER_TALOSCONFIG).toContain("context: talos");
        const deps = waitsFor(ready);
        expect(deps).toContain(`${COMMAND}::talos-bootstrap`);
        for (const node of ["talos-cp-01", "talos-worker-01", "talos-worker-02"]) {
            expect(deps).toContain(`${CONTAINER}::${node}-container`);
            expect(deps).toContain(`${COMMAND}::${node}-config`);
        }
        expect(deps).toContain(`${COMMAND}::talos-manifests`);
        // A replaced node, and a config change of either role (the digest of its view), run it again.
        const views = ["talos-cp-01-config", "talos-worker-01-config"].map((n) => program.one(COMMAND, n).inputs.stdin as string);
        expect(ready.inputs.triggers).toEqual([
            "talos-cp-01-container-id", "talos-worker-01-container-id", "talos-worker-02-container-id",
            ...views.map((v) => createHash("sha256").update(v).digest("hex")),
        ]);
        expect(ready.secretPaths.filter((p) => p.startsWith("triggers"))).toEqual([]);
    });
});

describe("Kubernetes provider and storage", () => {
    it("the provider gets the kubeconfig as a secret and waits for readiness", () => {
        const provider = program.one("pulumi:providers:kubernetes", "talos-k8s");
        expect(provider.secretPaths).toContain("kubeconfig");
        // Not set: a refresh while the cluster is down would drop every Kubernetes object from the
        // state (destroy sets PULUMI_K8S_DELETE_UNREACHABLE for itself).
        expect(provider.inputs).not.toHaveProperty("deleteUnreachable");
        expect(provider.dependencies.map(urnRef)).toContain("command:local:Command::talos-ready");
    });

    it("StorageProvisioner uses that provider and renders the configured StorageClass", () => {
        expect(program.one("talos-docker:index:StorageProvisioner", "talos-storage").dependencies.map(urnRef)).toContain("command:local:Command::talos-ready");
        // The names the ConfigGroup `talos-storage-manifests` gave its children, kept for the stacks it made.
        const kubernetes = program.resources.filter((r) => r.type.startsWith("kubernetes:"));
        expect(kubernetes).toHaveLength(9);
        for (const r of kubernetes) {
            expect(r.name.startsWith("talos-storage-manifests:"), r.name).toBe(true);
            expect(urnRef(r.parentUrn), r.name).toBe("talos-docker:index:StorageProvisioner::talos-storage");
            expect(r.provider, r.name).toMatch(/pulumi:providers:kubernetes::talos-k8s::/);
        }
        const sc = program.one("kubernetes:storage.k8s.io/v1:StorageClass", "talos-storage-manifests:local-path").inputs as {
            metadata: { name: string; annotations?: Record<string, string> };
            reclaimPolicy?: string;
        };
        expect(sc.metadata.name).toBe("local-path");
        expect(sc.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"]).toBe("true");
        expect(sc.reclaimPolicy).toBe("Delete");
    });
});

describe("stack outputs", () => {
    const value = <T>(name: string) => promiseOf(program.exports[name] as pulumi.Output<T>);

    it.each(["kubeconfig", "talosconfig", "talosSecrets", "machineConfigs"])("%s is a secret", async (name) => {
        expect(await pulumi.isSecret(program.exports[name])).toBe(true);
    });

    it.each(["nodes", "endpoints", "storageClass"])("%s is plain", async (name) => {
        expect(await pulumi.isSecret(program.exports[name])).toBe(false);
    });

    it("kubeconfig: the host-mapped API, context admin@talos, the admin certificate", async () => {
        const kc = parseYaml(await value<string>("kubeconfig"));
        expect(kc["current-context"]).toBe("admin@talos");
        expect(kc.clusters[0].cluster.server).toBe("https://127.0.0.1:6444");
        expect(kc.clusters[0].cluster["certificate-authority-data"]).toBe(b64(fakePem("CERTIFICATE", "talos-secrets-k8s-ca")));
        expect(kc.users[0].user["client-certificate-data"]).toBe(b64(fakePem("CERTIFICATE", "talos-secrets-kube-admin-cert")));
        expect(kc.users[0].user["client-key-data"]).toBe(b64(mockPrivateKeyPem("talos-secrets-kube-admin-key", "ECDSA")));
    });

    it("talosconfig: endpoint 127.0.0.1:50000, node 172.30.0.2, the os:admin certificate", async () => {
        const tc = parseYaml(await value<string>("talosconfig"));
        expect(tc.context).toBe("talos");
        expect(tc.contexts.talos.endpoints).toEqual(["127.0.0.1:50000"]);
        expect(tc.contexts.talos.nodes).toEqual(["172.30.0.2"]);
        expect(tc.contexts.talos.ca).toBe(b64(fakePem("CERTIFICATE", "talos-secrets-os-ca")));
        expect(tc.contexts.talos.crt).toBe(b64(fakePem("CERTIFICATE", "talos-secrets-talos-admin-cert")));
        expect(Buffer.from(tc.contexts.talos.key, "base64").toString()).toContain("BEGIN ED25519 PRIVATE KEY");
    });

    it("talosSecrets is the talosctl secrets.yaml of the same CAs", async () => {
        const s = parseYaml(await value<string>("talosSecrets"));
        expect(Object.keys(s)).toEqual(["cluster", "secrets", "trustdinfo", "certs"]);
        expect(s.certs.k8s.crt).toBe(b64(fakePem("CERTIFICATE", "talos-secrets-k8s-ca")));
        // The mocks' certificates are not real X.509, so parseSecretsYaml would refuse them: compare the rest.
        const bundle = program.one("talos-docker:index:MachineSecrets", "talos-secrets").outputs?.bundle as SecretsBundle;
        expect(s.cluster).toEqual(bundle.cluster);
        expect(s.secrets).toEqual({ bootstraptoken: bundle.secrets.bootstrapToken, secretboxencryptionsecret: bundle.secrets.secretboxEncryptionSecret });
        expect(s.trustdinfo).toEqual({ token: bundle.trustdInfo.token });
    });

    it("machineConfigs maps each node to its role's config", async () => {
        const configs = await value<Record<string, string>>("machineConfigs");
        expect(Object.keys(configs)).toEqual(["talos-cp-01", "talos-worker-01", "talos-worker-02"]);
        expect(parseAllDocuments(configs["talos-cp-01"])[0].toJS().machine.type).toBe("controlplane");
        expect(configs["talos-worker-01"]).toBe(configs["talos-worker-02"]);
        expect(b64(configs["talos-cp-01"])).toBe(envMap(program.one(CONTAINER, "talos-cp-01-container")).USERDATA);
    });

    it("nodes, endpoints and storageClass", async () => {
        expect(await value("nodes")).toEqual([
            { name: "talos-cp-01", role: "controlplane", ip: "172.30.0.2", container: "talos-cp-01" },
            { name: "talos-worker-01", role: "worker", ip: "172.30.0.3", container: "talos-worker-01" },
            { name: "talos-worker-02", role: "worker", ip: "172.30.0.4", container: "talos-worker-02" },
        ]);
        expect(await value("endpoints")).toEqual({ kubernetes: "https://127.0.0.1:6444", talos: "127.0.0.1:50000" });
        expect(await value("storageClass")).toBe("local-path");
    });
});
