// Settings a v1.14 config may not make twice: in a typed document and in the v1alpha1 document
// it replaces. Machinery refuses such a config (the documents' `V1Alpha1ConflictValidate`,
// talos@v1.14.1:pkg/machinery/config/types/{k8s,cluster,network,block,cri}/*.go, run by
// config/container/validate.go), so a node never boots with it. From v1.14 our configs carry the
// Kube…Config documents, so a patch written for the v1alpha1 fields of an older minor
// (`machine.kubelet`, `machine.nodeLabels`, `cluster.apiServer`, …) lands here. The rules are read
// at v1.14.1 only; older minors are not checked for them.

import type { KubernetesConfigStyle } from "../versions";
import { isPlainObject } from "../yaml";
import { v1alpha1Document } from "./containermode";
import { kubernetesInV1alpha1 } from "./styles";

/** One rule a config breaks: Talos' own message, and the v1alpha1 field it names. */
export interface ConflictProblem {
    message: string;
    field: string;
}

type Tree = Record<string, unknown>;

interface Rule {
    /** the typed document's kind */
    kind: string;
    /** the v1alpha1 field that may not be set next to it (dotted) */
    field: string;
    message: string;
    /** whether the v1alpha1 document sets it; default: the field is present and not null */
    isSet?: (v1alpha1: Tree, doc: Tree) => boolean;
}

function at(root: unknown, path: string): unknown {
    let node = root;
    for (const key of path.split(".")) {
        if (!isPlainObject(node)) return undefined;
        node = node[key];
    }
    return node;
}

const present = (value: unknown) => value !== undefined && value !== null;
const nonEmpty = (value: unknown) => typeof value === "string" && value !== "";
const nonEmptyList = (value: unknown) => Array.isArray(value) && value.length > 0;
const nonEmptyMap = (value: unknown) => isPlainObject(value) && Object.keys(value).length > 0;

const ADMISSION = "admission control plugin config is already set in v1alpha1 config";

