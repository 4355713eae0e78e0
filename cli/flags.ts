// Command-line parsing shared by the commands: node:util parseArgs in strict mode, with usage
// errors turned into exit code 2, and the value types our flags have.

import { parseArgs, type ParseArgsConfig } from "node:util";

import { parseDuration } from "../model/duration";
import { CliError, ExitCode } from "./exitcodes";
import { didYouMean } from "./suggest";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Flags only (no positionals); an unknown flag or a missing value is a usage error. */
export function parseFlags<O extends Options>(command: string, args: string[], options: O) {
    try {
        return parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: false }).values;
    } catch (err) {
        throw usageError(command, err, options);
    }
}

/** Flags and positional arguments (a command's operands, like `logs <node>`). */
export function parseFlagsAndArgs<O extends Options>(command: string, args: string[], options: O) {
    try {
        const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: true });
        return { flags: values, positionals };
    } catch (err) {
        throw usageError(command, err, options);
    }
}

/** parseArgs' complaint as exit 2; an unknown flag gets the command's flags closest to it. */
function usageError(command: string, err: unknown, options: Options): CliError {
    const see = `(see \`${command} --help\`)`;
    const code = (err as { code?: string }).code;
    const unknown = code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? /^Unknown option '([^']+)'/.exec((err as Error).message)?.[1] : undefined;
    if (unknown === undefined) return new CliError(ExitCode.USAGE, `${command}: ${(err as Error).message} ${see}`);
    const near = didYouMean(unknown.replace(/^-+/, ""), [...Object.keys(options), "help"], (name) => `--${name}`);
    return new CliError(ExitCode.USAGE, `${command}: unknown flag ${unknown}${near} ${see}`);
}

/** A Go-style duration ("10m", "90s") in milliseconds. */
export function durationFlag(command: string, flag: string, value: string | undefined, fallback: string): number {
    const text = value ?? fallback;
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
        throw new CliError(ExitCode.USAGE, `${command}: --${flag} "${text}" is not a duration like 90s, 10m or 1h30m`);
    }
    return ms;
}

/** A positive whole number. */
export function countFlag(command: string, flag: string, value: string | undefined): number | undefined {
    if (value === undefined) return undefined;
    if (!/^[1-9][0-9]*$/.test(value)) throw new CliError(ExitCode.USAGE, `${command}: --${flag} "${value}" is not a positive whole number`);
    return Number(value);
}

const LIST_SEPARATOR = ",";

/** "a,b,c" → ["a", "b", "c"]; empty items dropped. */
export function listFlag(value: string | undefined): string[] {
    return (value ?? "").split(LIST_SEPARATOR).map((s) => s.trim()).filter((s) => s !== "");
}

/** ["a", "b", "c"] → "a,b,c": the value listFlag reads back. */
export function formatListFlag(items: readonly string[]): string {
    return items.join(LIST_SEPARATOR);
}
