// Is a host port free for Docker to publish on? Binding it ourselves is the direct test. Ports
// below 1024 need root to bind, which dockerd has and we may not: for those a refused connection
// is taken as free (nothing listens), an accepted one as taken.

import { createServer } from "node:net";

import { checkTcp, dialAddress } from "../status/tcp";

export type PortState = "free" | "taken" | "no-address" | string;

export function portState(host: string, port: number, timeoutMs: number): Promise<PortState> {
    return new Promise((resolve) => {
        const server = createServer();
        server.once("error", (err: NodeJS.ErrnoException) => {
            if (err.code === "EADDRINUSE") resolve("taken");
            else if (err.code === "EADDRNOTAVAIL") resolve("no-address");
            else if (err.code === "EACCES") resolve(connectState(host, port, timeoutMs));
            else resolve(err.code ?? err.message);
        });
        server.listen({ host, port, exclusive: true }, () => server.close(() => resolve("free")));
    });
}

/** The status command's TCP probe: accepted → taken, refused → free, anything else as it came. */
async function connectState(host: string, port: number, timeoutMs: number): Promise<PortState> {
    const result = await checkTcp(dialAddress(host), port, timeoutMs);
    if (result.reachable) return "taken";
    return result.detail === "connection refused" ? "free" : result.detail;
}
