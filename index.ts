// talos-docker: a Talos Linux Kubernetes cluster as Docker containers on this machine.
// config → TalosCluster → Kubernetes provider → StorageProvisioner → stack outputs (docs/design.md).
// An async program: the change check reads the stack's own last outputs before any resource is
// declared, so a refused change declares nothing. Pulumi awaits the function and exports what it
// returns.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TalosCluster } from "./components/cluster";
import { readStackConfig, refuseUnsafeChanges } from "./components/stackconfig";
import { StorageProvisioner } from "./components/storage";

export = async () => {
    const spec = readStackConfig();
    const previous = await refuseUnsafeChanges(spec, `${spec.clusterName}-previous-run`);
    const cluster = new TalosCluster(spec.clusterName, { spec, previous });

    // No deleteUnreachable: with it a `pulumi refresh` while the cluster is only stopped would drop
    // every Kubernetes object from the state. `npm run destroy` sets PULUMI_K8S_DELETE_UNREACHABLE instead.
    const provider = new k8s.Provider(`${spec.clusterName}-k8s`, { kubeconfig: cluster.kubeconfig }, {
        dependsOn: cluster.ready,
    });

    const storage = spec.storage.enabled
        ? new StorageProvisioner(`${spec.clusterName}-storage`, {
            path: spec.storage.path,
            isDefault: spec.storage.isDefault,
            reclaimPolicy: spec.storage.reclaimPolicy,
        }, { provider, dependsOn: cluster.ready })
        : undefined;

    return {
        kubeconfig: cluster.kubeconfig,
        talosconfig: cluster.talosconfig,
        talosSecrets: cluster.talosSecrets,
        machineConfigs: cluster.machineConfigs,
        nodes: cluster.nodes,
        endpoints: cluster.endpoints,
        storageClass: storage ? storage.storageClassName : pulumi.output<string | null>(null),
        versions: cluster.versions,
        secretsIdentity: cluster.secretsIdentity,
        scheduling: cluster.scheduling,
    };
};
