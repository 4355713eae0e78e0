// Config patch types, shared by the parser and the two appliers (see ../patches.ts).

/** One RFC 6902 operation (talosctl reads them from YAML or JSON). */
export type Json6902Op =
    | { op: "add"; path: string; value: unknown }
    | { op: "remove"; path: string }
    | { op: "replace"; path: string; value: unknown }
    | { op: "move"; from: string; path: string }
    | { op: "copy"; from: string; path: string }
    | { op: "test"; path: string; value: unknown };

/** A config patch as `talosctl --config-patch` takes it. */
export type ConfigPatch = { kind: "strategic"; documents: unknown[] } | { kind: "json6902"; operations: Json6902Op[] };

/** A patch that does not parse or does not apply; the message says what and where. */
export class PatchError extends Error {
    /**
     * @param fields where in the machine config the patch fails, when that is known: dotted paths
     *   (`machine.kubelet.nonsense`) for a key Talos does not have, JSON pointers for an operation
     */
    constructor(
        message: string,
        readonly fields: readonly string[] = [],
    ) {
        super(message);
        this.name = "PatchError";
    }
}
