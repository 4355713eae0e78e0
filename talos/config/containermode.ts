// What machined checks of a config at boot in a container, applied to the config after the user's
// patches: a patch that breaks these passes every schema check and then the node never starts.
// talos@v1.8.3 (and v1.9.5 … v1.13.9):pkg/machinery/config/types/v1alpha1/v1alpha1_validation.go
// `Validate`, under `mode.InContainer()`; v1.13.9 adds the every-mode rule that forwarding needs
// hostDNS enabled, which the first rule here already implies in a container. v1.14 moves the
// rule to the config container, where host DNS may come from a ResolverConfig document.

import type { HostDnsStyle } from "../versions";
import { isPlainObject } from "../yaml";
import { POD_SUBNETS, SERVICE_SUBNETS } from "./defaults";
import { hostDnsInV1alpha1 } from "./styles";

/** One rule a config breaks: Talos' own message, and the dotted field it names. */
export interface ContainerModeProblem {
    message: string;
    field: string;
}

/** The v1alpha1 document: the one without a `kind` (the others are typed documents). */
export function v1alpha1Document(documents: readonly unknown[]): Record<string, unknown> | undefined {
    return documents.find((d): d is Record<string, unknown> => isPlainObject(d) && d.kind === undefined && "machine" in d);
}

function at(root: unknown, path: readonly string[]): unknown {
    let node = root;
    for (const key of path) {
        if (!isPlainObject(node)) return undefined;
        node = node[key];
    }
    return node;
}

export function containerModeProblems(documents: readonly unknown[], style: HostDnsStyle): ContainerModeProblem[] {
    return hostDnsInV1alpha1(style) ? v1alpha1HostDnsProblems(documents) : hostDnsDocumentProblems(documents);
}

function v1alpha1HostDnsProblems(documents: readonly unknown[]): ContainerModeProblem[] {
    const config = v1alpha1Document(documents);
    const hostDNS = at(config, ["machine", "features", "hostDNS"]);
    const problems: ContainerModeProblem[] = [];
    if (at(hostDNS, ["enabled"]) !== true) {
        problems.push({
            message: "feature HostDNS should be enabled in container mode (.machine.features.hostDNS.enabled)",
            field: "machine.features.hostDNS.enabled",
        });
    }
    if (at(hostDNS, ["forwardKubeDNSToHost"]) !== true) {
        problems.push({
            message: "feature HostDNS should forward kube-dns to host in container mode " +
                "(.machine.features.hostDNS.forwardKubeDNSToHost)",
            field: "machine.features.hostDNS.forwardKubeDNSToHost",
        });
    }
    return problems;
}

/**
 * From v1.14 the rule is the config container's (talos@v1.14.1:pkg/machinery/config/container/
 * validate.go `validateContainer`), on the host DNS config it picks (container.go
 * `NetworkHostDNSConfig`): the first ResolverConfig document's `hostDNS` when it is enabled, else
 * `machine.features.hostDNS` of the v1alpha1 document, else none.
 */
function hostDnsDocumentProblems(documents: readonly unknown[]): ContainerModeProblem[] {
    const resolver = documents.find((d) => isPlainObject(d) && d.kind === "ResolverConfig");
    const fromDocument = at(resolver, ["hostDNS"]);
    const legacy = at(v1alpha1Document(documents), ["machine", "features", "hostDNS"]);
    const useDocument = at(fromDocument, ["enabled"]) === true;
    const hostDNS = useDocument ? fromDocument : legacy;
    const field = useDocument || legacy === undefined ? "ResolverConfig.hostDNS" : "machine.features.hostDNS";
    if (!isPlainObject(hostDNS)) {
        return [{ message: "hostDNS config is required in container mode", field: `${field}.enabled` }];
    }
    const problems: ContainerModeProblem[] = [];
    if (hostDNS.enabled !== true) {
        problems.push({ message: "hostDNS must be enabled in container mode", field: `${field}.enabled` });
    }
    if (hostDNS.forwardKubeDNSToHost !== true) {
        problems.push({
            message: "forwardKubeDNSToHost must be enabled in container mode",
            field: `${field}.forwardKubeDNSToHost`,
        });
    }
    return problems;
}

/**
 * The cluster's pod and service networks as the config sets them (the KubeNetworkConfig
 * document's `podSubnets`, `serviceSubnets` when there is one, as machinery reads them from v1.14:
 * container.go `K8sNetworkConfig`; else `cluster.network`), else Talos' defaults, so a node subnet
 * can be checked against what the cluster will route.
 */
export function clusterSubnets(documents: readonly unknown[]): { pods: string[]; services: string[] } {
    const kubeNetwork = documents.find((d) => isPlainObject(d) && d.kind === "KubeNetworkConfig");
    const network = kubeNetwork ?? at(v1alpha1Document(documents), ["cluster", "network"]);
    const list = (value: unknown, fallback: readonly string[]) =>
        Array.isArray(value) && value.length > 0 ? value.filter((v): v is string => typeof v === "string") : [...fallback];
    return {
        pods: list(at(network, ["podSubnets"]), POD_SUBNETS),
        services: list(at(network, ["serviceSubnets"]), SERVICE_SUBNETS),
    };
}
