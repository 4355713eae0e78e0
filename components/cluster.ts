// TalosCluster: wires the graph of docs/design.md — secrets and network, then every node in
// parallel, then bootstrap, each node's config, the Kubernetes manifests and readiness — and
// exports the client configs.
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import type { ClusterSpec } from "../model/config";
import { clusterLabels } from "../model/dockerlabels";
import { machineConfigInput, rolePatches } from "../model/machineinput";
import { readinessComponents } from "../model/readiness";
import { nodeName, planCluster, type NodePlan } from "../model/plan";
import {
    clusterVersions, schedulingRecord, secretsIdentity, type ClusterVersions, type PreviousRun, type SchedulingRecord,
    type SecretsIdentity,
} from "../model/clusterchange";
import { renderKubeconfig, renderTalosconfig } from "../talos/clientconfig";
import { configView } from "../talos/configview";
import { MachineRole, renderMachineConfig } from "../talos/machineconfig";
import { renderSecretsYaml } from "../talos/secretsfile";
import { bootstrapCommand, manifestsCommand, nodeConfigCommand, readyCommand, registryCacheCommand } from "./clicommands";
import { TalosNetwork } from "./network";
import { TalosNode } from "./node";
import { MachineSecrets } from "./secrets";

export interface TalosClusterArgs {
    /** The validated stack config (model/config.ts): sizes, versions, network, ports, patches. */
    spec: ClusterSpec;
    /**
     * What the stack's last update left (model/clusterchange.ts), already checked against `spec`:
     * control planes that took workloads keep doing so. Default: a new stack.
     */
    previous?: PreviousRun;
}

export interface NodeSummary {
    name: string;
    role: MachineRole;
    ip: string;
    container: string;
}

export class TalosCluster extends pulumi.ComponentResource {
    /** Admin kubeconfig for the host (server on the published API port), secret. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** talosconfig with the os:admin client certificate, secret. */
    public readonly talosconfig: pulumi.Output<string>;
    /** The secrets bundle in talosctl's secrets.yaml form, secret. */
    public readonly talosSecrets: pulumi.Output<string>;
    /** Node name → its machine config YAML, secret. */
    public readonly machineConfigs: pulumi.Output<Record<string, string>>;
    public readonly nodes: pulumi.Output<NodeSummary[]>;
    public readonly endpoints: pulumi.Output<{ kubernetes: string; talos: string }>;
    /** The versions the nodes were given, for the next run's checks (model/clusterchange.ts). Plain. */
    public readonly versions: pulumi.Output<ClusterVersions>;
    /** The CAs' fingerprint and where they came from, for the next run's checks. Plain. */
    public readonly secretsIdentity: pulumi.Output<SecretsIdentity>;
    /** Whether the control planes take workloads, which the next run keeps (model/scheduling.ts). Plain. */
    public readonly scheduling: pulumi.Output<SchedulingRecord>;
    /**
     * What a consumer of the Kubernetes API must wait for: the readiness command, which itself
     * waits for the bootstrap and every node. The Kubernetes provider depends on it.
     */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: TalosClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("talos-docker:index:TalosCluster", name, {}, opts);
        const { spec } = args;
        const scheduling = schedulingRecord(spec, args.previous ?? {});
        const plan = planCluster(spec, { controlPlanesSchedulable: scheduling.controlPlanes });
        const parent = { parent: this };

        const secrets = new MachineSecrets(`${name}-secrets`, { imported: spec.importedSecrets?.bundle }, parent);
        const network = new TalosNetwork(`${name}-network`, {
            ...spec.network,
            labels: clusterLabels(spec.clusterName),
        }, parent);

        const configs = {
            controlplane: this.machineConfig("controlplane", spec, secrets, scheduling.controlPlanes),
            worker: this.machineConfig("worker", spec, secrets, scheduling.controlPlanes),
        };
        const userData = {
            controlplane: pulumi.secret(configs.controlplane.apply(toBase64)),
            worker: pulumi.secret(configs.worker.apply(toBase64)),
        };

