// The Makefile keeps every target of the seed's, as aliases of what replaced the scripts. What it
// would run is read with `make -n`; what it does when a context or the containers are missing is
// run for real, in a temporary directory with fake kubectl, talosctl and docker alone on PATH.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../model/dockerlabels";
import { DEFAULTS } from "../../model/config";
import { projectRoot, stackFile } from "../support/stack";

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
const dryRun = (target: string, vars: string[] = [], dir = projectRoot) =>
    execFileSync("make", ["-s", "-n", "-C", dir, target, ...vars], { encoding: "utf8", env: { ...process.env, CLUSTER: undefined } }).trim();
/** The command a target runs, after its checks. */
const command = (target: string, vars: string[] = [], dir = projectRoot) => dryRun(target, vars, dir).split("\n").at(-1);

const KUBECTL_TARGETS = ["nodes", "pods", "services", "events", "top-nodes", "top-pods"];
const TALOSCTL_TARGETS = ["shell-cp", "shell-worker-1"];

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
        ["restart", "docker restart $(docker ps -aq --filter label=talos.cluster.name=talos)"],
        ["logs-worker-3", "npm run -s logs -- talos-worker-$(printf %02d 3)"],
    ])("%s runs %s", (target, expected) => {
        expect(command(target)).toBe(expected);
    });

    it("STACK and CLUSTER select another stack and cluster", () => {
        expect(dryRun("status", ["STACK=ci"])).toBe("npm run -s status -- --stack ci");
        expect(command("pods", ["CLUSTER=lab"])).toBe("kubectl --context admin@lab get pods -A -o wide");
    });

    it("shell-* opens the Talos dashboard, or says how to install talosctl", () => {
        expect(dryRun("shell-cp")).toMatch(/talosctl is not installed: see https:\/\/www\.talos\.dev.*talosctl --context talos -n .*talos-cp-01.* dashboard/s);
    });

    it("finds the containers by the label the CLI and the program use", () => {
        expect(command("restart")).toContain(`label=${LABELS.cluster}=talos`);
    });

    it("the dev stack's cluster is the clusterName Pulumi.dev.yaml sets", () => {
        expect(command("nodes")).toBe(`kubectl --context admin@${stackFile("Pulumi.dev.yaml").clusterName} get nodes -o wide`);
    });

    it("every npm script the Makefile calls exists", () => {
        const scripts = Object.keys(require("../../package.json").scripts as Record<string, string>);
        const makefile = readFileSync(`${projectRoot}/Makefile`, "utf8");
        for (const [, script] of makefile.matchAll(/npm run -s ([a-z-]+)/g)) expect(scripts).toContain(script);
    });
});

/** A directory with a copy of the Makefile and the given stack files. */
function projectCopy(stacks: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), "talos-docker-make-"));
    copyFileSync(join(projectRoot, "Makefile"), join(dir, "Makefile"));
    for (const [stack, text] of Object.entries(stacks)) writeFileSync(join(dir, `Pulumi.${stack}.yaml`), text);
    return dir;
}

