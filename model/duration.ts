// Durations as people write them in stack config and on the command line: "90s", "10m", "1h30m".

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds of a Go-style duration ("10m", "1h30m", "500ms"), or undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
    if (!/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/.test(text)) return undefined;
    let total = 0;
    for (const [, amount, , unit] of text.matchAll(/([0-9]+(\.[0-9]+)?)(ms|s|m|h)/g)) {
        total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
    }
    return total;
}

/** "2m05s" style, for progress lines and error messages. */
export function formatDuration(ms: number): string {
    const seconds = Math.round(ms / 1000);
    if (seconds < 60) return `${seconds}s`;
    const minutes = Math.floor(seconds / 60);
    return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
}
