// Client configs made locally from PEM text: talosconfig (talos@v1.8.3:pkg/machinery/client/config/config.go,
// the yaml.v3 encoding of `Config`/`Context`) and the admin kubeconfig
// (talos@v1.8.3:pkg/kubeconfig/generate.go `Generate`, written by client-go's clientcmd.Write).
// The client certificates are made elsewhere (talos/pki.ts says how).

import { base64Pem, toTalosEd25519Pem } from "./pem";
import { toKubernetesYaml, toTalosYaml } from "./yaml";

export interface TalosconfigInput {
    /** the context name; talosctl uses the cluster name */
    contextName: string;
    /** host:port of apid, e.g. 127.0.0.1:50000 */
    endpoints: string[];
    /** default target nodes; omitted from the file when empty */
    nodes?: string[];
    /** PEM text: the OS CA certificate */
    ca: string;
    /** PEM text: the client certificate (O=os:admin, signed by the OS CA) */
    crt: string;
    /** PEM text: the client key; an Ed25519 PKCS#8 key is written with the `ED25519 PRIVATE KEY` label, as talosctl writes it */
    key: string;
}

export function renderTalosconfig(input: TalosconfigInput): string {
    const context: Record<string, unknown> = { endpoints: [...input.endpoints] };
    if (input.nodes !== undefined && input.nodes.length > 0) {
        context.nodes = [...input.nodes]; // omitempty
    }
    context.ca = base64Pem(input.ca);
    context.crt = base64Pem(input.crt);
    context.key = base64Pem(toTalosEd25519Pem(input.key));
    return toTalosYaml({ context: input.contextName, contexts: { [input.contextName]: context } });
}

export interface KubeconfigInput {
    clusterName: string;
    /** e.g. https://127.0.0.1:6444 (the host's mapped port, not the in-network endpoint) */
    server: string;
    /** PEM text: the Kubernetes CA certificate */
    ca: string;
    /** PEM text: the admin client certificate (CN=admin, O=system:masters) */
    crt: string;
    /** PEM text: its key */
    key: string;
}

/** The admin kubeconfig: cluster NAME, user and context admin@NAME, namespace default, current-context admin@NAME. */
export function renderKubeconfig(input: KubeconfigInput): string {
    const name = input.clusterName;
    const admin = `admin@${name}`;
    // clientcmd writes through JSON, so keys come out sorted; `preferences: {}` is always there.
    return toKubernetesYaml({
        apiVersion: "v1",
        clusters: [{ cluster: { "certificate-authority-data": base64Pem(input.ca), server: input.server }, name }],
        contexts: [{ context: { cluster: name, namespace: "default", user: admin }, name: admin }],
        "current-context": admin,
        kind: "Config",
        preferences: {},
        users: [
            { name: admin, user: { "client-certificate-data": base64Pem(input.crt), "client-key-data": base64Pem(input.key) } },
        ],
    });
}
