// How the Pulumi command resources (components/clicommands.ts) run this CLI: the command line, and
// the variables that carry the client configs to it, so no secret is ever on a command line. The
// program imports this module without loading the CLI: it imports nothing.

/** The CLI's entry point, relative to the project directory (where `pulumi up` runs the program). */
export const CLI_ENTRY = "cli/main.ts";

/** The variable holding the talosconfig YAML itself, read by `bootstrap` (and `talosconfig`). */
export const TALOSCONFIG_ENV = "TALOS_DOCKER_TALOSCONFIG";

/** The variable holding the kubeconfig YAML itself, read by `wait` (and `kubeconfig`). */
export const KUBECONFIG_ENV = "TALOS_DOCKER_KUBECONFIG";

/**
 * The shell command that runs the CLI with `args`. `node --import tsx` finds tsx in the project's
 * node_modules when it runs in the project directory, and keeps this host's checkout path out of
 * the command (and so out of the state).
 */
export function cliCommandLine(args: readonly string[]): string {
    return ["node", "--import", "tsx", CLI_ENTRY, ...args].join(" ");
}
