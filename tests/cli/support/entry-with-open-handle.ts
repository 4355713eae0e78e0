// cli/main.ts' entry point with a handle nobody closes (a listening server): `runAsProcess` must
// still end the process once main() resolved, with main()'s exit code. Run as
// `node --import tsx tests/cli/support/entry-with-open-handle.ts <command> [flags]`.

import { createServer } from "node:net";

import { runAsProcess } from "../../../cli/main";

createServer().listen(0, "127.0.0.1");
void runAsProcess(process.argv.slice(2));
