// StorageProvisioner under Pulumi mocks: what it declares, with which inputs, under which parent and
// provider. ConfigGroup is a remote component, so its children (the Kubernetes objects) never
// appear here; its `objs` input is what reaches the engine, and the objects' content is checked in
// tests/unit/storagemanifest.test.ts.

import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";

import type * as StorageModule from "../../components/storage";
import { renderStorageObjects, STORAGE_CLASS_NAME } from "../../model/storagemanifest";
import { STORAGE_PATH_RULE } from "../../talos/config/storage";

const PROJECT = "talos-docker";
const STACK = "dev";
const SPEC = { path: "/var/local-path-provisioner", isDefault: true, reclaimPolicy: "Delete" } as const;

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    provider?: string;
}

// The mock monitor keeps every resource by URN, and a URN carries its parent's type
// (`parentType$type`): that is how a test sees the parent, which newResource is not given.
interface MonitorWithRegistry {
    getRegisteredResources(): Map<string, { urn: string }>;
}

const registered: Registered[] = [];

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

function urnsOf(type: string): string[] {
    const monitor = pulumi.runtime.getMonitor() as unknown as MonitorWithRegistry;
    return [...monitor.getRegisteredResources().keys()].filter(
        (urn) => urn.split("::")[2].split("$").pop() === type && !isGated({ type, name: urn.split("::")[3] }),
    );
}

const RETAIN = { path: "/var/mnt/volumes", isDefault: false, reclaimPolicy: "Retain" } as const;
const COMPONENT = "talos-docker:index:StorageProvisioner";
const CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup";

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
        const component = only(COMPONENT, "storage");
        expect(component.name).toBe("storage");
        expect(component.inputs).toEqual(SPEC);
    });

    it("applies the rendered manifest with one ConfigGroup named after the component", () => {
        const group = only(CONFIG_GROUP, "storage-manifests");
        expect(group.name).toBe("storage-manifests");
        expect(group.inputs).toEqual({ objs: renderStorageObjects(SPEC) });
    });

    it("passes the spec through to the objects", () => {
        const objs = only(CONFIG_GROUP, "storage-manifests").inputs.objs as Array<Record<string, any>>;
        const sc = objs.find((o) => o.kind === "StorageClass");
        expect(sc?.metadata.name).toBe(STORAGE_CLASS_NAME);
        expect(sc?.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("true");
        expect(sc?.reclaimPolicy).toBe("Delete");
        const cm = objs.find((o) => o.kind === "ConfigMap");
        expect(JSON.parse(cm?.data["config.json"]).nodePathMap[0].paths).toEqual([SPEC.path]);
    });

    it("parents the ConfigGroup to the component", () => {
        expect(urnsOf(CONFIG_GROUP).sort()).toEqual([
            `urn:pulumi:${STACK}::${PROJECT}::${COMPONENT}$${CONFIG_GROUP}::retained-manifests`,
            `urn:pulumi:${STACK}::${PROJECT}::${COMPONENT}$${CONFIG_GROUP}::storage-manifests`,
        ]);
    });

    it.each(["storage", "retained"])("hands the Kubernetes provider to the ConfigGroup (%s: provider / providers)", async (name) => {
        const [urn, id] = await Promise.all([promiseOf(provider.urn), promiseOf(provider.id)]);
        expect(only(CONFIG_GROUP, `${name}-manifests`).provider).toBe(`${urn}::${id}`);
    });

    it("creates one ConfigGroup a component and nothing else", () => {
        expect(registered.filter((r) => !isGated(r)).map((r) => `${r.type} ${r.name}`).sort()).toEqual([
            `${CONFIG_GROUP} retained-manifests`,
            `${CONFIG_GROUP} storage-manifests`,
            `pulumi:providers:kubernetes k8s`,
            `${COMPONENT} retained`,
            `${COMPONENT} storage`,
        ]);
    });

    it("renders a non-default, retaining class from its own spec", () => {
        expect(only(COMPONENT, "retained").inputs).toEqual(RETAIN);
        const objs = only(CONFIG_GROUP, "retained-manifests").inputs.objs as Array<Record<string, any>>;
        expect(objs).toEqual(renderStorageObjects(RETAIN));
        const sc = objs.find((o) => o.kind === "StorageClass");
        expect(sc?.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("false");
        expect(sc?.reclaimPolicy).toBe("Retain");
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
        expect(registered.filter(isGated).map((r) => r.name)).toEqual([
            "ready",
            "gated",
            "gated-manifests",
        ]);
    });
});
