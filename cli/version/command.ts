// `version` (also `--version`): this CLI's version and the Talos minors it makes clusters of, with
// the Kubernetes versions each runs, from the version contract (talos/versions.ts).

import packageJson from "../../package.json";
import { contractFor, TALOS_MINORS } from "../../talos/versions";
import type { Command } from "../command";
import { commandHelp } from "../command";
import { ExitCode } from "../exitcodes";
import { parseFlags } from "../flags";

const NAME = "version";

/** The lines `version` prints. */
export function versionLines(): string[] {
    const rows = TALOS_MINORS.map((minor) => {
        const contract = contractFor(minor);
        const { min, max } = contract.kubernetes;
        return `  v${minor.padEnd(5)} Kubernetes ${min} – ${max} (tested with ${contract.referenceVersion})`;
    });
    return [`talos-docker ${packageJson.version}`, "Talos minors supported, with the Kubernetes versions each runs:", ...rows];
}

export const versionCommand: Command = {
    name: NAME,
    summary: "this CLI's version and the Talos and Kubernetes versions it supports (also --version)",
    usage: `Usage: version   (or --version)

Prints the version of talos-docker and, for each Talos minor it supports, the Kubernetes versions
that minor runs and the Talos release it is tested with.`,
    exitCodes: [ExitCode.OK, ExitCode.USAGE],

    async run(args, ctx) {
        const flags = parseFlags(NAME, args, {});
        if (flags.help) {
            ctx.out(commandHelp(this));
            return;
        }
        for (const line of versionLines()) ctx.out(line);
    },
};
