// StorageProvisioner under Pulumi mocks: one typed Kubernetes resource per object of the manifest,
// with which inputs, under which parent, provider and dependencies, and the alias that keeps a
// stack made with the former yaml/v2 ConfigGroup on the same resources. What the objects hold is
// checked in tests/unit/storagemanifest.test.ts; here, that the inputs are those objects.

import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";

import type * as StorageModule from "../../components/storage";
import { renderStorageObjects, STORAGE_CLASS_NAME } from "../../model/storagemanifest";
import { STORAGE_PATH_RULE } from "../../talos/config/storage";

const PROJECT = "talos-docker";
const STACK = "dev";
const SPEC = { path: "/var/local-path-provisioner", isDefault: true, reclaimPolicy: "Delete" } as const;
const RETAIN = { path: "/var/mnt/volumes", isDefault: false, reclaimPolicy: "Retain" } as const;
const COMPONENT = "talos-docker:index:StorageProvisioner";
const CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup";
const NS = "local-path-storage";

// Each object's kind, the resource type it must have, and the name after the component's prefix:
// the type tokens yaml/v2 registered (pulumi/pulumi-kubernetes sdk/go/kubernetes/yaml/v2/kinds.go)
// and its child naming `<prefix>:<namespace>/<name>` (provider/pkg/provider/yaml/v2/yaml.go).
const OBJECTS = [
    { kind: "Namespace", type: "kubernetes:core/v1:Namespace", name: NS },
    { kind: "ServiceAccount", type: "kubernetes:core/v1:ServiceAccount", name: `${NS}/local-path-provisioner-service-account` },
    { kind: "Role", type: "kubernetes:rbac.authorization.k8s.io/v1:Role", name: `${NS}/local-path-provisioner-role` },
    { kind: "ClusterRole", type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", name: "local-path-provisioner-role" },
    { kind: "RoleBinding", type: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", name: `${NS}/local-path-provisioner-bind` },
    {
        kind: "ClusterRoleBinding",
        type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        name: "local-path-provisioner-bind",
    },
    { kind: "Deployment", type: "kubernetes:apps/v1:Deployment", name: `${NS}/local-path-provisioner` },
    { kind: "StorageClass", type: "kubernetes:storage.k8s.io/v1:StorageClass", name: "local-path" },
    { kind: "ConfigMap", type: "kubernetes:core/v1:ConfigMap", name: `${NS}/local-path-config` },
] as const;
type Kind = (typeof OBJECTS)[number]["kind"];

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    provider?: string;
}

/** What the mocks are not told, read off the register request. */
interface Request {
    parent: string;
    dependencies: string[];
    aliasUrns: string[];
}

interface AliasMessage {
    getUrn(): string;
}
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getDependenciesList(): string[];
    getAliasesList(): AliasMessage[];
}
interface MonitorWithRegistry {
    registerResource(req: RegisterRequest, cb: unknown): unknown;
    getRegisteredResources(): Map<string, { urn: string }>;
}

const registered: Registered[] = [];
const requests = new Map<string, Request>();

// A stand-in for the cluster's readiness resource: its creation finishes only when the test says.
const GATE = "test:index:Ready";
class Ready extends pulumi.CustomResource {
    constructor(name: string) {
        super(GATE, name, {});
    }
}
const isGated = (r: { type: string; name: string }) => r.type === GATE || r.name.startsWith("gated");
let openGate: () => void = () => undefined;
const gateOpened = new Promise<void>((resolve) => (openGate = resolve));

function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

function only(type: string, name: string): Registered {
    const matches = registered.filter((r) => r.type === type && r.name === name);
    expect(matches, `${type} ${name}`).toHaveLength(1);
    return matches[0];
}

function request(type: string, name: string): Request {
    const found = requests.get(`${type}::${name}`);
    expect(found, `${type} ${name}`).toBeDefined();
    return found!;
}

const objectOf = (kind: Kind) => OBJECTS.find((o) => o.kind === kind)!;
const childName = (component: string, kind: Kind) => `${component}-manifests:${objectOf(kind).name}`;
const componentUrn = (component: string) => `urn:pulumi:${STACK}::${PROJECT}::${COMPONENT}::${component}`;
const childUrn = (component: string, kind: Kind) =>
    `urn:pulumi:${STACK}::${PROJECT}::${COMPONENT}$${objectOf(kind).type}::${childName(component, kind)}`;
