// A Kubernetes version change on a running node, in the order `talosctl upgrade-k8s` makes it
// (talos@v1.8.3 and v1.13.9:pkg/cluster/kubernetes/talos_managed.go `Upgrade`): kube-apiserver,
// then kube-controller-manager, then kube-scheduler (the control plane's static pods), then the
// kube-proxy image (control-plane configs only; its DaemonSet is updated with the manifests), then
// the kubelet (every node). Each step patches the v1alpha1 document of the config the node runs
// and applies it in NO_REBOOT mode (pkg/cluster/kubernetes/patch.go `patchNodeConfig`), so every
// step is a config of its own: the running config with the images up to that step set to the new
// ones. Up to v1.13 the v1alpha1 document holds these fields; from v1.14 each component's own
// document (read at v1.14.0-rc.1: the same order, stdpatches for the edit). The other documents
// are kept as they are.

import { isMap, type Document } from "yaml";

import { editTalosYamlDocuments, isPlainObject, parseYamlDocuments } from "./yaml";

/** A component whose image upgrade-k8s moves, in its order. */
export type KubernetesComponent = "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kube-proxy" | "kubelet";

/**
 * Where each component's image is, in upgrade-k8s' order: up to v1.13 in the v1alpha1 document
 * (v1alpha1_types.go YAML keys), from v1.14 the `image` of a document of its own
 * (talos@v1.14.1:pkg/machinery/config/generate/stdpatches/stdpatches.go `WithKube…Image`, which
 * upgrade-k8s uses and which picks the document when the config has one, guess.go).
 */
export interface ImageField {
    component: KubernetesComponent;
    /** up to v1.13: in the v1alpha1 document */
    path: readonly string[];
    /** from v1.14: the document whose `image` it is */
    kind: string;
}

export const KUBERNETES_IMAGE_FIELDS: readonly ImageField[] = [
    { component: "kube-apiserver", path: ["cluster", "apiServer", "image"], kind: "KubeAPIServerConfig" },
    {
        component: "kube-controller-manager",
        path: ["cluster", "controllerManager", "image"],
        kind: "KubeControllerManagerConfig",
    },
    { component: "kube-scheduler", path: ["cluster", "scheduler", "image"], kind: "KubeSchedulerConfig" },
    { component: "kube-proxy", path: ["cluster", "proxy", "image"], kind: "KubeProxyConfig" },
    { component: "kubelet", path: ["machine", "kubelet", "image"], kind: "KubeletConfig" },
];

/** One step: the config to send, which sets `component`'s image to `image`. */
export interface KubernetesStep {
    component: KubernetesComponent;
    /** the image the step sets (a public reference, e.g. registry.k8s.io/kube-apiserver:v1.31.2) */
    image: string;
    /** the whole config text of the step: a secret, like every config */
    config: string;
}

/**
 * The steps from config text `current` to `next` for the component images that differ, in
 * upgrade-k8s' order; [] when none does. An image `next` does not set is not a step (the last,
 * full apply removes it). The caller applies `next` itself after the steps: it may change more.
 */
export function kubernetesUpgradeSteps(current: string, next: string): KubernetesStep[] {
    const before = documentsOf(current);
    const after = documentsOf(next);
    if (before === undefined || after === undefined) return [];
    const steps: KubernetesStep[] = [];
    let config = current;
    for (const field of KUBERNETES_IMAGE_FIELDS) {
        const image = imageIn(after, field);
        if (typeof image !== "string" || image === imageIn(before, field)) continue;
        const inDocument = before.some((d) => d.kind === field.kind);
        config = editTalosYamlDocuments(config, (documents) => {
            const isTarget = (d: Document.Parsed) => (inDocument ? d.get("kind") === field.kind : !d.has("kind"));
            const doc = documents.find((d) => isMap(d.contents) && isTarget(d));
            if (doc !== undefined) setPath(doc, inDocument ? ["image"] : field.path, image);
        });
        steps.push({ component: field.component, image, config });
    }
    return steps;
}

/** The component's image: its document's when the config has one, else the v1alpha1 field. */
function imageIn(documents: readonly Record<string, unknown>[], field: ImageField): unknown {
    const own = documents.find((d) => d.kind === field.kind);
    if (own !== undefined) return own.image;
    const v1alpha1 = documents.find((d) => d.kind === undefined);
    return v1alpha1 === undefined ? undefined : valueAt(v1alpha1, field.path);
}

/** The version an image's tag names ("v1.31.2" of registry.k8s.io/kube-apiserver:v1.31.2), or the whole reference. */
export function imageVersion(image: string): string {
    const name = image.split("@")[0];
    const colon = name.lastIndexOf(":");
    return colon > name.lastIndexOf("/") ? name.slice(colon + 1) : image;
}

/** The documents of a config text when it has a v1alpha1 one (the one without `kind`), else undefined. */
function documentsOf(text: string): Record<string, unknown>[] | undefined {
    const { documents, problems } = parseYamlDocuments(text);
    if (problems.length > 0) return undefined;
    const maps = documents.filter((doc): doc is Record<string, unknown> => isPlainObject(doc));
    return maps.some((doc) => doc.kind === undefined) ? maps : undefined;
}

/** Sets `path` to `value`, making each map on the way that is missing or not a map (a null). */
function setPath(doc: Document.Parsed, path: readonly string[], value: string): void {
    for (let i = 1; i < path.length; i++) {
        const prefix = path.slice(0, i);
        if (!isMap(doc.getIn(prefix, true))) doc.setIn(prefix, doc.createNode({}));
    }
    doc.setIn(path, value);
}

function valueAt(tree: Record<string, unknown>, path: readonly string[]): unknown {
    let node: unknown = tree;
    for (const key of path) {
        if (!isPlainObject(node)) return undefined;
        node = node[key];
    }
    return node;
}
