// The CLI's exit codes: a contract for scripts and for the Pulumi command resources that run it.

export const ExitCode = {
    /** done: bootstrapped (or already), or the cluster is ready */
    OK: 0,
    /** an unexpected failure (a bug, an I/O error): the message says what */
    FAILED: 1,
    /** bad usage: unknown command or flag, bad flag value, missing or malformed talosconfig/kubeconfig */
    USAGE: 2,
    /**
     * the API refused us for a reason waiting cannot fix: TLS verification, authentication,
     * authorization, or (apply) a config the node does not accept
     */
    FATAL: 3,
    /** not done within --timeout: the message lists what is missing and which logs to read */
    TIMEOUT: 4,
    /** status found a problem, or doctor a missing prerequisite: the output says what to do */
    UNHEALTHY: 5,
    /**
     * apply: the node answers but does not run the config it was sent (it took it and reports
     * another): waiting longer will not change it; the message names the node, the paths that
     * differ and which logs to read
     */
    NOT_APPLIED: 6,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What each code means, one line, as a command's help lists the codes it returns. */
export const EXIT_CODE_MEANINGS: Readonly<Record<ExitCode, string>> = {
    [ExitCode.OK]: "done",
    [ExitCode.FAILED]: "failed otherwise: the message says what (an I/O error, a tool it ran, or a bug)",
    [ExitCode.USAGE]: "bad usage or input: the message names the flag, file or variable and what is wrong",
    [ExitCode.FATAL]: "refused for good: TLS verification, authentication or authorization failed, or the node refused the config",
    [ExitCode.TIMEOUT]: "timed out: the message lists what is not ready and which logs to read",
    [ExitCode.UNHEALTHY]: "unhealthy: a problem was found; each comes with its next step",
    [ExitCode.NOT_APPLIED]: "not applied: the node answers with another config than it was sent; the message says where it differs and which logs to read",
};

/** An error that ends the command with `code`; `message` is printed as is (it never holds secrets). */
export class CliError extends Error {
    constructor(
        readonly code: ExitCode,
        message: string,
    ) {
        super(message);
        this.name = "CliError";
    }
}
