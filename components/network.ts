// TalosNetwork: the cluster's Docker bridge network, as Talos' Docker provisioner makes it
// (talos@v1.8.3:pkg/provision/providers/docker/network.go): fixed subnet, gateway, MTU, labels.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { toDockerLabels } from "../model/dockerlabels";

export interface TalosNetworkArgs {
    /** Docker network name (default from config: `talos-net`). */
    name: string;
    /** IPv4 CIDR the nodes get static addresses from, e.g. `172.30.0.0/24`. */
    subnet: string;
    /** The bridge's address: the subnet's first host address unless the stack sets one. */
    gateway: string;
    /** Bridge MTU, passed to the driver as `com.docker.network.driver.mtu`. */
    mtu: number;
    /** Labels that let talosctl and our CLI find the network (`talos.owned`, `talos.cluster.name`). */
    labels: Record<string, string>;
}

export class TalosNetwork extends pulumi.ComponentResource {
    public readonly networkName: pulumi.Output<string>;
    public readonly networkId: pulumi.Output<string>;

    constructor(name: string, args: TalosNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("talos-docker:index:TalosNetwork", name, {}, opts);
        const network = new docker.Network(`${name}-bridge`, {
            name: args.name,
            driver: "bridge",
            ipamConfigs: [{ subnet: args.subnet, gateway: args.gateway }],
            options: { "com.docker.network.driver.mtu": String(args.mtu) },
            labels: toDockerLabels(args.labels),
        }, { parent: this });
        this.networkName = network.name;
        this.networkId = network.id;
        this.registerOutputs({ networkName: this.networkName, networkId: this.networkId });
    }
}
