// Is a host port free for Docker to publish on? Binding it ourselves is the direct test. Ports
// below 1024 need root to bind, which dockerd has and we may not: for those a refused connection
// is taken as free (nothing listens), an accepted one as taken.

import { connect, createServer } from "node:net";

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

function connectState(host: string, port: number, timeoutMs: number): Promise<PortState> {
    return new Promise((resolve) => {
        const socket = connect({ host: host === "0.0.0.0" ? "127.0.0.1" : host, port });
        const done = (state: PortState) => {
            clearTimeout(timer);
            socket.destroy();
            resolve(state);
        };
        const timer = setTimeout(() => done("no answer"), timeoutMs);
        socket.once("connect", () => done("taken"));
        socket.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" ? "free" : (err.code ?? err.message)));
    });
}