// Where the ConfigGroup kept the object: the same type and name, one parent further down.
const oldChildUrn = (component: string, kind: Kind) =>
    `urn:pulumi:${STACK}::${PROJECT}::${COMPONENT}$${CONFIG_GROUP}$${objectOf(kind).type}::${childName(component, kind)}`;
const child = (component: string, kind: Kind) => only(objectOf(kind).type, childName(component, kind));

let storage: StorageModule.StorageProvisioner;
let retained: StorageModule.StorageProvisioner;
let provider: pulumi.ProviderResource;
let Storage: typeof StorageModule;

beforeAll(async () => {
    await pulumi.runtime.setMocks(
        {
            newResource: async (args) => {
                if (args.type === GATE) await gateOpened;
                registered.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
                return { id: `${args.name}_id`, state: args.inputs };
            },
            call: (args) => args.inputs,
        },
        PROJECT,
        STACK,
    );
    const monitor = pulumi.runtime.getMonitor() as unknown as MonitorWithRegistry;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        requests.set(`${req.getType()}::${req.getName()}`, {
            parent: req.getParent(),
            dependencies: req.getDependenciesList(),
            aliasUrns: req.getAliasesList().map((a) => a.getUrn()).filter((urn) => urn !== ""),
        });
        return register(req, cb);
    };
    // Loaded after the mocks, as a program would be.
    const k8s = await import("@pulumi/kubernetes");
    Storage = await import("../../components/storage");

    provider = new k8s.Provider("k8s", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
    storage = new Storage.StorageProvisioner("storage", SPEC, { provider });
    // The other way to hand a component its providers, with a dependency as index.ts passes one.
    // (Two provisioners in one cluster would collide; this one only exercises the options.)
    retained = new Storage.StorageProvisioner("retained", RETAIN, { providers: [provider], dependsOn: [provider] });
    await Promise.all([promiseOf(storage.storageClassName), promiseOf(retained.storageClassName)]);
});

