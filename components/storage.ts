import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import {
    KubeObject,
    LEGACY_CONFIG_GROUP_TYPE,
    ReclaimPolicy,
    STORAGE_CLASS_NAME,
    StorageResource,
    storageResourcePrefix,
    storageResources,
    storageSpecProblems,
} from "../model/storagemanifest";

/**
 * StorageProvisionerArgs describe the parameters to a StorageProvisioner component. They are plain
 * values: they come from the validated stack config (`talos-docker:storage`), not from other
 * resources.
 */
export interface StorageProvisionerArgs {
    /**
     * Root directory on every node under which volumes are created. Must be an absolute path under
     * /var, the only writable place on a Talos node, and the kubelet must bind-mount it
     * (`machine.kubelet.extraMounts`) so that volume mounts propagate. Default (in the stack
     * config): "/var/local-path-provisioner".
     */
    readonly path: string;
    /**
     * Whether the `local-path` StorageClass is the cluster's default, so that claims naming no class
     * get it. Sets the annotation storageclass.kubernetes.io/is-default-class to "true" or "false".
     * Default (in the stack config): true.
     */
    readonly isDefault: boolean;
    /**
     * The StorageClass's reclaimPolicy: "Delete" removes a volume's directory when its claim is
     * deleted, "Retain" keeps it on the node for an operator to remove. Default (in the stack
     * config): "Delete".
     */
    readonly reclaimPolicy: ReclaimPolicy;
}

/**
 * The StorageProvisioner component installs rancher/local-path-provisioner (the release pinned in
 * manifests/local-path-provisioner.yaml, adapted for Talos) and its StorageClass `local-path`.
 *
 * Each object of the manifest is a typed Kubernetes resource (not a yaml/v2 ConfigGroup): their
 * Check and Diff need no cluster, so a preview while the cluster is down still plans them, where
 * the ConfigGroup's Construct fails without the API server's schema. Each waits for what it needs
 * (its Namespace; the Deployment for its service account, RBAC and config map), and Kubernetes
 * resources wait to be ready by themselves (the Deployment for its rollout).
 *
 * Pass the cluster's Kubernetes provider in `opts.provider` (or `opts.providers`) and the cluster's
 * readiness in `opts.dependsOn`; the children inherit both.
 */
export class StorageProvisioner extends pulumi.ComponentResource {
    /** The StorageClass's name; it resolves once the provisioner's objects have been applied. */
    public readonly storageClassName: pulumi.Output<string>;

    /**
     * Create a new StorageProvisioner.
     *
     * @param name The _unique_ name of this component.
     * @param args The arguments for this component.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: StorageProvisionerArgs, opts?: pulumi.ComponentResourceOptions) {
        // Checked before anything is registered, so that bad arguments create nothing.
        const problems = storageSpecProblems(args);
        if (problems.length > 0) {
            throw new pulumi.InputPropertiesError({
                message: `StorageProvisioner ${name}: invalid arguments`,
                errors: problems,
            });
        }
        super("talos-docker:index:StorageProvisioner", name, args, opts);

        const resources = declareStorageResources(name, args, this);

        // Carries every object as a dependency, so that whatever uses the name waits for them all
        // (the Deployment's rollout included).
        this.storageClassName = pulumi.all(resources.map((r) => r.urn)).apply(() => STORAGE_CLASS_NAME);

        this.registerOutputs({
            storageClassName: this.storageClassName,
        });
    }
}

/**
 * One typed resource per object of the manifest, named as the ConfigGroup that applied it before
 * named its child, with an alias to that child's URN: a stack made with the ConfigGroup keeps the
 * same objects (no create of an object that exists, which the provider refuses since 4.29.0).
 */
function declareStorageResources(
    name: string,
    args: StorageProvisionerArgs,
    parent: pulumi.ComponentResource,
): pulumi.CustomResource[] {
    const prefix = storageResourcePrefix(name);
    const oldGroup = pulumi.createUrn(prefix, LEGACY_CONFIG_GROUP_TYPE, parent);
    const declared = new Map<string, pulumi.CustomResource>();
    for (const resource of storageResources(args, prefix)) {
        const opts: pulumi.CustomResourceOptions = {
            parent,
            dependsOn: resource.dependsOn.map((d) => dependency(declared, d)),
            aliases: [pulumi.createUrn(resource.name, resource.type, oldGroup)],
        };
        declared.set(resource.name, declareOne(resource, opts));
    }
    return [...declared.values()];
}

function declareOne(resource: StorageResource, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    const { name, object } = resource;
    switch (resource.kind) {
        case "Namespace":
            return new k8s.core.v1.Namespace(name, manifestArgs<k8s.core.v1.NamespaceArgs>(object), opts);
        case "ServiceAccount":
            return new k8s.core.v1.ServiceAccount(name, manifestArgs<k8s.core.v1.ServiceAccountArgs>(object), opts);
        case "ConfigMap":
            return new k8s.core.v1.ConfigMap(name, manifestArgs<k8s.core.v1.ConfigMapArgs>(object), opts);
        case "Role":
            return new k8s.rbac.v1.Role(name, manifestArgs<k8s.rbac.v1.RoleArgs>(object), opts);
        case "ClusterRole":
            return new k8s.rbac.v1.ClusterRole(name, manifestArgs<k8s.rbac.v1.ClusterRoleArgs>(object), opts);
        case "RoleBinding":
            return new k8s.rbac.v1.RoleBinding(name, manifestArgs<k8s.rbac.v1.RoleBindingArgs>(object), opts);
        case "ClusterRoleBinding":
            return new k8s.rbac.v1.ClusterRoleBinding(
                name,
                manifestArgs<k8s.rbac.v1.ClusterRoleBindingArgs>(object),
                opts,
            );
        case "Deployment":
            return new k8s.apps.v1.Deployment(name, manifestArgs<k8s.apps.v1.DeploymentArgs>(object), opts);
        case "StorageClass":
            return new k8s.storage.v1.StorageClass(name, manifestArgs<k8s.storage.v1.StorageClassArgs>(object), opts);
        default: {
            const unhandled: never = resource.kind;
            throw new Error(`StorageProvisioner: no resource for kind ${String(unhandled)}`);
        }
    }
}

// The one place parsed YAML becomes a typed resource's args: storageResources has checked the
// object's kind, apiVersion and top-level fields against that resource; the fields' content is
// upstream's manifest, which the API server validates when it is applied.
function manifestArgs<Args extends object>(object: KubeObject): Args {
    return object as Args;
}

// storageResources lists every resource after those it depends on.
function dependency(declared: Map<string, pulumi.CustomResource>, name: string): pulumi.CustomResource {
    const found = declared.get(name);
    if (found === undefined) throw new Error(`StorageProvisioner: ${name} is needed before it is declared`);
    return found;
}
