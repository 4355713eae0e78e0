// A node's CPUs as the Docker provider stores them. Its `cpus` is a string, ForceNew, and read back
// from the engine's NanoCPUs in a format of its own, so the program must declare exactly that
// string: "2" against the stored "2.0" replaces every node container on every `pulumi up`.
// Pure; the arithmetic is exact (bigint), as the provider's is (math/big).

const NANO_PER_CPU = 1_000_000_000n;

/** CPUs in steps of 0.01, as the stack config takes them, as Docker's NanoCPUs. */
export function nanoCpus(cpus: number): bigint {
    return BigInt(Math.round(cpus * 100)) * (NANO_PER_CPU / 100n);
}

/** `big.Rat.FloatString(digits)` of nano / 1e9 for nano ≥ 0: the last digit rounded half away from zero. */
function floatString(nano: bigint, digits: number): string {
    const scale = 10n ** BigInt(digits);
    const scaled = (nano * scale * 2n + NANO_PER_CPU) / (NANO_PER_CPU * 2n);
    const whole = scaled / scale;
    const fraction = (scaled % scale).toString().padStart(digits, "0");
    return digits === 0 ? whole.toString() : `${whole}.${fraction}`;
}

/**
 * What the provider stores for `cpus` after reading the container back:
 * terraform-provider-docker@v4.5.0:internal/provider/helpers.go `nanoInt64ToDecimalString`. It
 * writes nine decimals, then takes a string with exactly nine "0" characters for a whole number
 * ("2.000000000" → "2.0") and trims the trailing zeros of any other. Counting every "0" of the
 * string, not the decimals', makes two quirks: 10 CPUs have ten zeros and come back as "10." (a
 * string Docker still parses as 10), and 10.05 has nine and comes back rounded to "10.1".
 */
export function cpusReadBack(nano: bigint): string {
    if (nano === 0n) return "0";
    const text = floatString(nano, 9);
    if ([...text].filter((c) => c === "0").length === 9) return floatString(nano, 1);
    return text.replace(/0+$/, "");
}

/**
 * NanoCPUs from decimal text, as the provider's create parses `cpus` (docker/cli opts.ParseCPUs:
 * a big.Rat times 1e9, refused unless whole); undefined for text that is not a plain decimal or
 * is finer than a nanosecond of CPU.
 */
export function parseCpus(text: string): bigint | undefined {
    const match = /^([0-9]+)\.?([0-9]*)$|^\.([0-9]+)$/.exec(text);
    if (match === null) return undefined;
    const whole = match[1] ?? "0";
    const fraction = (match[2] ?? match[3] ?? "").replace(/0+$/, "");
    if (fraction.length > 9) return undefined;
    return BigInt(whole) * NANO_PER_CPU + BigInt(fraction.padEnd(9, "0"));
}

/**
 * The `cpus` string to declare for a node of `cpus` CPUs: the provider's own read-back, which
 * Docker parses back to the same NanoCPUs. Undefined when there is none: the read-back is rounded
 * (10.05 → "10.1"), so declaring it would give the node other CPUs, and declaring anything else
 * would replace it on every `pulumi up`.
 */
export function declaredCpus(cpus: number): string | undefined {
    const nano = nanoCpus(cpus);
    const text = cpusReadBack(nano);
    return parseCpus(text) === nano ? text : undefined;
}

/** The values next to `cpus` (in steps of 0.01) that have a declaration, below and above it. */
export function nearestDeclarableCpus(cpus: number): { below?: number; above?: number } {
    const steps = Math.round(cpus * 100);
    const find = (direction: number): number | undefined => {
        // Refused values come at most nine in a row (N.a1–N.a9): N.a0 always has a declaration.
        for (let s = steps + direction, n = 0; n < 100 && s > 0; s += direction, n++) {
            if (declaredCpus(s / 100) !== undefined) return s / 100;
        }
        return undefined;
    };
    return { below: find(-1), above: find(1) };
}
