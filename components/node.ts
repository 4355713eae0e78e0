// TalosNode: one Talos machine as a Docker container with its named volumes, made as Talos' Docker
// provisioner makes it (talos@v1.8.3:pkg/provision/providers/docker/node.go). The machine config
// rides in the environment (USERDATA), so the node boots configured: no maintenance mode.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { toDockerLabels } from "../model/dockerlabels";
import { NodePlan, volumeName } from "../model/plan";

export interface TalosNodeArgs {
    /** The node's name, role, address, size, ports, volumes and labels, from planCluster. */
    node: NodePlan;
    /** The Talos image, e.g. ghcr.io/siderolabs/talos:v1.8.3. */
    image: string;
    /** The Docker network to attach to, with the node's static address on it. */
    networkName: pulumi.Input<string>;
    /** The machine config as base64 of its YAML: a secret, and so is the container's environment. */
    userData: pulumi.Input<string>;
}

export class TalosNode extends pulumi.ComponentResource {
    public readonly containerName: pulumi.Output<string>;
    public readonly containerId: pulumi.Output<string>;
    public readonly ip: pulumi.Output<string>;

    constructor(name: string, args: TalosNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("talos-docker:index:TalosNode", name, {}, opts);
        const { node } = args;
        const labels = toDockerLabels(node.labels);

        const volumes = node.volumes.map((v) => ({
            containerPath: v.containerPath,
            volume: new docker.Volume(volumeName(name, v.containerPath), { name: v.name, labels }, { parent: this }),
        }));

        const container = new docker.Container(`${name}-container`, {
            name: node.name,
            hostname: node.name,
            image: args.image,
            envs: [
                "PLATFORM=container",
                // Talos reads the SKU as whole CPUs and MiB, as its provisioner writes it.
                `TALOSSKU=${Math.floor(node.cpus)}CPU-${node.memoryMiB}RAM`,
                pulumi.secret(pulumi.interpolate`USERDATA=${args.userData}`),
            ],
            labels,
            privileged: true,
            securityOpts: ["seccomp=unconfined"],
            readOnly: true,
            tmpfs: { "/run": "rw", "/system": "rw", "/tmp": "rw" },
            sysctls: { "net.ipv6.conf.all.disable_ipv6": "0" },
            cpus: String(node.cpus),
            // The provider's `memory` is in MiB (it multiplies by 1024*1024).
            memory: node.memoryMiB,
            networksAdvanced: [{ name: args.networkName, ipv4Address: node.ip }],
            ports: node.ports.map((p) => ({ internal: p.container, external: p.host, ip: p.bindAddress, protocol: "tcp" })),
            volumes: volumes.map((v) => ({ volumeName: v.volume.name, containerPath: v.containerPath })),
            // Talos boots in the foreground; a container that exits is a failed node, not a done job.
            mustRun: true,
            // Talos shuts down cleanly on SIGTERM within this time (etcd leave, kubelet stop).
            destroyGraceSeconds: 60,
        }, { parent: this });

        this.containerName = container.name;
        this.containerId = container.id;
        this.ip = pulumi.output(node.ip);
        this.registerOutputs({ containerName: this.containerName, containerId: this.containerId, ip: this.ip });
    }
}
