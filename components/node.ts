// TalosNode: one Talos machine as a Docker container with its named volumes, made as Talos' Docker
// provisioner makes it (talos@v1.8.3:pkg/provision/providers/docker/node.go; the volume set is the
// one of the node's Talos minor, decided in the plan: talos/versions.ts nodeVolumePaths). The machine config
// rides in the environment (USERDATA), so the node boots configured: no maintenance mode. Later
// changes of the config reach it through the Talos API, never through the container.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { declaredCpus } from "../model/dockercpus";
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
    /** What the container must wait for besides its volumes (the registry caches on its network); none by default. */
    after?: pulumi.Resource[];
}

export class TalosNode extends pulumi.ComponentResource {
    public readonly containerName: pulumi.Output<string>;
    public readonly containerId: pulumi.Output<string>;
    public readonly ip: pulumi.Output<string>;

    constructor(name: string, args: TalosNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("talos-docker:index:TalosNode", name, {}, opts);
        const { node } = args;
        const labels = toDockerLabels(node.labels);
        const cpus = declaredCpus(node.cpus);
        if (cpus === undefined) {
            throw new Error(`${node.name}: ${node.cpus} CPUs has no stable declaration (the stack config refuses it)`);
        }

        const volumes = node.volumes.map((v) => ({
            containerPath: v.containerPath,
            volume: new docker.Volume(volumeName(name, v.containerPath), { name: v.name, labels }, {
                parent: this,
                // A volume's labels are ForceNew, and its replacement is create-then-delete under the
                // same name: Docker hands the create the existing volume and the delete then removes
                // it, data and all (terraform-provider-docker@v4.5.0 resource_docker_volume.go). The
                // labels never change for a node's name; this keeps a future change from costing data.
                ignoreChanges: ["labels"],
            }),
        }));

        // Every input is declared as the provider reads it back from Docker
        // (terraform-provider-docker@v4.5.0:internal/provider/resource_docker_container_funcs.go
        // resourceDockerContainerRead): its Create ends with a Read, so the state holds what Docker
        // says, and any input that differs from it is a diff on the next `pulumi up` (most of them
        // ForceNew, replacing the node). Inputs left out are Computed or read back as their default.
        const container = new docker.Container(`${name}-container`, {
            name: node.name,
            hostname: node.name,
            image: args.image,
            // The whole list is one secret: the engine marks an output secret only when the input of
            // the same name was wholly secret, and the provider's `envs` output would otherwise keep
            // USERDATA in the state in clear.
            envs: pulumi.secret(pulumi.all([
                "PLATFORM=container",
                // Talos reads the SKU as whole CPUs and MiB, as its provisioner writes it.
                `TALOSSKU=${Math.floor(node.cpus)}CPU-${node.memoryMiB}RAM`,
                pulumi.interpolate`USERDATA=${args.userData}`,
            ])),
            labels,
            privileged: true,
            // Docker adds label=disable to a privileged container's options unless one is given
            // (moby@v28.2.2:daemon/create.go generateSecurityOpt), and the list is ForceNew.
            securityOpts: ["seccomp=unconfined", "label=disable"],
            readOnly: true,
            tmpfs: { "/run": "rw", "/system": "rw", "/tmp": "rw" },
            sysctls: { "net.ipv6.conf.all.disable_ipv6": "0" },
            // In the provider's decimal format ("2.0"): the string is ForceNew (model/dockercpus.ts).
            cpus,
            // The provider's `memory` is in MiB (it multiplies by 1024*1024).
            memory: node.memoryMiB,
            // Left unset, Docker stores twice the memory where it can limit swap and -1 where it
            // cannot (moby@v28.2.2:daemon/daemon_unix.go verifyPlatformContainerResources,
            // adaptContainerSettings), and the unset input is then an update. -1 is the one
            // value every engine stores as given; it is also what Docker itself runs with where it
            // cannot limit swap. The node's RAM stays bounded by `memory`.
            memorySwap: -1,
            networksAdvanced: [{ name: args.networkName, ipv4Address: node.ip }],
            ports: node.ports.map((p) => ({ internal: p.container, external: p.host, ip: p.bindAddress, protocol: "tcp" })),
            volumes: volumes.map((v) => ({ volumeName: v.volume.name, containerPath: v.containerPath })),
            // Talos boots in the foreground; a container that exits is a failed node, not a done job.
            mustRun: true,
            // Back after a Docker Engine restart, and after a config apply that reboots the node:
            // machined's reboot ends the container (reboot(2) in a PID namespace), and it boots again
            // from its config in STATE (/system/state). A change is applied in place (ContainerUpdate).
            restart: "unless-stopped",
            // SIGTERM starts machined's shutdown sequence; Talos' own provisioner gives it 30 s before
            // the kill (talos@v1.14.1:pkg/provision/providers/docker/node.go nodeStopTimeoutSeconds).
            destroyGraceSeconds: 30,
        }, {
            parent: this,
            dependsOn: args.after ?? [],
            additionalSecretOutputs: ["envs"],
            // USERDATA is the first boot's config only: Talos then loads its config from STATE on
            // every boot, so a config change is applied through the Talos API (the node's config
            // resource, components/clicommands.ts), not by recreating the container. A container
            // replaced for another reason (a new image, other CPUs) is created with the envs it had,
            // TALOSSKU included.
            ignoreChanges: ["envs"],
        });

        this.containerName = container.name;
        this.containerId = container.id;
        this.ip = pulumi.output(node.ip);
        this.registerOutputs({ containerName: this.containerName, containerId: this.containerId, ip: this.ip });
    }
}
