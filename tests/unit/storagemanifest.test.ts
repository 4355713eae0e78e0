import { describe, expect, it } from "vitest";

import { STORAGE_PATH_RULE } from "../../talos/config/storage";

import {
    KubeObject,
    loadStorageManifest,
    parseStorageManifest,
    renderStorageObjects,
    STORAGE_CLASS_NAME,
    STORAGE_NAMESPACE,
    storageResourceName,
    storageResourcePrefix,
    storageResources,
    StorageSpec,
    storageSpecProblems,
} from "../../model/storagemanifest";

const SPEC: StorageSpec = { path: "/var/local-path-provisioner", isDefault: true, reclaimPolicy: "Delete" };

// Loose accessors for parsed YAML: the tests assert shapes, so a missing field fails the assertion.
type Loose = any;

function find(objects: readonly KubeObject[], kind: string, name: string): Loose {
    const found = objects.find((o) => o.kind === kind && (o.metadata as Loose)?.name === name);
    expect(found, `${kind} ${name}`).toBeDefined();
    return found;
}

function rootPaths(objects: readonly KubeObject[]): string[] {
    const config = JSON.parse(find(objects, "ConfigMap", "local-path-config").data["config.json"]);
    return config.nodePathMap.find((e: Loose) => e.node === "DEFAULT_PATH_FOR_NON_LISTED_NODES").paths;
}

describe("the pinned manifest", () => {
    const objects = loadStorageManifest();

    it("holds upstream's objects and nothing else", () => {
        expect(objects.map((o) => `${o.kind}/${(o.metadata as Loose).name}`)).toEqual([
            "Namespace/local-path-storage",
            "ServiceAccount/local-path-provisioner-service-account",
            "Role/local-path-provisioner-role",
            "ClusterRole/local-path-provisioner-role",
            "RoleBinding/local-path-provisioner-bind",
            "ClusterRoleBinding/local-path-provisioner-bind",
            "Deployment/local-path-provisioner",
            "StorageClass/local-path",
            "ConfigMap/local-path-config",
        ]);
    });

    it("labels the namespace privileged for Pod Security (Talos enforces baseline)", () => {
        expect(find(objects, "Namespace", STORAGE_NAMESPACE).metadata.labels).toEqual({
            "pod-security.kubernetes.io/enforce": "privileged",
        });
    });

    it("puts volumes under /var, not upstream's read-only /opt", () => {
        expect(rootPaths(objects)).toEqual(["/var/local-path-provisioner"]);
    });

    it("keeps upstream's RBAC: a service account bound to a Role and a ClusterRole", () => {
        const sa = find(objects, "ServiceAccount", "local-path-provisioner-service-account");
        expect(sa.metadata.namespace).toBe(STORAGE_NAMESPACE);
        const subject = { kind: "ServiceAccount", name: sa.metadata.name, namespace: STORAGE_NAMESPACE };

        const role = find(objects, "Role", "local-path-provisioner-role");
        expect(role.metadata.namespace).toBe(STORAGE_NAMESPACE);
        expect(role.rules).toContainEqual(
            expect.objectContaining({ resources: ["pods"], verbs: expect.arrayContaining(["create", "delete"]) }),
        );
        const roleBinding = find(objects, "RoleBinding", "local-path-provisioner-bind");
        expect(roleBinding.metadata.namespace).toBe(STORAGE_NAMESPACE);
        expect(roleBinding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name });
        expect(roleBinding.subjects).toEqual([subject]);

        const clusterRole = find(objects, "ClusterRole", "local-path-provisioner-role");
        expect(clusterRole.rules).toContainEqual(
            expect.objectContaining({ resources: ["persistentvolumes"], verbs: expect.arrayContaining(["create", "delete"]) }),
        );
        expect(clusterRole.rules).toContainEqual(expect.objectContaining({ resources: ["storageclasses"] }));
        const clusterRoleBinding = find(objects, "ClusterRoleBinding", "local-path-provisioner-bind");
        expect(clusterRoleBinding.roleRef).toEqual({
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: clusterRole.metadata.name,
        });
        expect(clusterRoleBinding.subjects).toEqual([subject]);

        const deployment = find(objects, "Deployment", "local-path-provisioner");
        expect(deployment.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
    });

    it("pins the provisioner image to the release tag, not latest", () => {
        const deployment = find(objects, "Deployment", "local-path-provisioner");
        expect(deployment.metadata.namespace).toBe(STORAGE_NAMESPACE);
        const images = deployment.spec.template.spec.containers.map((c: Loose) => c.image);
        expect(images).toEqual(["docker.io/rancher/local-path-provisioner:v0.0.37"]);
        for (const image of images) {
            expect(image).toMatch(/:v\d+\.\d+\.\d+$/);
        }
    });

    it("pins the helper pod's image as well", () => {
        const helper = find(objects, "ConfigMap", "local-path-config").data["helperPod.yaml"];
        const [image] = parseStorageManifest(helper, "helperPod.yaml").map((pod: Loose) => pod.spec.containers[0].image);
        expect(image).toBe("docker.io/library/busybox:1.37.0");
    });

    it("defines the StorageClass as the Talos guide does: default, Delete, WaitForFirstConsumer", () => {
        const sc = find(objects, "StorageClass", STORAGE_CLASS_NAME);
        expect(sc.provisioner).toBe("rancher.io/local-path");
        expect(sc.metadata.annotations).toEqual({ "storageclass.kubernetes.io/is-default-class": "true" });
        expect(sc.reclaimPolicy).toBe("Delete");
        expect(sc.volumeBindingMode).toBe("WaitForFirstConsumer");
    });

    it("is read once and frozen", () => {
        expect(loadStorageManifest()).toBe(objects);
        expect(Object.isFrozen(find(objects, "StorageClass", STORAGE_CLASS_NAME).metadata)).toBe(true);
    });
});

