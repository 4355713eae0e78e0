// Reading a talosconfig (talos@v1.8.3:pkg/machinery/client/config/config.go: `Config{context,
// contexts}`, each `Context{endpoints, nodes, ca, crt, key}` with the PEMs base64-encoded) into
// what the API client needs. Every error names the field and never quotes a value: the file holds
// the admin key.

import { parse } from "yaml";

/** The default apid port (talos@v1.8.3:pkg/machinery/constants/constants.go `ApidPort`). */
export const APID_PORT = 50000;

/** One talosconfig context, decoded: PEM texts, not base64. */
export interface TalosContext {
    name: string;
    /** host:port of apid, port added when the file leaves it out (as talosctl does) */
    endpoints: string[];
    nodes: string[];
    /** PEM: the OS CA certificate */
    ca: string;
    /** PEM: the client certificate */
    crt: string;
    /** PEM: the client key, with the label Talos wrote (`ED25519 PRIVATE KEY` for Ed25519) */
    key: string;
}

/** A talosconfig that cannot be used; the message is safe to print. */
export class TalosconfigError extends Error {
    constructor(
        /** what is wrong, without the "talosconfig: " prefix; it names fields, never their values */
        readonly reason: string,
    ) {
        super(`talosconfig: ${reason}`);
        this.name = "TalosconfigError";
    }
}

/** The named context, or the file's current `context`. */
export function parseTalosconfig(text: string, contextName?: string): TalosContext {
    let doc: unknown;
    try {
        doc = parse(text);
    } catch (err) {
        // The yaml package's message quotes the offending line, which may be a key: print only where.
        const pos = (err as { linePos?: { line: number; col: number }[] }).linePos?.[0];
        throw new TalosconfigError(`not valid YAML${pos ? ` (line ${pos.line}, column ${pos.col})` : ""}`);
    }
    if (!isRecord(doc)) throw new TalosconfigError("not a YAML mapping with `context` and `contexts`");
    const name = contextName ?? doc.context;
    if (typeof name !== "string" || name === "") throw new TalosconfigError("`context` is not set and no context was named");
    const contexts = doc.contexts;
    if (!isRecord(contexts) || !isRecord(contexts[name])) {
        const known = isRecord(contexts) ? Object.keys(contexts) : [];
        throw new TalosconfigError(`context "${name}" is not in \`contexts\` (it has: ${known.length > 0 ? known.join(", ") : "none"})`);
    }
    const ctx = contexts[name] as Record<string, unknown>;
    const endpoints = stringList(ctx.endpoints, `contexts.${name}.endpoints`);
    if (endpoints.length === 0) throw new TalosconfigError(`contexts.${name}.endpoints is empty: add the Talos API address, e.g. 127.0.0.1:50000`);
    return {
        name,
        endpoints: endpoints.map(withApidPort),
        nodes: ctx.nodes === undefined ? [] : stringList(ctx.nodes, `contexts.${name}.nodes`),
        ca: pemField(ctx.ca, `contexts.${name}.ca`, "CERTIFICATE"),
        crt: pemField(ctx.crt, `contexts.${name}.crt`, "CERTIFICATE"),
        key: pemField(ctx.key, `contexts.${name}.key`, "PRIVATE KEY"),
    };
}

/** "host" → "host:50000"; "host:port" and "[v6]:port" unchanged (talos@v1.8.3:pkg/machinery/client/resolver `EnsureEndpointsHavePorts`). */
export function withApidPort(endpoint: string): string {
    if (/^\[.*\]:\d+$/.test(endpoint) || /^[^:]+:\d+$/.test(endpoint)) return endpoint;
    if (endpoint.includes(":") && !endpoint.startsWith("[")) return `[${endpoint}]:${APID_PORT}`; // bare IPv6
    return `${endpoint}:${APID_PORT}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, path: string): string[] {
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
        throw new TalosconfigError(`${path} must be a list of strings`);
    }
    return value as string[];
}

/** A base64 field holding PEM text whose first block's label ends with `labelSuffix`. */
function pemField(value: unknown, path: string, labelSuffix: string): string {
    if (typeof value !== "string" || value === "") throw new TalosconfigError(`${path} is missing`);
    const text = Buffer.from(value, "base64").toString("utf8");
    const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
    if (label === undefined || !label.endsWith(labelSuffix)) {
        throw new TalosconfigError(`${path} is not base64 of a PEM ${labelSuffix}`);
    }
    return text;
}
