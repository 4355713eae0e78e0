// `kubeconfig` and `talosconfig`: put the cluster's client config where kubectl / talosctl read
// it (merged, idempotent, with a backup), or print it. Whatever its source, the config is checked
// first by the rule every command uses (status, bootstrap, wait): one that is not usable is never
// printed or merged.
import type { Command } from "../command";
import { commandHelp } from "../command";
import type { CliContext } from "../context";
import { CliError, ExitCode } from "../exitcodes";
import { parseFlags } from "../flags";
import { KUBECONFIG_ENV, TALOSCONFIG_ENV } from "../invocation";
import { parseTalosconfig, TalosconfigError } from "../../talos/api/talosconfig";
import { stackOutput } from "../pulumi";
import { readSecretInput } from "../secretinput";
import { ClientConfigKind, readIfExists, userConfigPath, writeWithBackup } from "./files";
import { MergeError, mergeKubeconfig, mergeTalosconfig } from "./merge";

interface Kind {
    kind: ClientConfigKind;
    /** what kubectl/talosctl call the variable naming their file */
    fileEnv: string;
    /** our variable holding the YAML itself (as the Pulumi command resources pass it) */
    sourceEnv: string;
    defaultPath: string;
    merge: typeof mergeKubeconfig;
    /** why the text is not a usable config of this kind (never a value from it), or undefined */
    problem(text: string): Promise<string | undefined>;
}

const KINDS: Record<ClientConfigKind, Kind> = {
    kubeconfig: {
        kind: "kubeconfig",
        fileEnv: "KUBECONFIG",
        sourceEnv: KUBECONFIG_ENV,
        defaultPath: "~/.kube/config",
        merge: mergeKubeconfig,
        async problem(text) {
            // Loaded here, not at the top: @kubernetes/client-node takes a while to load.
            const { loadKubeconfig, KubeconfigError } = await import("../kube/client");
            try {
                loadKubeconfig(text);
                return undefined;
            } catch (err) {
                if (err instanceof KubeconfigError) return err.reason;
                throw err;
            }
        },
    },
    talosconfig: {
        kind: "talosconfig",
        fileEnv: "TALOSCONFIG",
        sourceEnv: TALOSCONFIG_ENV,
        defaultPath: "~/.talos/config",
        merge: mergeTalosconfig,
        async problem(text) {
            try {
                parseTalosconfig(text);
                return undefined;
            } catch (err) {
                if (err instanceof TalosconfigError) return err.reason;
                throw err;
            }
        },
    },
};

/** The cluster's config and where it came from, as a message names it. */
async function clusterConfig(
    k: Kind,
    from: string | undefined,
    stack: string | undefined,
    ctx: CliContext,
): Promise<{ text: string; source: string }> {
    if (from !== undefined || ctx.env[k.sourceEnv]) {
        const text = readSecretInput(ctx, k.kind, { what: k.kind, envVar: k.sourceEnv, flag: "from" }, from);
        return { text, source: from !== undefined ? `${from} (--from)` : `$${k.sourceEnv}` };
    }
    const source = `the output ${k.kind} of ${stack ? `stack ${stack}` : "the selected stack"}`;
    return { text: await stackOutput(k.kind, stack, ctx.env), source };
}

function clientConfigCommand(k: Kind): Command {
    return {
        name: k.kind,
        summary: `merge the cluster's ${k.kind} into ${k.defaultPath} (or $${k.fileEnv}); --print to show it`,
        usage: `Usage: ${k.kind} [flags]

Merges the cluster's ${k.kind} into the file ${k.kind === "kubeconfig" ? "kubectl" : "talosctl"} reads: the first path of $${k.fileEnv},
else ${k.defaultPath}. Entries of the same name are replaced, every other entry is kept; the previous
file is saved as <file>.bak; running it twice leaves the same file. The file is written 0600.

The cluster's ${k.kind} comes from --from FILE, else $${k.sourceEnv}, else \`pulumi stack output ${k.kind}\`.
It is checked first, as status reads it: one that is not usable is refused, naming where it came
from and what is wrong, and nothing is printed or merged. Its current context is what is merged${
    k.kind === "kubeconfig" ? ",\nwith that context's cluster and user" : ""}.

Flags:
  --print           write the cluster's ${k.kind} to stdout instead (pipe it to a file you choose)
  --no-switch       keep the current context (by default ours becomes current)
  --file PATH       merge into PATH instead
  --from FILE       the cluster's ${k.kind} from FILE
  --stack NAME      the Pulumi stack to read it from (default: the selected stack)`,
        exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE],

        async run(args, ctx) {
            const flags = parseFlags(k.kind, args, {
                print: { type: "boolean" },
                "no-switch": { type: "boolean" },
                file: { type: "string" },
                from: { type: "string" },
                stack: { type: "string" },
            });
            if (flags.help) {
                ctx.out(commandHelp(this));
                return;
            }
            const { text: ours, source } = await clusterConfig(k, flags.from as string | undefined, flags.stack as string | undefined, ctx);
            const problem = await k.problem(ours);
            if (problem !== undefined) {
                const nothing = flags.print ? "printed" : "merged";
                throw new CliError(ExitCode.USAGE, `${source} is not a usable ${k.kind}: ${problem}; nothing was ${nothing}`);
            }
            if (flags.print) {
                ctx.out(ours.trimEnd());
                return;
            }
            const path = (flags.file as string | undefined) ?? userConfigPath(k.kind, ctx.env);
            let result;
            try {
                result = k.merge(readIfExists(path), ours, { switchContext: !flags["no-switch"] });
            } catch (err) {
                if (err instanceof MergeError) throw new CliError(ExitCode.USAGE, `${path} ${err.message}`);
                throw err;
            }
            if (!result.changed) {
                ctx.out(`${path} already has context ${result.context}: nothing to change`);
                return;
            }
            const backup = writeWithBackup(path, result.text);
            ctx.out(`merged context ${result.context} into ${path}${backup ? ` (previous file: ${backup})` : ""}`);
        },
    };
}

export const kubeconfigCommand = clientConfigCommand(KINDS.kubeconfig);
export const talosconfigCommand = clientConfigCommand(KINDS.talosconfig);
