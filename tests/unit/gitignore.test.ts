// .gitignore keeps out what the README's recipes write with secrets in it, and nothing the
// project tracks. Asked of git itself (`check-ignore --no-index`, so the files need not exist).
import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../support/stack";

const git = spawnSync("git", ["-C", projectRoot, "rev-parse", "--is-inside-work-tree"], { encoding: "utf8" });
const usable = git.status === 0 && git.stdout.trim() === "true";
if (!usable) console.warn("gitignore tests skipped: git is not installed or the project is not a git work tree");

/** Whether git would ignore `path` (relative to the project root). */
function ignored(path: string): boolean {
    const r = spawnSync("git", ["-C", projectRoot, "check-ignore", "--no-index", "-q", path]);
    if (r.status !== 0 && r.status !== 1) throw new Error(`git check-ignore ${path}: exit ${r.status}`);
    return r.status === 0;
}

describe.skipIf(!usable)(".gitignore", () => {
    it.each([
        ["secrets.yaml", "talosctl gen secrets -o secrets.yaml; pulumi stack output talosSecrets > secrets.yaml"],
        ["prod.secrets.yaml", "a bundle named after its stack"],
        ["clusters/lab/secrets.yaml", "a bundle kept in a folder"],
        [".talos-docker/dev/secrets.yaml", "destroy --keep-secrets"],
        ["controlplane.yaml", "talosctl gen config --with-secrets secrets.yaml"],
        ["worker.yaml", "talosctl gen config --with-secrets secrets.yaml"],
        ["talosconfig", "talosctl gen config; kubeconfig --print"],
        ["kubeconfig", "pulumi stack output kubeconfig --show-secrets > kubeconfig"],
    ])("ignores %s (%s)", (path) => {
        expect(ignored(path)).toBe(true);
    });

    it.each(["Pulumi.dev.yaml", "Pulumi.prod.yaml", "manifests/local-path-provisioner.yaml", "tests/conformance/patch-cases.yaml", "talos/secretsfile.ts"])(
        "does not ignore %s",
        (path) => {
            expect(ignored(path)).toBe(false);
        },
    );

    it("ignores no file the project tracks", () => {
        expect(execFileSync("git", ["-C", projectRoot, "ls-files", "-ci", "--exclude-standard"], { encoding: "utf8" })).toBe("");
    });
});
