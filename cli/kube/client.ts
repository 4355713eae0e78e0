// KubeApi over HTTPS with the kubeconfig's current context. @kubernetes/client-node reads the
// kubeconfig and works out its TLS material and auth headers (client certificates, tokens,
// exec plugins alike); the requests are plain node:https on one keep-alive agent, so a poll
// every 500 ms reuses its connection and each request has its own deadline and a precise error.

import * as https from "node:https";

import { KubeConfig } from "@kubernetes/client-node";

import { formatDuration } from "../../model/duration";
import { KubeRequestError, type KubeApi, type KubeResponse } from "./api";

/** A kubeconfig that cannot be used; the message is safe to print. */
export class KubeconfigError extends Error {
    constructor(
        /** what is wrong, without the "kubeconfig: " prefix; never a value from the file but names */
        readonly reason: string,
    ) {
        super(`kubeconfig: ${reason}`);
        this.name = "KubeconfigError";
    }
}

/** A kubeconfig whose current context names a cluster and a user it has. */
export interface LoadedKubeconfig {
    kc: KubeConfig;
    /** the names of the current context, its cluster and its user */
    context: string;
    cluster: string;
    user: string;
    /** the cluster's API server URL */
    server: string;
}

/**
 * The rule for a usable kubeconfig, for every command that takes one: it loads as
 * @kubernetes/client-node loads it (kubectl's format), and its current-context names a context,
 * that context a cluster and a user the file has. Nothing is contacted and no credential is
 * decoded yet (kubeClientFromKubeconfig does that).
 */
export function loadKubeconfig(text: string): LoadedKubeconfig {
    const kc = new KubeConfig();
    try {
        kc.loadFromString(text);
    } catch (err) {
        throw new KubeconfigError(loadProblem(err));
    }
    const context = kc.getCurrentContext() as unknown;
    if (typeof context !== "string" || context === "") {
        throw new KubeconfigError(
            "current-context is not set (is this a kubeconfig? it needs clusters, users, contexts and current-context)",
        );
    }
    const entry = kc.getContextObject(context);
    if (entry === null) {
        throw new KubeconfigError(`current-context "${context}" is not in contexts (it has: ${names(kc.getContexts())})`);
    }
    const cluster = kc.getCluster(entry.cluster);
    if (cluster === null) {
        throw new KubeconfigError(
            `context "${context}" names cluster "${entry.cluster}", which is not in clusters (it has: ${names(kc.getClusters())})`,
        );
    }
    if (entry.user === undefined) throw new KubeconfigError(`context "${context}" names no user`);
    if (kc.getUser(entry.user) === null) {
        throw new KubeconfigError(
            `context "${context}" names user "${entry.user}", which is not in users (it has: ${names(kc.getUsers())})`,
        );
    }
    return { kc, context, cluster: entry.cluster, user: entry.user, server: cluster.server };
}

/** Why loadFromString threw, without the source it quotes (it may be key material). */
function loadProblem(err: unknown): string {
    // js-yaml's error carries where; its message quotes the lines around it.
    const mark = (err as { mark?: { line: number; column: number } }).mark;
    if (mark !== undefined) return `not valid YAML (line ${mark.line + 1}, column ${mark.column + 1})`;
    // client-node's own checks name the entry and the field: "clusters[0].cluster.server is missing".
    const message = err instanceof Error ? err.message : "";
    if (/^(clusters|users|contexts)\[\d+\](\.[a-z]+)* is missing$/.test(message)) return message;
    return "not a YAML mapping of clusters, users, contexts and current-context";
}

function names(list: { name: string }[]): string {
    return list.length > 0 ? list.map((e) => e.name).join(", ") : "none";
}

export async function kubeClientFromKubeconfig(text: string): Promise<KubeApi> {
    const { kc, context, server } = loadKubeconfig(text);
    const opts: https.RequestOptions = {};
    try {
        await kc.applyToHTTPSOptions(opts);
    } catch {
        throw new KubeconfigError(`the credentials of context "${context}" cannot be loaded`);
    }
    return new HttpsKubeClient(server, opts);
}

class HttpsKubeClient implements KubeApi {
    private readonly agent: https.Agent;
    private readonly headers: Record<string, string>;

    constructor(
        readonly server: string,
        opts: https.RequestOptions,
    ) {
        this.agent = new https.Agent({
            keepAlive: true,
            maxSockets: 4,
            ca: opts.ca,
            cert: opts.cert,
            key: opts.key,
            servername: opts.servername,
            rejectUnauthorized: opts.rejectUnauthorized,
        });
        this.headers = { ...(opts.headers as Record<string, string> | undefined), accept: "application/json" };
    }