describe("StorageProvisioner", () => {
    it("registers itself under its type token", () => {
        expect(only(COMPONENT, "storage").inputs).toEqual(SPEC);
    });

    it("declares one typed resource per object of the manifest, and nothing else", () => {
        const expected = ["storage", "retained"].flatMap((c) => OBJECTS.map((o) => `${o.type} ${c}-manifests:${o.name}`));
        expect(registered.filter((r) => !isGated(r)).map((r) => `${r.type} ${r.name}`).sort()).toEqual(
            [...expected, "pulumi:providers:kubernetes k8s", `${COMPONENT} retained`, `${COMPONENT} storage`].sort(),
        );
        expect(registered.some((r) => r.type === CONFIG_GROUP)).toBe(false);
    });

    it.each(["storage", "retained"] as const)("gives each resource its rendered object as inputs (%s)", (component) => {
        const objects = renderStorageObjects(component === "storage" ? SPEC : RETAIN);
        expect(objects).toHaveLength(OBJECTS.length);
        for (const { kind } of OBJECTS) {
            const object = objects.find((o) => o.kind === kind);
            expect(child(component, kind).inputs, kind).toEqual(object);
        }
    });

    it("passes the spec through: the class's default annotation and reclaim policy, the provisioner's path", () => {
        const sc = child("storage", "StorageClass").inputs;
        expect(sc.metadata.name).toBe(STORAGE_CLASS_NAME);
        expect(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("true");
        expect(sc.reclaimPolicy).toBe("Delete");
        const config = JSON.parse(child("storage", "ConfigMap").inputs.data["config.json"]);
        expect(config.nodePathMap[0].paths).toEqual([SPEC.path]);
    });

    it("renders a non-default, retaining class from its own spec", () => {
        expect(only(COMPONENT, "retained").inputs).toEqual(RETAIN);
        const sc = child("retained", "StorageClass").inputs;
        expect(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("false");
        expect(sc.reclaimPolicy).toBe("Retain");
        const config = JSON.parse(child("retained", "ConfigMap").inputs.data["config.json"]);
        expect(config.nodePathMap[0].paths).toEqual([RETAIN.path]);
    });

    it("labels the namespace privileged and puts every namespaced object in it", () => {
        const namespace = child("storage", "Namespace").inputs;
        expect(namespace.metadata).toEqual({ name: NS, labels: { "pod-security.kubernetes.io/enforce": "privileged" } });
        for (const kind of ["ServiceAccount", "Role", "RoleBinding", "Deployment", "ConfigMap"] as const) {
            expect(child("storage", kind).inputs.metadata.namespace, kind).toBe(NS);
        }
        for (const kind of ["ClusterRole", "ClusterRoleBinding", "StorageClass"] as const) {
            expect(child("storage", kind).inputs.metadata.namespace, kind).toBeUndefined();
        }
    });

    it("parents every resource to its component", () => {
        const monitor = pulumi.runtime.getMonitor() as unknown as MonitorWithRegistry;
        const urns = [...monitor.getRegisteredResources().keys()];
        for (const component of ["storage", "retained"]) {
            for (const { kind, type } of OBJECTS) {
                expect(request(type, childName(component, kind)).parent, kind).toBe(componentUrn(component));
                expect(urns, kind).toContain(childUrn(component, kind));
            }
        }
    });

    it.each(["storage", "retained"])("hands the Kubernetes provider to every resource (%s: provider / providers)", async (name) => {
        const [urn, id] = await Promise.all([promiseOf(provider.urn), promiseOf(provider.id)]);
        for (const { kind } of OBJECTS) expect(child(name, kind).provider, kind).toBe(`${urn}::${id}`);
    });

    it("creates the namespace first, and the service account, RBAC and config map before the Deployment", () => {
        const dependencies = (kind: Kind) => request(objectOf(kind).type, childName("storage", kind)).dependencies;
        const namespace = childUrn("storage", "Namespace");
        expect(dependencies("Namespace")).toEqual([]);
        for (const kind of ["ServiceAccount", "Role", "RoleBinding", "ConfigMap"] as const) {
            expect(dependencies(kind), kind).toEqual([namespace]);
        }
        for (const kind of ["ClusterRole", "ClusterRoleBinding", "StorageClass"] as const) {
            expect(dependencies(kind), kind).toEqual([]);
        }
        const before = ["Namespace", "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap"] as const;
        expect([...dependencies("Deployment")].sort()).toEqual(before.map((k) => childUrn("storage", k)).sort());
    });

    // Without the alias the engine would plan each object as a create plus a delete of the old
    // child, and the create fails: the object exists (the provider no longer upserts, since 4.29.0).
    it("aliases every resource to the URN it had as a child of the ConfigGroup", () => {
        for (const component of ["storage", "retained"]) {
            for (const { kind, type } of OBJECTS) {
                const { aliasUrns } = request(type, childName(component, kind));
                expect(aliasUrns, kind).toEqual([oldChildUrn(component, kind)]);
                // The same type and name: the alias changes only the parent.
                expect(aliasUrns[0].replace(`$${CONFIG_GROUP}`, ""), kind).toBe(childUrn(component, kind));
            }
        }
        expect(oldChildUrn("storage", "Deployment")).toBe(
            "urn:pulumi:dev::talos-docker::talos-docker:index:StorageProvisioner$kubernetes:yaml/v2:ConfigGroup" +
                "$kubernetes:apps/v1:Deployment::storage-manifests:local-path-storage/local-path-provisioner",
        );
    });

    it("outputs the StorageClass name", async () => {
        expect(await promiseOf(storage.storageClassName)).toBe("local-path");
    });

    it("rejects invalid arguments before registering anything, naming every bad field", () => {
        const before = registered.length;
        const bad = { path: "/opt/x", isDefault: true, reclaimPolicy: "Recycle" } as unknown as StorageModule.StorageProvisionerArgs;
        let thrown: unknown;
        try {
            new Storage.StorageProvisioner("bad", bad, { provider });
        } catch (err) {
            thrown = err;
        }
        expect(pulumi.InputPropertiesError.isInstance(thrown)).toBe(true);
        const error = thrown as pulumi.InputPropertiesError;
        expect(error.message).toBe("StorageProvisioner bad: invalid arguments");
        expect(error.errors).toEqual([
            { propertyPath: "path", reason: `must be ${STORAGE_PATH_RULE}, got "/opt/x"` },
            { propertyPath: "reclaimPolicy", reason: 'must be Delete or Retain, got "Recycle"' },
        ]);
        expect(registered.length).toBe(before);
    });
});

describe("StorageProvisioner with opts.dependsOn", () => {
    it("registers nothing of its own until the dependency exists", async () => {
        const ready = new Ready("ready");
        const gated = new Storage.StorageProvisioner("gated", SPEC, { provider, dependsOn: [ready] });
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(registered.filter(isGated)).toEqual([]);

        openGate();
        await promiseOf(gated.storageClassName);
        const names = registered.filter(isGated).map((r) => r.name);
        expect(names.slice(0, 2)).toEqual(["ready", "gated"]);
        expect([...names.slice(2)].sort()).toEqual(OBJECTS.map((o) => `gated-manifests:${o.name}`).sort());
    });
});