        // The caches join the network before the nodes boot, so their first pulls go through them.
        const registryCache = spec.registryCache.enabled
            ? [registryCacheCommand(`${name}-registry-cache`, {
                network: network.networkName,
                subnet: spec.network.subnet,
                networkId: network.networkId,
            }, { parent: this, dependsOn: [network] })]
            : [];

        const nodes = plan.nodes.map((node) => new TalosNode(nodeName(name, node.role, node.index), {
            node,
            image: spec.image,
            networkName: network.networkName,
            userData: userData[node.role],
            after: registryCache,
        }, parent));
        // planCluster lists the first control plane first.
        const bootstrapNode = nodes[0];

        this.nodes = pulumi.output(plan.nodes.map((n) => ({ name: n.name, role: n.role, ip: n.ip, container: n.name })));
        this.endpoints = pulumi.output(plan.hostEndpoints);
        this.machineConfigs = pulumi.secret(pulumi.all(configs).apply((c) =>
            Object.fromEntries(plan.nodes.map((n) => [n.name, c[n.role]]))));
        this.talosSecrets = pulumi.secret(secrets.bundle.apply(renderSecretsYaml));
        this.talosconfig = pulumi.secret(pulumi.all([secrets.bundle, secrets.admin]).apply(([bundle, admin]) =>
            renderTalosconfig({
                contextName: spec.clusterName,
                endpoints: [plan.hostEndpoints.talos],
                nodes: [plan.bootstrapNode.ip],
                ca: bundle.certs.os.crt,
                ...admin.talos,
            })));
        this.kubeconfig = pulumi.secret(pulumi.all([secrets.bundle, secrets.admin]).apply(([bundle, admin]) =>
            renderKubeconfig({
                clusterName: spec.clusterName,
                server: plan.hostEndpoints.kubernetes,
                ca: bundle.certs.k8s.crt,
                ...admin.kubernetes,
            })));

        // Only the first control plane holds the bootstrap back; workers start at once and join
        // when its API is up.
        const bootstrap = bootstrapCommand(`${name}-bootstrap`, {
            talosconfig: this.talosconfig,
            node: plan.bootstrapNode,
            timeout: spec.timeouts.bootstrap,
            trigger: bootstrapNode.containerId,
        }, { parent: this, dependsOn: [bootstrapNode] });

        // What a reviewer sees of each role's config in the preview. configView shows no secret
        // (key material and tokens only as keyed fingerprints; conformance checks it against the
        // whole bundle), so it is unwrapped on purpose: a secret input would show as [secret].
        const views = {
            controlplane: pulumi.unsecret(this.configViewText(configs.controlplane, secrets)),
            worker: pulumi.unsecret(this.configViewText(configs.worker, secrets)),
        };
        const nodeConfigs = this.nodeConfigs(name, plan.nodes, nodes, { configs, views, bootstrap, spec });
        const manifests = manifestsCommand(`${name}-manifests`, {
            kubeconfig: this.kubeconfig,
            kubernetesVersion: spec.kubernetesVersion,
            timeout: spec.timeouts.apply,
        }, { parent: this, dependsOn: nodeConfigs });
        const ready = readyCommand(`${name}-ready`, {
            kubeconfig: this.kubeconfig,
            talosconfig: this.talosconfig,
            timeout: spec.timeouts.ready,
            nodes: plan.nodes,
            clusterName: spec.clusterName,
            components: readinessComponents(spec),
            // Again after a node is replaced, and after any config change reached the nodes.
            triggers: [
                ...nodes.map((n) => n.containerId), views.controlplane.apply(digest), views.worker.apply(digest),
            ],
        }, { parent: this, dependsOn: [bootstrap, ...nodes, ...nodeConfigs, manifests] });
        this.ready = [ready];

