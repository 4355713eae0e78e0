// `destroy`: `pulumi destroy`, optionally keeping the cluster's secrets (the seed's
// destroy-talos.sh --keep-config). Kept secrets are the talosSecrets output written to a file the
// stack's `secretsFile` then names, so the next `pulumi up` recreates the cluster with the same
// CAs and tokens, and the kubeconfig and talosconfig made before keep working. A plain destroy
// leaves nothing: no container, volume or network.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSecretsYaml, SecretsFileError } from "../../talos/secretsfile";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { CliError, ExitCode } from "../exitcodes";
import { parseFlags } from "../flags";
import { DESTROYING_ENV } from "../invocation";
import { destroy, selectedStack, setConfig, stackOutput } from "../pulumi";

const NAME = "destroy";

/**
 * The Kubernetes provider's switch for deleting an object from the state without the API server
 * when it cannot reach the cluster (pulumi/pulumi-kubernetes provider.go `Configure` reads it when
 * the provider sets no `deleteUnreachable`, and takes only "true"; `Delete` then skips the API).
 */
export const DELETE_UNREACHABLE_ENV = "PULUMI_K8S_DELETE_UNREACHABLE";

/**
 * The environment of the `pulumi destroy` this command runs. A running cluster is reached and its
 * objects deleted through its API: the engine deletes them before the nodes, since they depend on
 * the provider, which waits for the nodes' readiness. When the cluster is already down (the
 * containers stopped, or removed behind Pulumi's back) that API is gone, and every Kubernetes
 * object would fail the destroy; as the same destroy removes the volumes that hold them, dropping
 * them from the state is the truth. A value the user set is kept ("false": fail instead).
 * ${DESTROYING_ENV} tells each node's `remove-node` that every node goes: none is drained or
 * leaves etcd (a drain onto nodes that go too could only wait on disruption budgets).
 */
export function destroyEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
    return { ...env, [DELETE_UNREACHABLE_ENV]: env[DELETE_UNREACHABLE_ENV] ?? "true", [DESTROYING_ENV]: "1" };
}

/** Where kept secrets go, per stack; .gitignore lists the folder. */
export function keptSecretsPath(stack: string): string {
    return join(".talos-docker", stack, "secrets.yaml");
}

async function stackToDestroy(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<string> {
    if (flag) return flag;
    const selected = await selectedStack(env);
    if ("why" in selected) throw new CliError(ExitCode.USAGE, `no Pulumi stack is selected: pass --stack NAME (${selected.why})`);
    return selected.name;
}

export const destroyCommand: Command = {
    name: NAME,
    summary: "pulumi destroy; --keep-secrets keeps the CAs and tokens for an identical re-create",
    usage: `Usage: destroy [--keep-secrets] [--stack NAME] [--yes]

Runs \`pulumi destroy\`: the node containers, their volumes and the network go. It sets
${DELETE_UNREACHABLE_ENV}=true for it (unless already set), so that a cluster already
stopped or removed does not hold the destroy up: its Kubernetes objects leave the state with it.

With --keep-secrets, first writes the stack's talosSecrets output (a talosctl secrets.yaml) to
.talos-docker/<stack>/secrets.yaml (0600) and sets the stack's secretsFile to it: the next
\`pulumi up\` recreates the cluster with the same CAs and tokens, so the kubeconfig and
talosconfig you have keep working. \`pulumi config rm secretsFile\` starts afresh next time.

Flags:
  --keep-secrets   keep the cluster's secrets for the next \`pulumi up\`
  --stack NAME     the stack (default: the selected one)
  --yes            do not ask pulumi for confirmation
  --project-dir D  the Pulumi project's directory (default: the current one)`,
        exitCodes: [ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE],

    async run(args, ctx) {
        const flags = parseFlags(NAME, args, {
            "keep-secrets": { type: "boolean" },
            stack: { type: "string" },
            yes: { type: "boolean" },
            "project-dir": { type: "string" },
        });
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        const stack = await stackToDestroy(flags.stack as string | undefined, ctx.env);
        if (flags["keep-secrets"]) {
            const secrets = await stackOutput("talosSecrets", stack, ctx.env);
            try {
                parseSecretsYaml(secrets);
            } catch (err) {
                if (!(err instanceof SecretsFileError)) throw err;
                throw new CliError(ExitCode.FAILED, `the stack's talosSecrets output is not a usable secrets bundle (${err.problems.join("; ")}); nothing was destroyed`);
            }
            // secretsFile is read relative to the project directory, so that is where it goes.
            const projectDir = (flags["project-dir"] as string | undefined) ?? ".";
            const path = keptSecretsPath(stack);
            mkdirSync(join(projectDir, ".talos-docker", stack), { recursive: true, mode: 0o700 });
            writeFileSync(join(projectDir, path), secrets, { mode: 0o600 });
            await setConfig("secretsFile", path, stack, ctx.env);
            ctx.out(`[destroy] kept the cluster's secrets in ${path} and set secretsFile on stack ${stack}`);
        }
        await destroy(stack, Boolean(flags.yes), destroyEnv(ctx.env));
        ctx.out(flags["keep-secrets"]
            ? `[destroy] done: \`pulumi up\` recreates the cluster with the same CAs; your kubeconfig and talosconfig keep working (\`pulumi config rm secretsFile\` to start afresh)`
            : "[destroy] done: the cluster's containers, volumes and network are gone");
    },
};