describe.skipIf(!make)("Makefile: CLUSTER follows STACK", () => {
    const dirs: string[] = [];
    const copy = (stacks: Record<string, string>) => {
        const dir = projectCopy(stacks);
        dirs.push(dir);
        return dir;
    };
    afterAll(() => {
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it.each([
        ["plain", "  talos-docker:clusterName: prod\n"],
        ["double-quoted, with a comment", '  talos-docker:clusterName: "prod" # production\n'],
        ["single-quoted", "  talos-docker:clusterName: 'prod'\n"],
    ])("reads clusterName from Pulumi.<stack>.yaml (%s), with no pulumi on PATH", (_, line) => {
        const dir = copy({ prod: `encryptionsalt: v1:abc\nconfig:\n  talos-docker:talosVersion: v1.8.3\n${line}` });
        expect(command("nodes", ["STACK=prod"], dir)).toBe("kubectl --context admin@prod get nodes -o wide");
        expect(command("shell-cp", ["STACK=prod"], dir)).toMatch(/^talosctl --context prod -n .*prod-cp-01/);
        expect(command("logs-cp", ["STACK=prod"], dir)).toBe("npm run -s logs -- prod-cp-01");
        expect(command("restart", ["STACK=prod"], dir)).toContain("label=talos.cluster.name=prod)");
    });

    it("falls back to the program's default name when the stack file is missing or does not set it", () => {
        const dir = copy({ bare: "config:\n  talos-docker:talosVersion: v1.8.3\n" });
        for (const stack of ["bare", "nofile"]) {
            expect(command("nodes", [`STACK=${stack}`], dir)).toBe(`kubectl --context admin@${DEFAULTS.clusterName} get nodes -o wide`);
        }
    });

    it("CLUSTER= still wins over the stack file", () => {
        const dir = copy({ prod: "config:\n  talos-docker:clusterName: prod\n" });
        expect(command("pods", ["STACK=prod", "CLUSTER=lab"], dir)).toBe("kubectl --context admin@lab get pods -A -o wide");
    });
});

// Fakes that answer what the checks ask, as the real tools do: `kubectl config get-contexts NAME`
// exits 1 for an unknown context; `talosctl config contexts` prints its table (talos@v1.8.3:
// cmd/talosctl/cmd/talos/config.go); `docker ps -q` prints nothing when nothing matches. Every other
// call is logged and succeeds.
const FAKES: Record<string, string> = {
    kubectl: `
if [ "$1 $2" = "config get-contexts" ]; then
    for c in $FAKE_KUBE_CONTEXTS; do [ "$c" = "$3" ] && exit 0; done
    echo "error: context $3 not found" >&2; exit 1
fi
echo "kubectl $*" >> "$FAKE_LOG"`,
    talosctl: `
if [ "$1 $2" = "config contexts" ]; then
    echo "CURRENT   NAME        ENDPOINTS         NODES"
    current="*"
    for c in $FAKE_TALOS_CONTEXTS; do printf '%-9s %-11s 127.0.0.1:50000   172.30.0.2\n' "$current" "$c"; current=""; done
    exit 0
fi
echo "talosctl $*" >> "$FAKE_LOG"`,
    docker: `
case "$1" in
    ps) for id in $FAKE_CONTAINERS; do echo "$id"; done ;;
    inspect) echo 172.30.0.2 ;;
    *) echo "docker $*" >> "$FAKE_LOG" ;;
esac`,
};
/** What the Makefile's recipes need besides the fakes. */
const TOOLS = ["sh", "sed", "awk", "grep", "head", "cat", "printf"];

describe.skipIf(!make)("Makefile: targets that say what is missing", () => {
    let dir: string;
    let log: string;
    beforeAll(() => {
        dir = projectCopy({ dev: "config:\n  talos-docker:clusterName: lab\n" });
        log = join(dir, "calls.log");
        const tools = join(dir, "tools");
        mkdirSync(tools);
        for (const tool of TOOLS) {
            const path = execFileSync("sh", ["-c", `command -v ${tool} || true`], { encoding: "utf8" }).trim();
            if (path.startsWith("/")) symlinkSync(path, join(tools, tool));
        }
        mkdirSync(join(dir, "fakes"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** Runs `make TARGET` with only the named fakes and the basic tools on PATH. */
    function run(target: string, fakes: string[], env: Record<string, string> = {}) {
        const bin = mkdtempSync(join(dir, "fakes", "bin-"));
        for (const name of fakes) {
            writeFileSync(join(bin, name), `#!/bin/sh\n${FAKES[name]}\n`);
            chmodSync(join(bin, name), 0o755);
        }
        writeFileSync(log, "");
        const r = spawnSync(make!, ["-s", "-C", dir, target], {
            encoding: "utf8",
            env: { PATH: `${bin}:${join(dir, "tools")}`, HOME: dir, FAKE_LOG: log, ...env },
        });
        // make adds its own "*** [target] Error 1" line after what the recipe said.
        const said = r.stderr.split("\n").filter((l) => !l.startsWith("make: ")).join("\n").trim();
        return { code: r.status, said, calls: readFileSync(log, "utf8") };
    }

    it.each(KUBECTL_TARGETS)("%s without the context admin@CLUSTER says to run make kubeconfig first, and runs nothing", (target) => {
        const r = run(target, ["kubectl"], { FAKE_KUBE_CONTEXTS: "admin@talos admin@other" });
        expect(r.code).not.toBe(0);
        expect(r.said).toBe("kubectl has no context admin@lab: run make kubeconfig STACK=dev first");
        expect(r.calls).toBe("");
    });

    it("runs kubectl once the context is there", () => {
        const r = run("nodes", ["kubectl"], { FAKE_KUBE_CONTEXTS: "admin@lab" });
        expect(r.code).toBe(0);
        expect(r.calls).toBe("kubectl --context admin@lab get nodes -o wide\n");
    });

    it("says how to install kubectl when there is none", () => {
        const r = run("pods", []);
        expect(r.code).not.toBe(0);
        expect(r.said).toBe("kubectl is not installed: see https://kubernetes.io/docs/tasks/tools/");
    });

    it.each(TALOSCTL_TARGETS)("%s without the talosctl context CLUSTER says to run make talosconfig first", (target) => {
        // "lab" appears in the table only as part of other names: the check matches whole names.
        const r = run(target, ["talosctl", "docker"], { FAKE_TALOS_CONTEXTS: "talos lab-old mylab" });
        expect(r.code).not.toBe(0);
        expect(r.said).toBe("talosctl has no context lab: run make talosconfig STACK=dev first");
        expect(r.calls).toBe("");
    });

    it.each([["current", "lab other"], ["not current", "other lab"]])("runs the dashboard once the talosctl context is there (%s)", (_, contexts) => {
        const r = run("shell-cp", ["talosctl", "docker"], { FAKE_TALOS_CONTEXTS: contexts });
        expect(r.code).toBe(0);
        expect(r.calls).toBe("talosctl --context lab -n 172.30.0.2 dashboard\n");
    });

    it("restart with no containers says so and fails, instead of docker's usage text", () => {
        const r = run("restart", ["docker"], { FAKE_CONTAINERS: "" });
        expect(r.code).not.toBe(0);
        expect(r.said).toBe("no containers of cluster lab (label talos.cluster.name=lab): deploy it first with make deploy-infra STACK=dev");
        expect(r.calls).toBe("");
    });

    it("restart restarts every container of the cluster", () => {
        const r = run("restart", ["docker"], { FAKE_CONTAINERS: "c1 c2 c3" });
        expect(r.code).toBe(0);
        expect(r.calls).toBe("docker restart c1 c2 c3\n");
    });
});

// The check against the real kubectl, where there is one: an empty kubeconfig has no admin@CLUSTER.
const kubectl = spawnSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).stdout.trim();
if (!kubectl) console.warn("makefile: the real-kubectl check is skipped: kubectl is not installed");
describe.skipIf(!make || !kubectl)("Makefile with the real kubectl", () => {
    it("an empty kubeconfig makes nodes say to run make kubeconfig first", () => {
        const dir = mkdtempSync(join(tmpdir(), "talos-docker-kube-"));
        try {
            const kubeconfig = join(dir, "config");
            writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\n");
            const r = spawnSync(make!, ["-s", "-C", projectRoot, "nodes"], {
                encoding: "utf8", env: { ...process.env, CLUSTER: "talos", KUBECONFIG: kubeconfig, HOME: dir },
            });
            expect(r.status).not.toBe(0);
            expect(r.stderr.split("\n")[0]).toBe("kubectl has no context admin@talos: run make kubeconfig STACK=dev first");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
