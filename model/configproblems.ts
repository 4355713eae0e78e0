// A stack-config problem as `pulumi up` and `doctor` both print it: the key, its value, what is
// allowed, and the command (or the edit) that fixes it. Pure: the parser (./config.ts) collects
// these, and both callers print ConfigError's message as it is.

/** The program's config namespace, as in Pulumi.yaml's `name`. */
export const CONFIG_NAMESPACE = "talos-docker";

export interface ConfigProblem {
    /**
     * The key as `pulumi config` names it, namespace included (`talos-docker:workers.memoryMiB`,
     * `talos:clusterName`), or the stack file's path for a problem with the file itself.
     */
    key: string;
    /** The value as shown: JSON, shortened; `[secret]` for a secret key. Absent for the file's own problems. */
    value?: string;
    /** What is wrong, and what is allowed. */
    message: string;
    /** The command to run or the edit to make, with a value that passes where one is obvious. */
    fix: string;
}

/** `talos-docker:workers.memoryMiB = 512: must be …` (no value part for a problem with the file). */
export function describeProblem(problem: ConfigProblem): string {
    const value = problem.value === undefined ? "" : ` = ${problem.value}`;
    return `${problem.key}${value}: ${problem.message}`;
}

/** Each problem as a list item, its fix on an indented line below it. */
export function formatProblems(problems: readonly ConfigProblem[]): string[] {
    return problems.flatMap((p) => [`  - ${describeProblem(p)}`, `    fix: ${p.fix}`]);
}

/** One warning, as `pulumi up` logs it. */
export function formatWarning(warning: ConfigProblem): string {
    return `${describeProblem(warning)}\n  fix: ${warning.fix}`;
}

/**
 * Every problem of the stack config, at once; `notes` say what could not be checked because of
 * them. `warnings` are not part of the message: callers show them as warnings.
 */
export class ConfigError extends Error {
    constructor(
        readonly problems: readonly ConfigProblem[],
        readonly notes: readonly string[] = [],
        readonly warnings: readonly ConfigProblem[] = [],
    ) {
        const count = `${problems.length} problem${problems.length === 1 ? "" : "s"}`;
        super([
            `invalid stack configuration (${count}); nothing was created:`,
            ...formatProblems(problems),
            ...notes.map((n) => `  note: ${n}`),
        ].join("\n"));
        this.name = "ConfigError";
    }
}

/** The file Pulumi keeps a stack's config in, in the project directory (`<stack>` for any stack). */
export function stackFileName(stack: string): string {
    return `Pulumi.${stack}.yaml`;
}

/** A key in our namespace, as `pulumi config` names it: `workers.memoryMiB` → `talos-docker:workers.memoryMiB`. */
export function ourKey(key: string): string {
    return `${CONFIG_NAMESPACE}:${key}`;
}

/** The `--stack` to name in commands, when the fix is for a stack other than the selected one. */
function stackFlag(stack: string | undefined): string[] {
    return stack === undefined ? [] : ["--stack", shellWord(stack)];
}

