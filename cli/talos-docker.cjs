#!/usr/bin/env node
// The `talos-docker` command (package.json "bin"), runnable from any directory. The CLI is
// TypeScript run by tsx; `node --import tsx` would look for tsx from the current directory, so
// this plain-JS launcher loads it from this package's own node_modules instead (resolved from
// this file, which Node reaches through the symlink npm puts on PATH), with this package's
// tsconfig, and then runs the CLI as `node --import tsx cli/main.ts` does.
"use strict";

const { join } = require("node:path");
const { pathToFileURL } = require("node:url");

// tsx reads the tsconfig of the current directory unless told which.
process.env.TSX_TSCONFIG_PATH ??= join(__dirname, "..", "tsconfig.json");

// tsx's entry registers its ESM hooks (module.register) and CommonJS hooks, as `--import tsx` does.
import(pathToFileURL(require.resolve("tsx")).href).then(
    () => require("./main.ts").runAsProcess(process.argv.slice(2)),
    (err) => {
        process.stderr.write(`talos-docker: cannot load tsx from ${join(__dirname, "..", "node_modules")}: ${err.message}\n`);
        process.exitCode = 1;
    },
);