    get(path: string, timeoutMs: number): Promise<KubeResponse> {
        return this.request("GET", path, undefined, timeoutMs);
    }

    patch(path: string, body: string, contentType: string, timeoutMs: number): Promise<KubeResponse> {
        return this.request("PATCH", path, { body, contentType }, timeoutMs);
    }

    post(path: string, body: string, timeoutMs: number): Promise<KubeResponse> {
        return this.request("POST", path, { body, contentType: "application/json" }, timeoutMs);
    }

    delete(path: string, timeoutMs: number): Promise<KubeResponse> {
        return this.request("DELETE", path, undefined, timeoutMs);
    }

    private request(
        method: string,
        path: string,
        payload: { body: string; contentType: string } | undefined,
        timeoutMs: number,
    ): Promise<KubeResponse> {
        // The server URL may carry a path prefix (behind a proxy): append to it. A query stays a query.
        const url = new URL(this.server);
        const [pathname, query] = path.split("?", 2);
        url.pathname = url.pathname.replace(/\/$/, "") + pathname;
        if (query !== undefined) url.search = `?${query}`;
        const headers = payload === undefined
            ? this.headers
            : {
                  ...this.headers,
                  "content-type": payload.contentType,
                  "content-length": String(Buffer.byteLength(payload.body)),
              };
        return new Promise((resolve, reject) => {
            const req = https.request(url, { method, agent: this.agent, headers }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    clearTimeout(timer);
                    const status = res.statusCode ?? 0;
                    if (status === 401 || status === 403) reject(authFailure(status, this.server, method, pathname));
                    else resolve({ status, body: Buffer.concat(chunks).toString("utf8") });
                });
                res.on("error", (err) => fail(err));
            });
            const timer = setTimeout(() => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })), timeoutMs);
            const fail = (err: Error) => {
                clearTimeout(timer);
                reject(networkFailure(err as NodeJS.ErrnoException, this.server, timeoutMs));
            };
            req.on("error", fail);
            req.end(payload?.body);
        });
    }

    close(): void {
        this.agent.destroy();
    }
}

// Node's codes for a server certificate that does not verify against the kubeconfig's CA.
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|ERR_TLS|ERR_SSL/;

function networkFailure(err: NodeJS.ErrnoException, server: string, timeoutMs: number): KubeRequestError {
    const code = err.code ?? "";
    if (TLS_CODES.test(code)) {
        return new KubeRequestError(
            "fatal",
            "TLS failure",
            `the Kubernetes API at ${server} failed TLS verification (${code}): the kubeconfig's certificate-authority-data is not ` +
                "the CA of this cluster. Use the kubeconfig of this stack (`pulumi stack output kubeconfig --show-secrets`).",
        );
    }
    const reason =
        code === "ECONNREFUSED" ? "connection refused"
        : code === "ECONNRESET" || code === "EPIPE" ? "connection reset"
        : code === "ETIMEDOUT" ? `no answer in ${timeoutMs < 1000 ? `${Math.round(timeoutMs)} ms` : formatDuration(timeoutMs)}`
        : code !== "" ? code
        : err.message;
    return new KubeRequestError("retryable", reason, `the Kubernetes API at ${server}: ${reason}`, code === "ETIMEDOUT");
}

/** What a 403 says the user may not do: the reads of `wait` and `status`, or the change asked for. */
function forbiddenAction(method: string, pathname: string): string {
    switch (method) {
        case "GET":
            return "may not read nodes and pods";
        case "PATCH":
            return pathname.startsWith("/apis/apps/") ? "may not update the kube-system objects it changes" : `may not patch ${pathname}`;
        default:
            return `may not ${method.toLowerCase()} ${pathname}`;
    }
}

function authFailure(status: number, server: string, method: string, pathname: string): KubeRequestError {
    const forbidden = forbiddenAction(method, pathname);
    const what = status === 401
        ? "401 Unauthorized: it does not accept the kubeconfig's client certificate"
        : `403 Forbidden: the kubeconfig's user ${forbidden}`;
    return new KubeRequestError(
        "fatal",
        what,
        `the Kubernetes API at ${server} answered ${what}. Use the admin kubeconfig of this stack (\`pulumi stack output kubeconfig --show-secrets\`).`,
    );
}
