// Where Talos' ApplyConfiguration texts carry a config diff, and how to keep it apart: the diff
// shows changed lines of the machine config, and those can be keys, tokens or certificates, so
// it must never reach a message or a log unredacted.
//
// - An AUTO apply that needs a reboot answers with mode_details "Applied configuration with a
//   reboot: " + machined's CanApplyImmediate error, and NO_REBOOT/TRY fail with that error as an
//   InvalidArgument: "this config change can't be applied in immediate mode\ndiff:\n" + diff
//   (talos@v1.8.3 and v1.13.9:internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go).
// - A dry run answers "Dry run summary:\n<what it would do> (skipped in dry-run).\n" +
//   "Config diff:\n\n" + the diff, or "Config diff:\n\nNo changes."
//   (talos@v1.8.3 and v1.13.9:internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go
//   `ApplyConfiguration`, `generateDiff`).

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
