// The CLI's subcommands, in the order `--help` lists them. Adding one: a file under cli/ that
// exports a Command, and a line here.

import { applyCommand } from "./apply/command";
import { bootstrapCommand } from "./bootstrap/command";
import { kubeconfigCommand, talosconfigCommand } from "./clientconfigs/command";
import type { Command } from "./command";
import { destroyCommand } from "./destroy/command";
import { doctorCommand } from "./doctor/command";
import { logsCommand } from "./logs/command";
import { manifestsCommand } from "./manifests/command";
import { registryCacheCommand } from "./registrycache/command";
import { removeNodeCommand } from "./removenode/command";
import { statusCommand } from "./status/command";
import { versionCommand } from "./version/command";
import { waitCommand } from "./wait/command";

export const COMMANDS: readonly Command[] = [
    bootstrapCommand,
    waitCommand,
    applyCommand,
    manifestsCommand,
    removeNodeCommand,
    statusCommand,
    logsCommand,
    doctorCommand,
    registryCacheCommand,
    kubeconfigCommand,
    talosconfigCommand,
    destroyCommand,
    versionCommand,
];
