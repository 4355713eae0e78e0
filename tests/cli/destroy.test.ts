// `destroy` against a fake `pulumi` on PATH that records every call: the keep-secrets path
// writes the talosSecrets output where secretsFile points before destroying; a plain destroy
// only destroys; a bad secrets output destroys nothing.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { parseClusterSpec } from "../../model/config";
import { renderSecretsYaml } from "../../talos/secretsfile";
import { makeSecretsBundle } from "../support/pki";
import { runCli } from "./support/harness";

let secretsYaml: string;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
    secretsYaml = renderSecretsYaml(await makeSecretsBundle({ rsaBits: 2048 }));
});

/** A `pulumi` that logs its argv and answers the calls destroy makes. */
function fakePulumi(talosSecrets: string, destroyExit = 0): void {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(dir, "talosSecrets.out"), talosSecrets);
    writeFileSync(join(bin, "pulumi"), `#!/bin/sh
echo "$@" >> "${dir}/calls"
echo "$1 \${PULUMI_K8S_DELETE_UNREACHABLE-unset}" >> "${dir}/delete-unreachable"
echo "$1 \${TALOS_DOCKER_DESTROYING-unset}" >> "${dir}/destroying"
case "$1 $2" in
  "stack --show-name") echo dev ;;
  "stack output") cat "${dir}/talosSecrets.out" ;;
  "config set") ;;
  "destroy "*) exit ${destroyExit} ;;
esac
`, { mode: 0o755 });
    env = { PATH: `${bin}:/usr/bin:/bin` };
}

const calls = () => readFileSync(join(dir, "calls"), "utf8").trim().split("\n");
/** Each call's first argument and PULUMI_K8S_DELETE_UNREACHABLE as it saw it ("unset" when absent). */
const deleteUnreachable = () => readFileSync(join(dir, "delete-unreachable"), "utf8").trim().split("\n");
/** Each call's first argument and TALOS_DOCKER_DESTROYING as it saw it. */
const destroying = () => readFileSync(join(dir, "destroying"), "utf8").trim().split("\n");

beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "talos-docker-destroy-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("--keep-secrets: saves talosSecrets (0600), points secretsFile at it, then destroys", async () => {
    fakePulumi(secretsYaml);
    const project = join(dir, "project");
    const run = await runCli(["destroy", "--keep-secrets", "--yes", "--project-dir", project], env);
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(calls()).toEqual([
        "stack --show-name",
        "stack output talosSecrets --show-secrets --stack dev",
        "config set secretsFile .talos-docker/dev/secrets.yaml --stack dev",
        "destroy --stack dev --yes",
    ]);
    const kept = join(project, ".talos-docker", "dev", "secrets.yaml");
    expect(readFileSync(kept, "utf8")).toBe(secretsYaml);
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    expect(statSync(join(project, ".talos-docker", "dev")).mode & 0o777).toBe(0o700);
    expect(run.out[0]).toBe("[destroy] kept the cluster's secrets in .talos-docker/dev/secrets.yaml and set secretsFile on stack dev");
    // What the next `pulumi up` reads: the same bundle, from the file secretsFile names.
    const spec = parseClusterSpec({ secretsFile: ".talos-docker/dev/secrets.yaml" }, { readFile: (p) => readFileSync(join(project, p), "utf8") });
    expect(renderSecretsYaml(spec.importedSecrets!.bundle)).toBe(secretsYaml);
});

it("a plain destroy keeps nothing and sets no config", async () => {
    fakePulumi(secretsYaml);
    const run = await runCli(["destroy", "--stack", "dev"], env);
    expect(run.code).toBe(0);
    expect(calls()).toEqual(["destroy --stack dev"]);
    expect(run.out).toEqual(["[destroy] done: the cluster's containers, volumes and network are gone"]);
});

it("refuses to destroy when the secrets output is not a usable bundle", async () => {
    fakePulumi("cluster: {}\n");
    const project = join(dir, "project");
    const run = await runCli(["destroy", "--keep-secrets", "--stack", "dev", "--project-dir", project], env);
    expect(run.code).toBe(1);
    expect(run.err[0]).toMatch(/^\[destroy\] error: the stack's talosSecrets output is not a usable secrets bundle \(.*\); nothing was destroyed$/);
    expect(calls()).toEqual(["stack output talosSecrets --show-secrets --stack dev"]);
    expect(existsSync(join(project, ".talos-docker"))).toBe(false);
});

it("a failed pulumi destroy is an error that points at pulumi's output", async () => {
    fakePulumi(secretsYaml, 255);
    const run = await runCli(["destroy", "--stack", "dev"], env);
    expect(run.code).toBe(1);
    expect(run.err).toEqual(["[destroy] error: `pulumi destroy` failed (exit 255); its output above says why"]);
});

// The cluster may already be down (containers stopped or removed): then the Kubernetes provider can
// delete the cluster's objects only from the state, which it does when this variable is "true".
it("runs pulumi destroy with PULUMI_K8S_DELETE_UNREACHABLE=true, and only that call", async () => {
    fakePulumi(secretsYaml);
    const run = await runCli(["destroy", "--keep-secrets", "--yes", "--project-dir", join(dir, "project")], env);
    expect(run.code).toBe(0);
    expect(deleteUnreachable()).toEqual(["stack unset", "stack unset", "config unset", "destroy true"]);
});

it("keeps a PULUMI_K8S_DELETE_UNREACHABLE the user set", async () => {
    fakePulumi(secretsYaml);
    const run = await runCli(["destroy", "--stack", "dev"], { ...env, PULUMI_K8S_DELETE_UNREACHABLE: "false" });
    expect(run.code).toBe(0);
    expect(deleteUnreachable()).toEqual(["destroy false"]);
});

// Every node goes: the nodes' remove-node commands, which pulumi destroy runs, must not drain or leave etcd.
it("tells the nodes' remove-node through TALOS_DOCKER_DESTROYING=1 that the whole stack goes, in destroy only", async () => {
    fakePulumi(secretsYaml);
    const run = await runCli(["destroy", "--keep-secrets", "--yes", "--project-dir", join(dir, "project")], env);
    expect(run.code).toBe(0);
    expect(destroying()).toEqual(["stack unset", "stack unset", "config unset", "destroy 1"]);
});
