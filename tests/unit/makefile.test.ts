// The Makefile keeps every target of the seed's, as aliases of what replaced the scripts.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../support/stack";

const SEED_TARGETS = [
    "check-deps", "deploy-infra", "destroy-infra", "destroy-infra-keep-config", "status", "kubeconfig",
    "restart", "nodes", "pods", "services", "events", "top-nodes", "top-pods", "logs-cp", "logs-worker-1",
    "logs-worker-2", "shell-cp", "shell-worker-1",
];

let make: string | undefined;
try {
    make = execFileSync("sh", ["-c", "command -v make"], { encoding: "utf8" }).trim() || undefined;
} catch {
    make = undefined;
}
if (!make) console.warn("makefile tests skipped: `make` is not installed (apt-get install make)");

/** What `make -n TARGET` would run. */
const dryRun = (target: string, vars: string[] = []) =>
    execFileSync("make", ["-s", "-n", "-C", projectRoot, target, ...vars], { encoding: "utf8" }).trim();

describe.skipIf(!make)("Makefile", () => {
    it.each(SEED_TARGETS)("has the seed's target %s", (target) => {
        expect(dryRun(target)).not.toBe("");
    });

    it.each([
        ["deploy-infra", "pulumi up --stack dev"],
        ["destroy-infra", "npm run -s destroy -- --stack dev"],
        ["destroy-infra-keep-config", "npm run -s destroy -- --stack dev --keep-secrets"],
        ["check-deps", "npm run -s doctor -- --stack dev"],
        ["nodes", "kubectl --context admin@talos get nodes -o wide"],
        ["logs-worker-3", "npm run -s logs -- talos-worker-$(printf %02d 3)"],
    ])("%s runs %s", (target, command) => {
        expect(dryRun(target)).toBe(command);
    });

    it("STACK and CLUSTER select another stack and cluster", () => {
        expect(dryRun("status", ["STACK=ci"])).toBe("npm run -s status -- --stack ci");
        expect(dryRun("pods", ["CLUSTER=lab"])).toBe("kubectl --context admin@lab get pods -A -o wide");
    });

    it("shell-* opens the Talos dashboard, or says how to install talosctl", () => {
        expect(dryRun("shell-cp")).toMatch(/talosctl is not installed: see https:\/\/www\.talos\.dev.*talosctl --context talos -n .*talos-cp-01.* dashboard/s);
    });

    it("every npm script the Makefile calls exists", () => {
        const scripts = Object.keys(require("../../package.json").scripts as Record<string, string>);
        const makefile = require("node:fs").readFileSync(`${projectRoot}/Makefile`, "utf8") as string;
        for (const [, script] of makefile.matchAll(/npm run -s ([a-z-]+)/g)) expect(scripts).toContain(script);
    });
});
