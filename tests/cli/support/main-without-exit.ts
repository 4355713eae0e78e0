// The CLI as a process without the entry point's explicit exit (cli/main.ts `runAsProcess`): this
// process ends only once the command has closed everything it opened. Run as
// `node --import tsx tests/cli/support/main-without-exit.ts <command> [flags]`.

import { processContext } from "../../../cli/context";
import { main } from "../../../cli/main";
import { silenceIpServernameWarning } from "../../../cli/warnings";

/** If anything is still open this long after main() resolved, say what (it would hang here). */
const REPORT_AFTER_MS = 1_500;

silenceIpServernameWarning();
void main(process.argv.slice(2), processContext()).then((code) => {
    process.exitCode = code;
    // Unref'd: it does not keep the process alive itself, it only names what does.
    setTimeout(() => {
        process.stderr.write(`still running ${REPORT_AFTER_MS} ms after main() resolved: ${process.getActiveResourcesInfo().join(", ")}\n`);
    }, REPORT_AFTER_MS).unref();
});
