import { describe, expect, it } from "vitest";

import { STORAGE_PATH_RULE } from "../../talos/config/storage";

import {
    KubeObject,
    loadStorageManifest,
    parseStorageManifest,
    renderStorageObjects,
    STORAGE_CLASS_NAME,
    STORAGE_NAMESPACE,
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
