// `manifests`: after a Kubernetes version change, the bootstrap manifest Talos does not update
// itself (flow.ts says which and how).

import { DEFAULTS } from "../../model/config";
import { parseKubernetesVersion } from "../../talos/versions";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { CliError, ExitCode } from "../exitcodes";
import { durationFlag, parseFlags } from "../flags";
import { KUBECONFIG_ENV } from "../invocation";
import type { KubeApi } from "../kube/api";
import { readSecretInput } from "../secretinput";
import { FIELD_MANAGER, runManifests } from "./flow";

const NAME = "manifests";

/** One Kubernetes API request at most. */
const REQUEST_TIMEOUT_MS = 5_000;

export const manifestsCommand: Command = {
    name: NAME,
    summary: "after a Kubernetes version change: set the kube-proxy DaemonSet's image, as talosctl upgrade-k8s does",
    usage: `Usage: manifests --kubernetes-version X.Y.Z [flags]

Talos creates its bootstrap manifests once and never updates them; talosctl upgrade-k8s syncs
them last. For a version change the one that changes is kube-system/kube-proxy: this sets its
kube-proxy container to the image Talos renders for the version (a strategic merge patch of that
field alone, field manager ${FIELD_MANAGER}) and waits for the rollout. Without a kube-proxy
DaemonSet (kube-proxy disabled) there is nothing to do.

Flags:
  --kubernetes-version X.Y.Z  the version the cluster now runs (required; no leading v)
  --kubeconfig FILE      read the kubeconfig from FILE (default: the ${KUBECONFIG_ENV} variable)
  --timeout DURATION     give up after this long (default ${DEFAULTS.timeouts.apply})

Environment:
  ${KUBECONFIG_ENV}  the kubeconfig YAML itself (keeps keys off the command line)`,
    exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.FATAL, ExitCode.TIMEOUT],

    async run(args, ctx) {
        const flags = parseFlags(NAME, args, {
            "kubernetes-version": { type: "string" },
            kubeconfig: { type: "string" },
            timeout: { type: "string" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        const kubernetesVersion = flags["kubernetes-version"];
        if (kubernetesVersion === undefined) {
            const message = `${NAME}: --kubernetes-version X.Y.Z is required (the version the cluster now runs)`;
            throw new CliError(ExitCode.USAGE, message);
        }
        if (parseKubernetesVersion(kubernetesVersion) === undefined) {
            const message = `${NAME}: --kubernetes-version "${kubernetesVersion}" is not a version like 1.31.2 (no leading v)`;
            throw new CliError(ExitCode.USAGE, message);
        }
        const timeoutMs = durationFlag(NAME, "timeout", flags.timeout, DEFAULTS.timeouts.apply);
        const source = { what: "kubeconfig", envVar: KUBECONFIG_ENV, flag: "kubeconfig" };
        const text = readSecretInput(ctx, NAME, source, flags.kubeconfig);
        // Loaded here, not at the top: @kubernetes/client-node takes a while to load.
        const { kubeClientFromKubeconfig, KubeconfigError } = await import("../kube/client");
        let kube: KubeApi;
        try {
            kube = await (ctx.clients?.kube ?? kubeClientFromKubeconfig)(text);
        } catch (err) {
            if (err instanceof KubeconfigError) throw new CliError(ExitCode.USAGE, err.message);
            throw err;
        }
        try {
            const opts = { kubernetesVersion, timeoutMs, requestTimeoutMs: REQUEST_TIMEOUT_MS };
            await runManifests(kube, opts, ctx.out, ctx.clock);
        } finally {
            kube.close();
        }
    },
};
