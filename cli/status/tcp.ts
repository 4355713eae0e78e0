// Is a published port reachable from the host? A TCP connect to it. With Docker's userland proxy
// a connect succeeds as soon as the port is published, whatever listens inside; whether the
// Talos and Kubernetes APIs really answer behind their ports is the job of their own probes.

import { connect } from "node:net";

export interface PortCheck {
    reachable: boolean;
    detail: string;
}

export function checkTcp(host: string, port: number, timeoutMs: number): Promise<PortCheck> {
    return new Promise((resolve) => {
        const socket = connect({ host, port });
        const done = (result: PortCheck) => {
            clearTimeout(timer);
            socket.destroy();
            resolve(result);
        };
        const timer = setTimeout(() => done({ reachable: false, detail: `no answer in ${timeoutMs} ms` }), timeoutMs);
        socket.once("connect", () => done({ reachable: true, detail: "accepts connections" }));
        socket.once("error", (err: NodeJS.ErrnoException) => {
            done({ reachable: false, detail: err.code === "ECONNREFUSED" ? "connection refused" : (err.code ?? err.message) });
        });
    });
}