        this.versions = pulumi.output(clusterVersions(spec));
        this.scheduling = pulumi.output(scheduling);
        // Certificates are public, and so is a hash of them: plain, for the next run to compare.
        this.secretsIdentity = pulumi.unsecret(secrets.bundle.apply((bundle) =>
            secretsIdentity(bundle, spec.importedSecrets === undefined ? "generated" : "file")));

        this.registerOutputs({
            kubeconfig: this.kubeconfig,
            talosconfig: this.talosconfig,
            talosSecrets: this.talosSecrets,
            machineConfigs: this.machineConfigs,
            nodes: this.nodes,
            endpoints: this.endpoints,
            versions: this.versions,
            secretsIdentity: this.secretsIdentity,
            scheduling: this.scheduling,
        });
    }

    /** A role's config as configView's JSON text (still secret here: made from the bundle). */
    private configViewText(config: pulumi.Output<string>, secrets: MachineSecrets): pulumi.Output<string> {
        return pulumi.all([config, secrets.bundle]).apply(([yaml, bundle]) => JSON.stringify(configView(yaml, bundle)));
    }

    /**
     * One config resource per node. Control planes one at a time, each after the one before: a
     * change that restarts its node must never restart every etcd member at once. Then the workers,
     * all at once. Each after the bootstrap, whose wait for the Talos API the apply goes through.
     * Deleted in the reverse order, each before its node's container, taking the node out of the
     * cluster first: the workers at once, then the control planes from the last, one at a time, so
     * that each leaves etcd while the others run. The first control plane has no removal: the
     * counts never remove it (a count is at least 1 and removes from the top), and it goes only
     * with the whole cluster.
     */
    private nodeConfigs(
        name: string,
        planned: NodePlan[],
        nodes: TalosNode[],
        shared: {
            configs: Record<MachineRole, pulumi.Output<string>>;
            views: Record<MachineRole, pulumi.Output<string>>;
            bootstrap: pulumi.Resource;
            spec: ClusterSpec;
        },
    ): pulumi.Resource[] {
        const controlPlanes: pulumi.Resource[] = [];
        const workers: pulumi.Resource[] = [];
        const configOf = (i: number, after: pulumi.Resource[]) => {
            const node = planned[i];
            return nodeConfigCommand(`${nodeName(name, node.role, node.index)}-config`, {
                node,
                talosconfig: this.talosconfig,
                kubeconfig: this.kubeconfig,
                machineConfig: shared.configs[node.role],
                configView: shared.views[node.role],
                containerId: nodes[i].containerId,
                timeout: shared.spec.timeouts.apply,
                removal: node.role === "controlplane" && node.index === 1 ? undefined : node.role,
            }, { parent: this, dependsOn: [nodes[i], shared.bootstrap, ...after] });
        };
        // planCluster lists the control planes first: every worker comes after all of them.
        planned.forEach((node, i) => {
            switch (node.role) {
                case "controlplane":
                    controlPlanes.push(configOf(i, controlPlanes.slice(-1)));
                    break;
                case "worker":
                    workers.push(configOf(i, controlPlanes));
                    break;
                default: {
                    const never: never = node.role;
                    throw new Error(`unknown role ${String(never)}`);
                }
            }
        });
        return [...controlPlanes, ...workers];
    }

    /**
     * One config per role, made from the input the stack-config parser checked the patches on
     * (there, the control planes take workloads as in a new cluster: without workers).
     */
    private machineConfig(
        role: MachineRole,
        spec: ClusterSpec,
        secrets: MachineSecrets,
        schedulable: boolean,
    ): pulumi.Output<string> {
        const input = machineConfigInput(spec, role, rolePatches(spec.configPatches, role), schedulable);
        return pulumi.secret(secrets.bundle.apply((bundle) => renderMachineConfig({ ...input, secrets: bundle })));
    }
}

function digest(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

function toBase64(text: string): string {
    return Buffer.from(text, "utf8").toString("base64");
}
