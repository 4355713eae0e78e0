// What machined checks of a config at boot in a container, applied to the config after the user's
// patches: a patch that breaks these passes every schema check and then the node never starts.
// talos@v1.8.3 (and v1.9.5 … v1.13.9):pkg/machinery/config/types/v1alpha1/v1alpha1_validation.go
// `Validate`, under `mode.InContainer()`; v1.13.9 adds the every-mode rule that forwarding needs
// hostDNS enabled, which the first rule here already implies in a container.

import { isPlainObject } from "../yaml";

/** One rule a config breaks: Talos' own message, and the dotted field it names. */
export interface ContainerModeProblem {
    message: string;
    field: string;
}

/** The v1alpha1 document: the one without a `kind` (the others are typed documents). */
export function v1alpha1Document(documents: readonly unknown[]): Record<string, unknown> | undefined {
    return documents.find((d): d is Record<string, unknown> => isPlainObject(d) && d.kind === undefined && "machine" in d);
}

/** The value at `path` of nested mappings, or undefined where one is missing or not a mapping. */
export function valueAt(root: unknown, path: readonly string[]): unknown {
    let node = root;
    for (const key of path) {
        if (!isPlainObject(node)) return undefined;
        node = node[key];
    }
    return node;
}

export function containerModeProblems(documents: readonly unknown[]): ContainerModeProblem[] {
    const config = v1alpha1Document(documents);
    const hostDNS = valueAt(config, ["machine", "features", "hostDNS"]);
    const problems: ContainerModeProblem[] = [];
    if (valueAt(hostDNS, ["enabled"]) !== true) {
        problems.push({
            message: "feature HostDNS should be enabled in container mode (.machine.features.hostDNS.enabled)",
            field: "machine.features.hostDNS.enabled",
        });
    }
    if (valueAt(hostDNS, ["forwardKubeDNSToHost"]) !== true) {
        problems.push({
            message: "feature HostDNS should forward kube-dns to host in container mode " +
                "(.machine.features.hostDNS.forwardKubeDNSToHost)",
            field: "machine.features.hostDNS.forwardKubeDNSToHost",
        });
    }
    return problems;
}

/**
 * The cluster's pod and service networks as the config sets them (`cluster.network.podSubnets`,
 * `.serviceSubnets`), else Talos' defaults (pkg/machinery/constants DefaultIPv4PodNet,
 * DefaultIPv4ServiceNet), so a node subnet can be checked against what the cluster will route.
 */
export const DEFAULT_POD_SUBNETS: readonly string[] = ["10.244.0.0/16"];
export const DEFAULT_SERVICE_SUBNETS: readonly string[] = ["10.96.0.0/12"];

export function clusterSubnets(documents: readonly unknown[]): { pods: string[]; services: string[] } {
    const network = valueAt(v1alpha1Document(documents), ["cluster", "network"]);
    const list = (value: unknown, fallback: readonly string[]) =>
        Array.isArray(value) && value.length > 0 ? value.filter((v): v is string => typeof v === "string") : [...fallback];
    return {
        pods: list(valueAt(network, ["podSubnets"]), DEFAULT_POD_SUBNETS),
        services: list(valueAt(network, ["serviceSubnets"]), DEFAULT_SERVICE_SUBNETS),
    };
}
