// "Did you mean …?" for a misspelt command or flag: the known words closest to what was typed,
// by edit distance (a swap of two neighbours counts as one edit, as in "statsu"), or those it
// begins.

/** The candidates worth suggesting for `typed`, closest first; empty when none is close. */
export function closest(typed: string, candidates: readonly string[]): string[] {
    const word = typed.toLowerCase();
    // Short words are too easily one edit from anything: allow one edit per three letters.
    const allowed = Math.max(1, Math.floor(word.length / 3));
    const scored = candidates
        .map((candidate) => ({ candidate, distance: editDistance(word, candidate.toLowerCase()) }))
        .filter(({ candidate, distance }) => distance <= allowed || (word.length >= 3 && candidate.toLowerCase().startsWith(word)));
    if (scored.length === 0) return [];
    const best = Math.min(...scored.map((s) => s.distance));
    return scored.filter((s) => s.distance === best).map((s) => s.candidate);
}

/** "; did you mean status?" to append to an error, or "" when nothing is close. */
export function didYouMean(typed: string, candidates: readonly string[], quote: (word: string) => string = (w) => w): string {
    const near = closest(typed, candidates);
    return near.length === 0 ? "" : `; did you mean ${near.map(quote).join(" or ")}?`;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
    const rows = a.length + 1;
    const cols = b.length + 1;
    // d[i][j]: the distance between the first i letters of a and the first j of b.
    const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 || j === 0 ? i + j : 0)));
    for (let i = 1; i < rows; i++) {
        for (let j = 1; j < cols; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}
