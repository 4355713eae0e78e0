// TalosCluster: wires the graph of docs/design.md — secrets and network, then every node in
// parallel, then bootstrap and readiness — and exports the client configs.
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../model/config";
import { clusterLabels } from "../model/dockerlabels";
import { machineConfigInput, rolePatches } from "../model/machineinput";
import { nodeName, planCluster } from "../model/plan";
import { renderKubeconfig, renderTalosconfig } from "../talos/clientconfig";
import { MachineRole, renderMachineConfig } from "../talos/machineconfig";
import { renderSecretsYaml } from "../talos/secretsfile";
import { bootstrapCommand, readyCommand } from "./clicommands";
import { TalosNetwork } from "./network";
import { TalosNode } from "./node";
import { MachineSecrets } from "./secrets";

export interface TalosClusterArgs {
    /** The validated stack config (model/config.ts): sizes, versions, network, ports, patches. */
    spec: ClusterSpec;
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
    /**
     * What a consumer of the Kubernetes API must wait for: the readiness command, which itself
     * waits for the bootstrap and every node. The Kubernetes provider depends on it.
     */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: TalosClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("talos-docker:index:TalosCluster", name, {}, opts);
        const { spec } = args;
        const plan = planCluster(spec);
        const parent = { parent: this };

        const secrets = new MachineSecrets(`${name}-secrets`, { imported: spec.importedSecrets?.bundle }, parent);
        const network = new TalosNetwork(`${name}-network`, {
            ...spec.network,
            labels: clusterLabels(spec.clusterName),
        }, parent);

        const configs = {
            controlplane: this.machineConfig("controlplane", spec, secrets),
            worker: this.machineConfig("worker", spec, secrets),
        };
        const userData = {
            controlplane: pulumi.secret(configs.controlplane.apply(toBase64)),
            worker: pulumi.secret(configs.worker.apply(toBase64)),
        };

        const nodes = plan.nodes.map((node) => new TalosNode(nodeName(name, node.role, node.index), {
            node,
            image: spec.image,
            networkName: network.networkName,
            userData: userData[node.role],
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
        const ready = readyCommand(`${name}-ready`, {
            kubeconfig: this.kubeconfig,
            timeout: spec.timeouts.ready,
            nodes: plan.nodes,
            triggers: nodes.map((n) => n.containerId),
        }, { parent: this, dependsOn: [bootstrap, ...nodes] });
        this.ready = [ready];

        this.registerOutputs({
            kubeconfig: this.kubeconfig,
            talosconfig: this.talosconfig,
            talosSecrets: this.talosSecrets,
            machineConfigs: this.machineConfigs,
            nodes: this.nodes,
            endpoints: this.endpoints,
        });
    }

    /** One config per role, made from the input the stack-config parser checked the patches on. */
    private machineConfig(role: MachineRole, spec: ClusterSpec, secrets: MachineSecrets): pulumi.Output<string> {
        const input = machineConfigInput(spec, role, rolePatches(spec.configPatches, role));
        return pulumi.secret(secrets.bundle.apply((bundle) => renderMachineConfig({ ...input, secrets: bundle })));
    }
}

function toBase64(text: string): string {
    return Buffer.from(text, "utf8").toString("base64");
}