/** In the order machinery validates each document's fields. */
const RULES: readonly Rule[] = [
    {
        kind: "KubeletConfig",
        field: "machine.kubelet",
        message: "kubelet config is already set in v1alpha1 config (.machine.kubelet)",
    },
    {
        kind: "KubeCredentialProviderConfig",
        field: "machine.kubelet",
        message: "cannot use KubeCredentialProviderConfig with legacy kubelet configuration (.machine.kubelet)",
    },
    {
        kind: "KubeNodeConfig",
        field: "cluster.allowSchedulingOnControlPlanes",
        message: ".cluster.allowSchedulingOnControlPlanes is already set in v1alpha1 config",
    },
    {
        kind: "KubeNodeConfig",
        field: "cluster.allowSchedulingOnMasters",
        message: ".cluster.allowSchedulingOnMasters is already set in v1alpha1 config",
    },
    {
        kind: "KubeNodeConfig",
        field: "machine.kubelet.skipNodeRegistration",
        message: ".machine.kubelet.skipNodeRegistration is already set in v1alpha1 config",
    },
    {
        kind: "KubeNodeConfig",
        field: "machine.kubelet.registerWithFQDN",
        message: ".machine.kubelet.registerWithFQDN is already set in v1alpha1 config",
    },
    {
        kind: "KubeNodeConfig",
        field: "machine.kubelet.nodeIP",
        message: ".machine.kubelet.nodeIP is already set in v1alpha1 config",
    },
    {
        kind: "KubeNodeConfig",
        field: "machine.nodeLabels",
        message: ".machine.nodeLabels is already set in v1alpha1 config",
    },
    {
        kind: "KubeNodeConfig",
        field: "machine.nodeAnnotations",
        message: ".machine.nodeAnnotations is already set in v1alpha1 config",
    },
    {
        kind: "KubeNodeConfig",
        field: "machine.nodeTaints",
        message: ".machine.nodeTaints is already set in v1alpha1 config",
    },
    {
        kind: "KubeClusterConfig",
        field: "cluster.clusterName",
        message: "cluster name is already set in the v1alpha1 config (.cluster.clusterName). " +
            "Please remove it and use only the new KubeClusterConfig document to avoid conflicts",
        isSet: (v) => nonEmpty(at(v, "cluster.clusterName")),
    },
    {
        kind: "KubeClusterConfig",
        field: "cluster.controlPlane.endpoint",
        message: "cluster endpoint is already set in the v1alpha1 config (.cluster.controlPlane.endpoint). " +
            "Please remove it and use only the new KubeClusterConfig document to avoid conflicts",
    },
    {
        kind: "KubeNetworkConfig",
        field: "cluster.network",
        message: "cluster network config is already set in the v1alpha1 config (.machine.cluster.network). " +
            "Please remove it and use only the new KubeNetworkConfig document to avoid conflicts",
    },
    {
        kind: "KubeFlannelCNIConfig",
        field: "cluster.network",
        message: "cluster network config in v1alpha1 config (.machine.cluster.network) can't be used with " +
            "KubeFlannelCNIConfig document, please remove it to avoid conflicts",
    },
    {
        kind: "KubeProxyConfig",
        field: "cluster.proxy",
        message: "cluster proxy config in v1alpha1 config (.machine.cluster.proxy) can't be used with " +
            "KubeProxyConfig document, please remove it to avoid conflicts",
    },
    {
        kind: "KubeCoreDNSConfig",
        field: "cluster.coreDNS",
        message: "CoreDNS config is already set in v1alpha1 config (.cluster.coreDNS)",
    },
    {
        kind: "KubeAPIServerCAConfig",
        field: "cluster.ca",
        message: "kube-apiserver CA is already set in v1alpha1 config (.cluster.ca)",
    },
    {
        kind: "KubeAggregatorCAConfig",
        field: "cluster.aggregatorCA",
        message: "kube-apiserver aggregator CA is already set in v1alpha1 config (.cluster.aggregatorCA), " +
            "please remove it and use the new KubeAggregatorCAConfig document instead",
    },
    {
        kind: "KubeServiceAccountConfig",
        field: "cluster.serviceAccount",
        message: "service account is already set in v1alpha1 config (.cluster.serviceAccount)",
    },
    {
        kind: "KubeAPIServerConfig",
        field: "cluster.apiServer",
        message: "kube-apiserver config is already set in v1alpha1 config (.cluster.apiServer)",
    },
    {
        kind: "KubeAPIServerConfig",
        field: "cluster.controlPlane.localAPIServerPort",
        message: "kube-apiserver API port is already set in v1alpha1 config (.cluster.controlPlane.localAPIServerPort)",
        isSet: (v) => {
            const port = at(v, "cluster.controlPlane.localAPIServerPort");
            return present(port) && port !== 0;
        },
    },
    {
        kind: "KubeAdmissionControlConfig",
        field: "cluster.apiServer.admissionControl",
        message: ADMISSION,
        isSet: (v) => nonEmptyList(at(v, "cluster.apiServer.admissionControl")),
    },
    {
        kind: "KubeAuthorizerConfig",
        field: "cluster.apiServer.admissionControl",
        message: ADMISSION,
        isSet: (v) => nonEmptyList(at(v, "cluster.apiServer.admissionControl")),
    },
    {
        kind: "KubeAuditPolicyConfig",
        field: "cluster.apiServer.auditPolicy",
        message: "audit policy config is already set in v1alpha1 config",
        isSet: (v) => nonEmptyMap(at(v, "cluster.apiServer.auditPolicy")),
    },
    {
        kind: "KubeEtcdEncryptionConfig",
        field: "cluster.secretboxEncryptionSecret",
        message: "etcd encryption config is already set in v1alpha1 config",
        isSet: (v) =>
            nonEmpty(at(v, "cluster.secretboxEncryptionSecret")) || nonEmpty(at(v, "cluster.aescbcEncryptionSecret")),
    },
    {
        kind: "KubeControllerManagerConfig",
        field: "cluster.controllerManager",
        message: "kube-controller-manager config is already set in v1alpha1 config (.cluster.controllerManager)",
    },
    {
        kind: "KubeControllerManagerConfig",
        field: "machine.controlPlane.controllerManager",
        message: "kube-controller-manager config is already set in v1alpha1 config " +
            "(.machine.controlplane.controllerManager)",
    },
    {
        kind: "KubeSchedulerConfig",
        field: "cluster.scheduler",
        message: "kube-scheduler config is already set in v1alpha1 config (.cluster.scheduler)",
    },
    {
        kind: "KubeSchedulerConfig",
        field: "machine.controlPlane.scheduler",
        message: "kube-scheduler config is already set in v1alpha1 config (.machine.controlplane.scheduler)",
    },
    {
        kind: "KubePrismConfig",
        field: "machine.features.kubePrism",
        message: "KubePrism config in v1alpha1 config (.machine.features.kubePrism) can't be used with " +
            "KubePrismConfig document, please remove it to avoid conflicts",
    },
    {
        kind: "KubeTalosAPIAccessConfig",
        field: "machine.features.kubernetesTalosAPIAccess",
        message: ".machine.features.kubernetesTalosAPIAccess is already set in v1alpha1 config",
    },
    {
        kind: "HostnameConfig",
        field: "machine.network.hostname",
        message: "static hostname is already set in v1alpha1 config",
        isSet: (v) => nonEmpty(at(v, "machine.network.hostname")),
    },
    {
        kind: "HostnameConfig",
        field: "machine.features.stableHostname",
        message: "stable hostname is already set in v1alpha1 config",
        isSet: (v) => at(v, "machine.features.stableHostname") === true,
    },
    {
        kind: "DiscoveryServiceConfig",
        field: "cluster.discovery",
        message: "discovery service is already configured in .cluster.discovery of the v1alpha1 config",
    },
    {
        kind: "DiscoveryIdentityConfig",
        field: "cluster.id",
        message: "cluster identity is already configured in .cluster.id/.cluster.secret of the v1alpha1 config",
        isSet: (v) => nonEmpty(at(v, "cluster.id")) || nonEmpty(at(v, "cluster.secret")),
    },
    {
        kind: "ResolverConfig",
        field: "machine.network.searchDomains",
        message: ".machine.network.searchDomains is already set in v1alpha1 config",
    },
    {
        kind: "ResolverConfig",
        field: "machine.network.nameservers",
        message: ".machine.network.nameservers is already set in v1alpha1 config",
    },
    {
        kind: "ResolverConfig",
        field: "machine.network.disableSearchDomain",
        message: ".machine.network.disableSearchDomain is already set in v1alpha1 config",
        isSet: (v) => at(v, "machine.network.disableSearchDomain") === true,
    },
    {
        kind: "ResolverConfig",
        field: "machine.features.hostDNS",
        message: ".machine.features.hostDNS is already set in v1alpha1 config",
        // only when the document sets host DNS itself (network/resolver.go: `!value.IsZero(s.ResolverHostDNS)`)
        isSet: (v, doc) => nonEmptyMap(doc.hostDNS) && present(at(v, "machine.features.hostDNS")),
    },
];

/**
 * What machinery refuses of these documents for settings made twice, at a contract whose
 * Kubernetes settings are documents (v1.14); [] for the older ones, which are not checked.
 */
export function conflictProblems(documents: readonly unknown[], style: KubernetesConfigStyle): ConflictProblem[] {
    if (kubernetesInV1alpha1(style)) return [];
    const v1alpha1 = v1alpha1Document(documents);
    if (v1alpha1 === undefined) return [];
    const problems: ConflictProblem[] = [];
    for (const doc of documents) {
        if (!isPlainObject(doc) || typeof doc.kind !== "string") continue;
        for (const rule of RULES) {
            if (rule.kind !== doc.kind) continue;
            const isSet = rule.isSet ?? ((v: Tree) => present(at(v, rule.field)));
            if (isSet(v1alpha1, doc)) problems.push({ message: rule.message, field: rule.field });
        }
    }
    return problems;
}
