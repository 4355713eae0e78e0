// Where Talos' ApplyConfiguration texts carry machine-config text, and how to keep it apart: a
// diff shows changed lines of the config, and those can be keys, tokens or certificates, so it
// must never reach a message or a log unredacted.
//
// - An AUTO apply that needs a reboot answers with mode_details "Applied configuration with a
//   reboot: " + machined's CanApplyImmediate error, and NO_REBOOT/TRY fail with that error as an
//   InvalidArgument: "this config change can't be applied in immediate mode\ndiff:\n" + diff
//   (talos@v1.8.3 and v1.13.9:internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go).
// - A dry run answers "Dry run summary:\n<what it would do> (skipped in dry-run).\n" +
//   "Config diff:\n\n" + the diff, or "Config diff:\n\nNo changes."
//   (talos@v1.8.3 and v1.13.9:internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go
//   `ApplyConfiguration`, `generateDiff`).
// - A config with keys Talos does not know is refused with "unknown keys found during decoding:\n"
//   and those keys as YAML, values included (talos@v1.8.3 and v1.13.9:pkg/machinery/config/
//   configloader/internal/decoder/unknown_keys.go).

const DIFF_START = /\n(?:diff:\n|Config diff:\n\n)/;
const NO_CHANGES = "No changes.";

/** A Talos text split into what is safe to print and the config diff it carried. */
export interface SplitText {
    /** the text before the diff; "No changes." is kept, being no diff at all */
    text: string;
    /** the diff (unified, as Talos printed it); "" when Talos said "No changes."; absent when there was none */
    diff?: string;
}

export function splitConfigDiff(text: string): SplitText {
    const match = DIFF_START.exec(text);
    if (match === null) return { text };
    const before = text.slice(0, match.index);
    const after = text.slice(match.index + match[0].length);
    if (after.trim() === NO_CHANGES) return { text: `${before}\n${NO_CHANGES}`, diff: "" };
    return { text: before, diff: after };
}

const UNKNOWN_KEYS = "unknown keys found during decoding:";

/**
 * A Talos error text with the config text it quotes cut off: the diff, and the YAML of unknown
 * keys (their values may be secrets; our own validation names their paths before anything is sent).
 */
export function withoutConfigText(message: string): string {
    const { text } = splitConfigDiff(message);
    const at = text.indexOf(UNKNOWN_KEYS);
    return at < 0 ? text : `${text.slice(0, at + UNKNOWN_KEYS.length)} (not shown: they are config text)`;
}
