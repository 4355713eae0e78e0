// A promise's outcome as a value, so that probes run side by side can each report their own
// failure instead of one rejecting the lot.

export type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

export function settle<T>(p: Promise<T>): Promise<Settled<T>> {
    return p.then(
        (value) => ({ ok: true as const, value }),
        (err: unknown) => ({ ok: false as const, error: err instanceof Error ? err : new Error(String(err)) }),
    );
}