describe("renderStorageObjects", () => {
    it("sets the root path, the default annotation and the reclaim policy from the spec", () => {
        const objects = renderStorageObjects({ path: "/var/mnt/volumes", isDefault: true, reclaimPolicy: "Retain" });
        expect(rootPaths(objects)).toEqual(["/var/mnt/volumes"]);
        const sc = find(objects, "StorageClass", STORAGE_CLASS_NAME);
        expect(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("true");
        expect(sc.reclaimPolicy).toBe("Retain");
        expect(sc.volumeBindingMode).toBe("WaitForFirstConsumer");
    });

    it('writes "false" to the annotation when the class is not the default', () => {
        const sc = find(renderStorageObjects({ ...SPEC, isDefault: false }), "StorageClass", STORAGE_CLASS_NAME);
        expect(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("false");
    });

    it("keeps the rest of the config map as the manifest has it", () => {
        const rendered = find(renderStorageObjects(SPEC), "ConfigMap", "local-path-config").data;
        const pinned = find(loadStorageManifest(), "ConfigMap", "local-path-config").data;
        expect(Object.keys(rendered)).toEqual(Object.keys(pinned));
        for (const key of ["setup", "teardown", "helperPod.yaml"]) expect(rendered[key]).toBe(pinned[key]);
        expect(JSON.parse(rendered["config.json"])).toEqual(JSON.parse(pinned["config.json"]));
    });

    it("does not change the cached manifest, and its results are independent copies", () => {
        const before = JSON.stringify(loadStorageManifest());
        const first = renderStorageObjects({ path: "/var/a", isDefault: false, reclaimPolicy: "Retain" });
        (find(first, "Namespace", STORAGE_NAMESPACE).metadata.labels as Loose).changed = "yes";
        const second = renderStorageObjects(SPEC);

        expect(JSON.stringify(loadStorageManifest())).toBe(before);
        expect(rootPaths(first)).toEqual(["/var/a"]);
        expect(rootPaths(second)).toEqual(["/var/local-path-provisioner"]);
        expect(find(second, "Namespace", STORAGE_NAMESPACE).metadata.labels.changed).toBeUndefined();
        expect(find(first, "StorageClass", STORAGE_CLASS_NAME).reclaimPolicy).toBe("Retain");
        expect(find(second, "StorageClass", STORAGE_CLASS_NAME).reclaimPolicy).toBe("Delete");
    });

    it("renders the same objects for the same spec", () => {
        expect(renderStorageObjects(SPEC)).toEqual(renderStorageObjects(SPEC));
    });
});

describe("renderStorageObjects on a manifest that lacks what it expects", () => {
    const without = (kind: string) => loadStorageManifest().filter((o) => o.kind !== kind);

    it.each([
        ["StorageClass", 'local-path-provisioner manifest has no StorageClass "local-path"'],
        ["ConfigMap", 'local-path-provisioner manifest has no ConfigMap "local-path-config" in namespace "local-path-storage"'],
        ["Namespace", 'local-path-provisioner manifest has no Namespace "local-path-storage"'],
    ])("throws when the %s is missing", (kind, message) => {
        expect(() => renderStorageObjects(SPEC, without(kind))).toThrow(message);
    });

    it("throws when the namespace is not labelled privileged", () => {
        const base = structuredClone(loadStorageManifest()) as Loose[];
        delete base.find((o) => o.kind === "Namespace").metadata.labels;
        expect(() => renderStorageObjects(SPEC, base)).toThrow(
            'local-path-provisioner manifest: Namespace "local-path-storage" lacks the label ' +
                "pod-security.kubernetes.io/enforce: privileged (Talos enforces the baseline Pod Security level)",
        );
    });

    it("throws when config.json has no default node path", () => {
        const base = structuredClone(loadStorageManifest()) as Loose[];
        base.find((o) => o.kind === "ConfigMap").data["config.json"] = JSON.stringify({ nodePathMap: [] });
        expect(() => renderStorageObjects(SPEC, base)).toThrow(
            'local-path-provisioner manifest: ConfigMap "local-path-config": config.json has no nodePathMap entry for ' +
                "DEFAULT_PATH_FOR_NON_LISTED_NODES",
        );
    });
});

describe("storageSpecProblems", () => {
    it("accepts the reference stack's settings", () => {
        expect(storageSpecProblems(SPEC)).toEqual([]);
    });

    it("lists every problem at once", () => {
        const bad = { path: "/opt/local-path-provisioner", isDefault: "yes", reclaimPolicy: "Recycle" } as unknown as StorageSpec;
        expect(storageSpecProblems(bad)).toEqual([
            { propertyPath: "path", reason: `must be ${STORAGE_PATH_RULE}, got "/opt/local-path-provisioner"` },
            { propertyPath: "isDefault", reason: 'must be a boolean, got "yes"' },
            { propertyPath: "reclaimPolicy", reason: 'must be Delete or Retain, got "Recycle"' },
        ]);
    });

    it.each(["/var", "/var/", "var/x", "/var/../etc", "/var/a b", "/var/foo/", "/var/./x", "/var//x"])("rejects the path %j", (path) => {
        expect(storageSpecProblems({ ...SPEC, path }).map((p) => p.propertyPath)).toEqual(["path"]);
    });
});

describe("storageResources", () => {
    const resources = storageResources(SPEC, "p");
    const byKind = (kind: string) => {
        const found = resources.filter((r) => r.kind === kind);
        expect(found, kind).toHaveLength(1);
        return found[0];
    };

    it("is prefixed with the name the ConfigGroup had", () => {
        expect(storageResourcePrefix("talos-storage")).toBe("talos-storage-manifests");
    });

    it("accounts for every object of the manifest, as rendered for the spec, once", () => {
        const rendered = renderStorageObjects(SPEC);
        expect(resources).toHaveLength(loadStorageManifest().length);
        expect([...resources.map((r) => r.object)].sort(byIdentity)).toEqual([...rendered].sort(byIdentity));
        for (const r of resources) expect(r.kind).toBe(r.object.kind);
    });

    it("names each object as yaml/v2 named a ConfigGroup's child: <prefix>:<namespace>/<name> or <prefix>:<name>", () => {
        expect(resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
            "kubernetes:apps/v1:Deployment p:local-path-storage/local-path-provisioner",
            "kubernetes:core/v1:ConfigMap p:local-path-storage/local-path-config",
            "kubernetes:core/v1:Namespace p:local-path-storage",
            "kubernetes:core/v1:ServiceAccount p:local-path-storage/local-path-provisioner-service-account",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole p:local-path-provisioner-role",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding p:local-path-provisioner-bind",
            "kubernetes:rbac.authorization.k8s.io/v1:Role p:local-path-storage/local-path-provisioner-role",
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding p:local-path-storage/local-path-provisioner-bind",
            "kubernetes:storage.k8s.io/v1:StorageClass p:local-path",
        ]);
        expect(storageResourceName("x", { kind: "Pod", metadata: { name: "a", namespace: "b" } })).toBe("x:b/a");
        expect(storageResourceName("x", { kind: "Node", metadata: { name: "a" } })).toBe("x:a");
    });

    it("lists the Namespace first and every resource after what it depends on", () => {
        expect(resources[0].kind).toBe("Namespace");
        const seen = new Set<string>();
        for (const r of resources) {
            for (const d of r.dependsOn) expect(seen.has(d), `${r.name} after ${d}`).toBe(true);
            seen.add(r.name);
        }
    });

    it("makes namespaced objects wait for their Namespace, and the Deployment for what its pods need", () => {
        const namespace = byKind("Namespace").name;
        for (const kind of ["ServiceAccount", "Role", "RoleBinding", "ConfigMap"]) {
            expect(byKind(kind).dependsOn, kind).toEqual([namespace]);
        }
        for (const kind of ["Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"]) {
            expect(byKind(kind).dependsOn, kind).toEqual([]);
        }
        const needed = ["Namespace", "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap"];
        expect([...byKind("Deployment").dependsOn].sort()).toEqual(needed.map((k) => byKind(k).name).sort());
    });

    it("applies the spec to the objects", () => {
        const retained = storageResources({ path: "/var/mnt/v", isDefault: false, reclaimPolicy: "Retain" }, "p");
        const sc = retained.find((r) => r.kind === "StorageClass")!.object as Loose;
        expect(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("false");
        expect(sc.reclaimPolicy).toBe("Retain");
        expect(rootPaths(retained.map((r) => r.object))).toEqual(["/var/mnt/v"]);
    });
});

describe("storageResources on a manifest it does not cover", () => {
    const base = () => structuredClone(loadStorageManifest()) as Loose[];
    const where = "local-path-provisioner manifest: ";

    it("refuses a kind with no typed resource, naming the object and what to add", () => {
        const manifest = [...base(), { apiVersion: "v1", kind: "Service", metadata: { name: "svc", namespace: STORAGE_NAMESPACE } }];
        expect(() => storageResources(SPEC, "p", manifest)).toThrow(
            `${where}Service "local-path-storage/svc" has a kind with no typed resource here (the kinds are Namespace, ` +
                "ServiceAccount, ConfigMap, Role, ClusterRole, RoleBinding, ClusterRoleBinding, Deployment, StorageClass): " +
                "add it to STORAGE_KINDS in model/storagemanifest.ts and its case to components/storage.ts",
        );
    });

    it("refuses an apiVersion other than the typed resource's", () => {
        const manifest = base();
        manifest.find((o) => o.kind === "Deployment").apiVersion = "apps/v1beta2";
        expect(() => storageResources(SPEC, "p", manifest)).toThrow(
            `${where}Deployment "local-path-storage/local-path-provisioner" has apiVersion "apps/v1beta2", the typed resource is apps/v1`,
        );
    });

    it("refuses top-level fields the typed resource would drop", () => {
        const manifest = base();
        Object.assign(manifest.find((o) => o.kind === "StorageClass"), { status: {}, extra: 1 });
        expect(() => storageResources(SPEC, "p", manifest)).toThrow(
            `${where}StorageClass "local-path" has fields the typed resource would drop: status, extra`,
        );
    });

    it("refuses an object twice", () => {
        const manifest = base();
        manifest.push(structuredClone(manifest.find((o) => o.kind === "ClusterRole")));
        expect(() => storageResources(SPEC, "p", manifest)).toThrow(`local-path-provisioner manifest holds ClusterRole "local-path-provisioner-role" twice`);
    });

    it("refuses a namespaced object in a namespace the manifest does not define", () => {
        const manifest = base();
        manifest.find((o) => o.kind === "Role").metadata.namespace = "elsewhere";
        expect(() => storageResources(SPEC, "p", manifest)).toThrow(
            `${where}Role "elsewhere/local-path-provisioner-role" is in a namespace it does not define`,
        );
    });

    it("refuses an object with no name", () => {
        const manifest = base();
        delete manifest.find((o) => o.kind === "ClusterRoleBinding").metadata.name;
        expect(() => storageResources(SPEC, "p", manifest)).toThrow(`${where}a ClusterRoleBinding has no metadata.name`);
    });
});

function byIdentity(a: KubeObject, b: KubeObject): number {
    const key = (o: KubeObject) => `${String(o.kind)}/${String((o.metadata as Loose).namespace)}/${String((o.metadata as Loose).name)}`;
    return key(a).localeCompare(key(b));
}
