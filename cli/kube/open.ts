// A Kubernetes API client for a command, from the kubeconfig it was given (the --kubeconfig file,
// else the variable), as cli/talosapi.ts opens the Talos one: a kubeconfig that is missing or
// cannot be used is a usage error (exit 2) naming what is wrong, never quoting the file.

import type { CliContext } from "../context";
import { CliError, ExitCode } from "../exitcodes";
import { KUBECONFIG_ENV } from "../invocation";
import { readSecretInput, type SecretSource } from "../secretinput";
import type { KubeApi } from "./api";

/** Where a command's kubeconfig comes from: the --kubeconfig file, else the variable. */
export const KUBECONFIG_SOURCE: SecretSource = { what: "kubeconfig", envVar: KUBECONFIG_ENV, flag: "kubeconfig" };

export async function openKubeApi(ctx: CliContext, command: string, file: string | undefined): Promise<KubeApi> {
    const text = readSecretInput(ctx, command, KUBECONFIG_SOURCE, file);
    // Loaded here, not at the top: @kubernetes/client-node takes a while to load.
    const { kubeClientFromKubeconfig, KubeconfigError } = await import("./client");
    try {
        return await (ctx.clients?.kube ?? kubeClientFromKubeconfig)(text);
    } catch (err) {
        if (err instanceof KubeconfigError) throw new CliError(ExitCode.USAGE, err.message);
        throw err;
    }
}