/** A key below the top level (an object's field, a list item) needs `--path`. */
function isNested(key: string): boolean {
    return /[.[]/.test(key);
}

/**
 * `pulumi config set` of one of our keys to `value`. With `--path`, Pulumi stores "true"/"false"
 * as booleans and integers as numbers, everything else as a string (pulumi config set --help), so
 * a number that is not an integer needs `--type float` and a string that looks like one of those
 * needs `--type string`; top-level values are always strings.
 */
export function setCommand(
    key: string,
    value: string | number | boolean,
    options: { secret?: boolean; stack?: string } = {},
): string {
    const flags = [
        ...stackFlag(options.stack),
        ...(options.secret === true ? ["--secret"] : []),
        ...(isNested(key) ? ["--path", ...pathType(value)] : []),
    ];
    return ["pulumi config set", ...flags, keyArgument(key), valueArgument(String(value))].join(" ");
}

function pathType(value: string | number | boolean): string[] {
    if (typeof value === "number") return Number.isInteger(value) ? [] : ["--type", "float"];
    if (typeof value === "string" && /^(true|false|-?[0-9]+)$/.test(value)) return ["--type", "string"];
    return [];
}

/** `pulumi config rm` of one of our keys (`--path` below the top level). */
export function rmCommand(key: string, stack?: string): string {
    return ["pulumi config rm", ...stackFlag(stack), ...(isNested(key) ? ["--path"] : []), keyArgument(key)].join(" ");
}

/** `pulumi config rm` of a top-level key in any namespace, given whole (`talos:clusterName`). */
export function rmFullKeyCommand(fullKey: string, stack?: string): string {
    return ["pulumi config rm", ...stackFlag(stack), shellWord(fullKey)].join(" ");
}

/**
 * A `<placeholder>` is left bare for the reader to replace; anything else is quoted for the shell,
 * after `--` when it starts with "-" (the CLI would read it as a flag: pulumi config set <key> [--] [value]).
 */
function valueArgument(value: string): string {
    if (/^<[a-z ]+>$/.test(value)) return value;
    return value.startsWith("-") ? `-- ${shellWord(value)}` : shellWord(value);
}

function keyArgument(key: string): string {
    // A path's brackets and dots read better quoted, and brackets would glob unquoted.
    return isNested(key) ? `'${ourKey(key).replace(/'/g, "'\\''")}'` : shellWord(ourKey(key));
}

/** The word as a POSIX shell reads it back: bare when it is plain, else single-quoted. */
export function shellWord(word: string): string {
    return /^[A-Za-z0-9_/.:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** The shape of the value shown beside a key: JSON, cut at 80 characters. */
export function showValue(value: unknown): string {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export interface ProblemsOptions {
    /** Top-level keys, namespace included, whose values are secret. */
    secretKeys?: Iterable<string>;
    /** The stack file, named in fixes that edit it (default `Pulumi.<stack>.yaml`). */
    stackFile?: string;
    /** The stack to name in commands (`--stack`); none for the selected stack. */
    stack?: string;
}

/**
 * Collects problems and warnings. A key marked secret (Pulumi's `--secret`, by its top-level key)
 * never has its value shown, nor a fix built from it.
 */
export class Problems {
    readonly errors: ConfigProblem[] = [];
    readonly warnings: ConfigProblem[] = [];
    /** What could not be checked because of an error, said once instead of guessed at. */
    readonly notes: string[] = [];

    private readonly secretKeys: ReadonlySet<string>;
    /** The stack file, for fixes that edit it. */
    readonly stackFile: string;
    private readonly stack?: string;

    constructor(options: ProblemsOptions = {}) {
        this.secretKeys = new Set(options.secretKeys ?? []);
        this.stackFile = options.stackFile ?? stackFileName("<stack>");
        this.stack = options.stack;
    }

    /** setCommand for this stack. */
    set(key: string, value: string | number | boolean): string {
        return setCommand(key, value, { stack: this.stack });
    }

    /** rmCommand for this stack. */
    rm(key: string): string {
        return rmCommand(key, this.stack);
    }

    /** rmFullKeyCommand for this stack. */
    rmFullKey(fullKey: string): string {
        return rmFullKeyCommand(fullKey, this.stack);
    }

    /** A problem with one of our keys, named without the namespace (`workers.memoryMiB`). */
    add(key: string, value: unknown, message: string, fix: string): void {
        this.errors.push(this.problem(ourKey(key), value, message, fix, key));
    }

    warn(key: string, value: unknown, message: string, fix: string): void {
        this.warnings.push(this.problem(ourKey(key), value, message, fix, key));
    }

    /** A problem with a key of another namespace, given whole (`talos:clusterName`). */
    addFullKey(fullKey: string, value: unknown, message: string, fix: string, severity: "error" | "warning"): void {
        const problem = this.problem(fullKey, value, message, fix);
        (severity === "error" ? this.errors : this.warnings).push(problem);
    }

    note(text: string): void {
        this.notes.push(text);
    }

    isSecret(fullKey: string): boolean {
        return this.secretKeys.has(fullKey.split(/[.[]/)[0]);
    }

    private problem(fullKey: string, value: unknown, message: string, fix: string, ours?: string): ConfigProblem {
        if (!this.isSecret(fullKey)) return { key: fullKey, value: showValue(value), message, fix };
        const rm = ours === undefined ? this.rmFullKey(fullKey) : this.rm(ours);
        const again = ours === undefined ? undefined : setCommand(ours, "<value>", { secret: true, stack: this.stack });
        const set = again === undefined ? "" : `set it again (${again}), or `;
        return { key: fullKey, value: "[secret]", message, fix: `${set}remove it (${rm})` };
    }
}
