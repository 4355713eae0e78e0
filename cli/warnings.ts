// grpc-js names the TLS server after the target host (channel-credentials.js `servername`), an
// IP here, and Node warns about that once a process (DEP0123: "Setting the TLS ServerName to an
// IP address is not permitted by RFC 6066"). The IP SAN is still verified against the
// certificate; the warning only confuses a reader of `pulumi up` output. Drop that one warning
// and no other.

export function silenceIpServernameWarning(): void {
    const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
    process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
        // emitWarning(warning, options) or emitWarning(warning, type, code, ctor)
        const code = typeof rest[0] === "object" && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
        if (code === "DEP0123") return;
        emit(warning, ...rest);
    }) as typeof process.emitWarning;
}
