// talos-docker: a Talos Linux Kubernetes cluster as Docker containers on this machine.
// config → TalosCluster → Kubernetes provider → StorageProvisioner → stack outputs (docs/design.md).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TalosCluster } from "./components/cluster";
import { readStackConfig } from "./components/stackconfig";
import { StorageProvisioner } from "./components/storage";

const spec = readStackConfig();
const cluster = new TalosCluster(spec.clusterName, { spec });

// No deleteUnreachable: with it a `pulumi refresh` while the cluster is only stopped would drop every
// Kubernetes object from the state. `npm run destroy` sets PULUMI_K8S_DELETE_UNREACHABLE instead.
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

export const kubeconfig = cluster.kubeconfig;
export const talosconfig = cluster.talosconfig;
export const talosSecrets = cluster.talosSecrets;
export const machineConfigs = cluster.machineConfigs;
export const nodes = cluster.nodes;
export const endpoints = cluster.endpoints;
export const storageClass: pulumi.Output<string | null> = storage ? storage.storageClassName : pulumi.output(null);
