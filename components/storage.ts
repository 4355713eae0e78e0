import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { ReclaimPolicy, renderStorageObjects, STORAGE_CLASS_NAME, storageSpecProblems } from "../model/storagemanifest";

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

        // ConfigGroup orders the Namespace before the namespaced objects and waits for each to be
        // ready (the Deployment's rollout included).
        const manifests = new k8s.yaml.v2.ConfigGroup(
            `${name}-manifests`,
            {
                objs: renderStorageObjects({
                    path: args.path,
                    isDefault: args.isDefault,
                    reclaimPolicy: args.reclaimPolicy,
                }),
            },
            { parent: this },
        );

        // Carries the ConfigGroup as a dependency, so that whatever uses the name waits for it.
        this.storageClassName = manifests.urn.apply(() => STORAGE_CLASS_NAME);

        this.registerOutputs({
            storageClassName: this.storageClassName,
        });
    }
}
