// What a failed Talos API call means for a caller that retries: try again, already done, or stop.
// The retryable set is Talos' own (talos@v1.8.3:pkg/cluster/bootstrap.go: FailedPrecondition,
// DeadlineExceeded, "connection refused", "error reading from server: EOF") plus the Unavailable
// that grpc-js reports for a port that is not listening yet or a connection reset while apid
// restarts. TLS and RBAC failures never heal by waiting, so they stop at once with advice.
// ApplyConfiguration adds two answers: a config the node refuses (InvalidArgument with Talos'
// reason: it does not load or validate), and a change refused in no-reboot or try mode because
// it needs a reboot. Its FailedPreconditions ("another apply configuration is already in
// progress", "configuration was already applied and node is rebooting", from v1.12.9 and v1.13.3:
// talos commit 045146c1d "fix: guard apply config API call") are retryable like any other.

import { status as Status } from "@grpc/grpc-js";

import { withoutConfigText } from "./configtext";

/**
 * retryable: try again later; already-done: the goal holds; needs-reboot: the node refused to
 * apply a change without a reboot (ask again in a mode that reboots); fatal: stop.
 */
export type TalosErrorKind = "retryable" | "already-done" | "needs-reboot" | "fatal";

/** A classified Talos API failure. `message` is safe to print: it holds no key material. */
export class TalosApiError extends Error {
    constructor(
        readonly kind: TalosErrorKind,
        /** the gRPC status code (talos clients see TLS failures as UNAVAILABLE) */
        readonly code: Status,
        /** short, for progress lines: "connection refused", "bootstrap is not available yet" */
        readonly reason: string,
        message: string,
    ) {
        super(message);
        this.name = "TalosApiError";
    }
}

/** The parts of a grpc-js ServiceError we read. */
interface GrpcFailure {
    code?: number;
    details?: string;
    message?: string;
}

// OpenSSL's and Node's words for a peer certificate that does not verify, on either side:
// ours ("self-signed certificate in certificate chain", "unable to verify the first
// certificate", ERR_TLS_CERT_ALTNAME_INVALID) or apid's alert about ours ("tlsv1 alert unknown ca",
// "certificate required", "bad certificate").
const TLS_FAILURE =
    /certificate|self[- ]signed|unable to (verify|get local issuer)|alert (unknown ca|bad certificate|certificate required|decrypt error|handshake failure|access denied)|ERR_TLS_|CERT_|wrong version number|key values mismatch|handshake/i;

const REFUSED = /ECONNREFUSED|connection refused/i;
// machined's CanApplyImmediate error (talos@v1.8.3 … v1.13.9:internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go).
const NEEDS_REBOOT = /this config change can't be applied in immediate mode/;
const RESET = /ECONNRESET|EPIPE|socket hang up|\bEOF\b|Connection dropped|Connection closed|other side closed|GOAWAY|RST_STREAM/i;

/**
 * Classify a grpc-js error from a call to `method` on `endpoint` (host:port). `what` names the
 * operation for messages ("Version", "Bootstrap").
 */
export function classifyTalosError(err: unknown, endpoint: string, what: string): TalosApiError {
    if (err instanceof TalosApiError) return err;
    const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as GrpcFailure;
    const code: Status = typeof e.code === "number" ? e.code : Status.UNKNOWN;
    // The config text some apply errors quote is cut off first: it can hold secrets.
    const details = oneLine(withoutConfigText(e.details ?? e.message ?? ""));
    const at = `${what} on ${endpoint}`;

    switch (code) {
        case Status.INVALID_ARGUMENT:
            if (NEEDS_REBOOT.test(details)) {
                return new TalosApiError(
                    "needs-reboot",
                    code,
                    "needs a reboot",
                    `${at} was refused: the change touches fields the node applies only when it boots (${details})`,
                );
            }
            return new TalosApiError("fatal", code, "refused", `${at} was refused: ${details}`);
        case Status.ALREADY_EXISTS:
            return new TalosApiError("already-done", code, details, `${at}: already done (${details})`);
        case Status.FAILED_PRECONDITION:
            return new TalosApiError("retryable", code, details, `${at}: not possible yet (${details})`);
        case Status.DEADLINE_EXCEEDED:
            return new TalosApiError("retryable", code, "no answer in time", `${at}: no answer before the call's deadline`);
        case Status.UNAUTHENTICATED:
            return new TalosApiError("fatal", code, "unauthenticated", `${at} was refused: unauthenticated (${details}). ${ADVICE_CREDENTIALS}`);
        case Status.PERMISSION_DENIED:
            return new TalosApiError(
                "fatal",
                code,
                "permission denied",
                `${at} was refused: permission denied (${details}). The talosconfig's client certificate does not carry the ` +
                    `role ${what} needs (organization os:admin): use the admin talosconfig from \`pulumi stack output talosconfig --show-secrets\`.`,
            );
        case Status.UNAVAILABLE:
        case Status.UNKNOWN:
        case Status.INTERNAL:
            if (TLS_FAILURE.test(details)) {
                return new TalosApiError(
                    "fatal",
                    code,
                    "TLS failure",
                    `${at}: the TLS handshake failed (${details}). The talosconfig's CA or client certificate is not from the ` +
                        `OS CA this node was made with. ${ADVICE_CREDENTIALS}`,
                );
            }
            if (REFUSED.test(details)) return new TalosApiError("retryable", code, "connection refused", `${at}: connection refused`);
            if (RESET.test(details)) return new TalosApiError("retryable", code, "connection reset", `${at}: connection closed by the server (${details})`);
            if (code === Status.UNAVAILABLE) return new TalosApiError("retryable", code, "unavailable", `${at}: unavailable (${details})`);
            break;
        default:
            break;
    }
    return new TalosApiError("fatal", code, Status[code] ?? `code ${code}`, `${at} failed: ${Status[code] ?? `code ${code}`} (${details})`);
}

const ADVICE_CREDENTIALS =
    "Use the talosconfig of this stack (`pulumi stack output talosconfig --show-secrets`); if the node containers were " +
    "made from other secrets (an older stack, another secretsFile), replace them (`pulumi up --replace <node container URN>`).";

/**
 * grpc-js wraps a connection failure as "No connection established. Last error: Error: <what>.
 * Resolution note: <…>" and can span lines; keep <what>, on one line.
 */
function oneLine(text: string): string {
    return text
        .replace(/\s+/g, " ")
        .replace(/^No connection established\. Last error: (Error: )?/, "")
        .replace(/\.? Resolution note:.*$/, "")
        .replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/, "") // "Failed to connect (<timestamp>)"
        .trim();
}

/**
 * A failure of the client's credentials or rights (TLS, unauthenticated, permission denied),
 * which no retry heals, unlike the other fatal answers a resource read can get while a node is
 * still booting (NotFound, Unimplemented).
 */
export function isCredentialFailure(err: TalosApiError): boolean {
    return err.code === Status.UNAUTHENTICATED || err.code === Status.PERMISSION_DENIED || err.reason === "TLS failure";
}
