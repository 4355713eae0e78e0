// The CLI run in-process against the fakes: a real test PKI, client configs rendered as the
// program renders them, and the CLI's output captured line by line.

import { performance } from "node:perf_hooks";

import { COMMANDS } from "../../../cli/commands";
import { main, MAIN_EXIT_CODES } from "../../../cli/main";
import { systemClock, type CliContext, type Clock } from "../../../cli/context";
import type { ExitCode } from "../../../cli/exitcodes";
import { renderKubeconfig, renderTalosconfig } from "../../../talos/clientconfig";
import type { CertAndKey, SecretsBundle } from "../../../talos/secretsbundle";
import { makeAdminClients, makeSecretsBundle } from "../../support/pki";

export interface TestPki {
    bundle: SecretsBundle;
    talosAdmin: CertAndKey;
    kubernetesAdmin: CertAndKey;
}

export async function makeTestPki(): Promise<TestPki> {
    const bundle = await makeSecretsBundle({ rsaBits: 2048 });
    const admin = await makeAdminClients(bundle);
    return { bundle, talosAdmin: admin.talos, kubernetesAdmin: admin.kubernetes };
}

/** A talosconfig for one endpoint; `ca`/`client` default to the bundle's OS CA and the admin certificate. */
export function talosconfigFor(pki: TestPki, endpoint: string, over: { ca?: string; client?: CertAndKey } = {}): string {
    const client = over.client ?? pki.talosAdmin;
    return renderTalosconfig({ contextName: "test", endpoints: [endpoint], ca: over.ca ?? pki.bundle.certs.os.crt, crt: client.crt, key: client.key });
}

export function kubeconfigFor(pki: TestPki, server: string, over: { ca?: string; client?: CertAndKey } = {}): string {
    const client = over.client ?? pki.kubernetesAdmin;
    return renderKubeconfig({ clusterName: "test", server, ca: over.ca ?? pki.bundle.certs.k8s.crt, crt: client.crt, key: client.key });
}

export interface CliRun {
    code: ExitCode;
    out: string[];
    err: string[];
    /** wall time of the run */
    ms: number;
}

export async function runCli(argv: string[], env: Record<string, string>, opts: { clock?: Clock; files?: Record<string, string>; clients?: CliContext["clients"] } = {}): Promise<CliRun> {
    const out: string[] = [];
    const err: string[] = [];
    const ctx: CliContext = {
        env,
        out: (line) => out.push(line),
        err: (line) => err.push(line),
        readFile: (path) => {
            const text = opts.files?.[path];
            if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
            return text;
        },
        clock: opts.clock ?? systemClock,
        clients: opts.clients,
    };
    const start = performance.now();
    const code = await main(argv, ctx);
    const ms = performance.now() - start;
    assertDeclared(argv, code);
    return { code, out, err, ms };
}

/**
 * Every run in the tests checks that its exit code is one the command's help lists (main's own
 * for help, --version and unknown commands): a code a command returns but does not declare fails
 * the test that reached it. tests/cli/exitcodes.test.ts reaches every declared code.
 */
function assertDeclared(argv: string[], code: ExitCode): void {
    const name = argv[0] === "--version" ? "version" : argv[0];
    const command = COMMANDS.find((c) => c.name === name);
    const declared = command?.exitCodes ?? MAIN_EXIT_CODES;
    if (!declared.includes(code)) {
        throw new Error(`\`${argv.join(" ")}\` ended with exit code ${code}, which ${command ? `${name}'s help` : "the general help"} does not list (${declared.join(", ")})`);
    }
}
