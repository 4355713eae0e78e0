// `wait`'s flags → the cluster it expects and what the cluster's config deploys. Every bad flag
// is a usage error naming the flag, the value and what is allowed, all at once.

import { DNS_LABEL } from "../../model/plan";
import { CNI_NAMES } from "../../talos/config/components";
import { CliError, ExitCode } from "../exitcodes";
import { countFlag, listFlag } from "../flags";
import { parseNodeRefs, SWITCH_VALUES, type NodeRef } from "../invocation";
import type { ExpectedCluster, ExpectedNode, NodeRole } from "../readiness/expected";
import type { ClusterProfile } from "../readiness/profile";

export interface WaitFlags {
    nodes?: string;
    "control-planes"?: string;
    workers?: string;
    containers?: string;
    cluster?: string;
    cni?: string;
    "kube-proxy"?: string;
    coredns?: string;
}

export interface WaitTarget {
    expected: ExpectedCluster;
    profile: ClusterProfile;
}

export function waitTarget(command: string, flags: WaitFlags): WaitTarget {
    const problems: string[] = [];
    const tryRead = <T>(read: () => T): T | undefined => {
        try {
            return read();
        } catch (err) {
            if (!(err instanceof CliError)) throw err;
            problems.push(err.message.replace(`${command}: `, ""));
            return undefined;
        }
    };
    const count = tryRead(() => countFlag(command, "nodes", flags.nodes));
    const nodes = [
        ...roleNodes(parseNodeRefs(listFlag(flags["control-planes"])), "controlplane"),
        ...roleNodes(parseNodeRefs(listFlag(flags.workers)), "worker"),
    ];
    const named = new Set(nodes.map((n) => n.name));
    // --containers: nodes known by name (and address) without a role, as by hand.
    for (const ref of parseNodeRefs(listFlag(flags.containers))) {
        if (named.has(ref.container)) continue;
        nodes.push(ref.ip === undefined ? { name: ref.container } : { name: ref.container, ip: ref.ip });
    }
    const profile: ClusterProfile = {};
    const cni = oneOf(flags.cni, CNI_NAMES, "cni", problems);
    if (cni !== undefined) profile.cni = cni;
    const kubeProxy = switchFlag(flags["kube-proxy"], "kube-proxy", problems);
    if (kubeProxy !== undefined) profile.kubeProxy = kubeProxy;
    const coreDns = switchFlag(flags.coredns, "coredns", problems);
    if (coreDns !== undefined) profile.coreDns = coreDns;
    const roled = nodes.filter((n) => n.role !== undefined).length;
    if (count === undefined && flags.nodes === undefined && roled === 0) {
        problems.push("--nodes N is required (the number of nodes the cluster has), "
            + "unless --control-planes/--workers list them");
    }
    if (count !== undefined && roled > 0 && count !== roled) {
        problems.push(`--nodes ${count} does not match the ${roled} nodes --control-planes and --workers list`);
    }
    if (flags.cluster !== undefined && !DNS_LABEL.test(flags.cluster)) {
        problems.push(`--cluster "${flags.cluster}" is not a cluster name (a DNS label, as clusterName is)`);
    }
    if (problems.length > 0) throw new CliError(ExitCode.USAGE, `${command}: ${problems.join("; ")}`);
    const expected: ExpectedCluster = { count: count ?? roled, nodes };
    if (flags.cluster !== undefined) expected.clusterName = flags.cluster;
    return { expected, profile };
}

function roleNodes(refs: NodeRef[], role: NodeRole): ExpectedNode[] {
    return refs.map((r) => (r.ip === undefined ? { name: r.container, role } : { name: r.container, ip: r.ip, role }));
}

function oneOf<T extends string>(
    value: string | undefined,
    allowed: readonly T[],
    flag: string,
    problems: string[],
): T | undefined {
    if (value === undefined) return undefined;
    const found = allowed.find((a) => a === value);
    if (found === undefined) problems.push(`--${flag} "${value}" is not one of ${allowed.join(", ")}`);
    return found;
}

function switchFlag(value: string | undefined, flag: string, problems: string[]): boolean | undefined {
    if (value === undefined) return undefined;
    if (value === "on" || value === "off") return SWITCH_VALUES[value];
    problems.push(`--${flag} "${value}" is not on or off`);
    return undefined;
}

