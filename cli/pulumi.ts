// The few Pulumi CLI calls the operator commands make (stack outputs, config, destroy). The
// Automation API would need the same binary, so we run it directly, through a runner tests
// replace with a fake `pulumi` on PATH.
import { spawn } from "node:child_process";
import type { ConfigKey } from "../model/config";
import { formatDuration, parseDuration } from "../model/duration";
import { CliError, ExitCode } from "./exitcodes";

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** The variable that bounds a captured `pulumi` call, a duration. */
export const PULUMI_TIMEOUT_ENV = "TALOS_DOCKER_PULUMI_TIMEOUT";

/** How long a captured `pulumi` call may take unless the PULUMI_TIMEOUT_ENV variable says otherwise. */
export const PULUMI_CALL_TIMEOUT = "60s";

/**
 * Runs `pulumi args…`; `inherit` shows its output live (destroy, which the user watches and may
 * answer), else it is captured and bounded: a backend that does not answer must not keep status,
 * doctor or kubeconfig waiting forever. A call that overruns is killed and reads as a failure whose
 * stderr says so, so every caller reports it as it reports any other failed call.
 */
export function runPulumi(args: string[], env: Readonly<Record<string, string | undefined>>, inherit = false): Promise<RunResult> {
    const bound = env[PULUMI_TIMEOUT_ENV] ?? PULUMI_CALL_TIMEOUT;
    const timeoutMs = parseDuration(bound) ?? parseDuration(PULUMI_CALL_TIMEOUT)!;
    return new Promise((resolve, reject) => {
        const child = spawn("pulumi", args, { env: env as NodeJS.ProcessEnv, stdio: inherit ? "inherit" : ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let settled = false;
        const settle = (result: RunResult | Error) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            if (result instanceof Error) reject(result);
            else resolve(result);
        };
        const timer = inherit ? undefined : setTimeout(() => {
            child.kill("SIGKILL");
            // A grandchild may still hold the pipes open: stop reading them rather than wait.
            child.stdout?.destroy();
            child.stderr?.destroy();
            const why = `\`pulumi ${args.slice(0, 2).join(" ")}\` did not finish within ${formatDuration(timeoutMs)} ` +
                `(is the Pulumi backend reachable? \`pulumi whoami\` tells; ${PULUMI_TIMEOUT_ENV} sets the bound)`;
            settle({ code: 124, stdout: "", stderr: why });
        }, timeoutMs);
        child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", (err: NodeJS.ErrnoException) => {
            settle(err.code === "ENOENT"
                ? new CliError(ExitCode.USAGE, "the Pulumi CLI (pulumi) is not on PATH: install it (https://www.pulumi.com/docs/install/) or pass the file explicitly")
                : err);
        });
        child.on("close", (code) => settle({ code: code ?? 1, stdout, stderr }));
    });
}

const stackArgs = (stack: string | undefined) => (stack ? ["--stack", stack] : []);

/**
 * The stack Pulumi has selected (`pulumi stack --show-name`, for the project in `projectDir` when
 * given), or why there is none. Throws CliError when there is no Pulumi CLI.
 */
export async function selectedStack(
    env: Readonly<Record<string, string | undefined>>,
    projectDir?: string,
): Promise<{ name: string } | { why: string }> {
    const result = await runPulumi(["stack", "--show-name", ...(projectDir !== undefined ? ["--cwd", projectDir] : [])], env);
    const name = result.stdout.trim();
    if (result.code === 0 && name !== "") return { name };
    return { why: result.stderr.trim().split("\n")[0] || `\`pulumi stack --show-name\` exited ${result.code}` };
}

/** One stack output's value (secrets shown: the caller writes it where the user asked). */
export async function stackOutput(name: string, stack: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<string> {
    const result = await runPulumi(["stack", "output", name, "--show-secrets", ...stackArgs(stack)], env);
    if (result.code !== 0 || result.stdout.trim() === "") {
        throw new CliError(ExitCode.USAGE,
            `\`pulumi stack output ${name}\` failed${stack ? ` for stack ${stack}` : ""}: ${result.stderr.trim() || "no value"}; run \`pulumi up\` first or select the stack (--stack NAME)`);
    }
    return result.stdout.endsWith("\n") ? result.stdout : `${result.stdout}\n`;
}

/**
 * Every output of the stack, secrets shown, or undefined when there is no Pulumi CLI or no
 * deployed stack (`why` says which), for commands that can work without them.
 */
export async function stackOutputs(stack: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<{ outputs: Record<string, unknown> } | { why: string }> {
    let result: RunResult;
    try {
        result = await runPulumi(["stack", "output", "--json", "--show-secrets", ...stackArgs(stack)], env);
    } catch (err) {
        if (err instanceof CliError) return { why: "the Pulumi CLI (pulumi) is not on PATH" };
        throw err;
    }
    if (result.code !== 0) return { why: `\`pulumi stack output\` failed${stack ? ` for stack ${stack}` : ""}: ${result.stderr.trim().split("\n")[0] || `exit ${result.code}`}` };
    try {
        const outputs = JSON.parse(result.stdout) as Record<string, unknown>;
        return Object.keys(outputs).length === 0 ? { why: "the stack has no outputs: run `pulumi up` first" } : { outputs };
    } catch {
        return { why: "`pulumi stack output --json` did not print JSON" };
    }
}

/** Sets one of our top-level keys (in the project's namespace, which `pulumi config set` assumes). */
export async function setConfig(
    key: ConfigKey,
    value: string,
    stack: string | undefined,
    env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
    const result = await runPulumi(["config", "set", key, value, ...stackArgs(stack)], env);
    if (result.code !== 0) throw new CliError(ExitCode.FAILED, `\`pulumi config set ${key}\` failed: ${result.stderr.trim()}`);
}

export async function destroy(stack: string | undefined, yes: boolean, env: Readonly<Record<string, string | undefined>>): Promise<void> {
    const result = await runPulumi(["destroy", ...stackArgs(stack), ...(yes ? ["--yes"] : [])], env, true);
    if (result.code !== 0) throw new CliError(ExitCode.FAILED, `\`pulumi destroy\` failed (exit ${result.code}); its output above says why`);
}
