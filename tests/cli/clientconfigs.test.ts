// `kubeconfig` and `talosconfig`: merged into the user's files with nothing else lost, the same
// file on a second run, a backup, owner-only permissions; --print; the stack output as source.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { MergeError, mergeKubeconfig, mergeTalosconfig } from "../../cli/clientconfigs/merge";
import { userConfigPath } from "../../cli/clientconfigs/files";
import { renderKubeconfig, renderTalosconfig } from "../../talos/clientconfig";
import { runCli } from "./support/harness";

const pem = (label: string, seed: string) => `-----BEGIN ${label}-----\n${Buffer.from(seed).toString("base64")}\n-----END ${label}-----\n`;
const ours = renderKubeconfig({ clusterName: "talos", server: "https://127.0.0.1:6444", ca: pem("CERTIFICATE", "ca"), crt: pem("CERTIFICATE", "crt"), key: pem("EC PRIVATE KEY", "key") });
const oursTalos = renderTalosconfig({ contextName: "talos", endpoints: ["127.0.0.1:50000"], nodes: ["172.30.0.2"], ca: pem("CERTIFICATE", "ca"), crt: pem("CERTIFICATE", "crt"), key: pem("ED25519 PRIVATE KEY", "key") });

// A user's kubeconfig with a kind cluster, a comment, and a stale entry of ours.
const existing = `# my clusters
apiVersion: v1
kind: Config
clusters:
  - name: kind-dev
    cluster:
      server: https://127.0.0.1:41234
  - name: talos
    cluster:
      server: https://127.0.0.1:9999
users:
  - name: kind-dev
    user:
      token: abc
contexts:
  - name: kind-dev
    context:
      cluster: kind-dev
      user: kind-dev
current-context: kind-dev
preferences: {}
`;

describe("mergeKubeconfig", () => {
    it("adds our cluster, user and context, replaces the stale entry, keeps everything else", () => {
        const result = mergeKubeconfig(existing, ours, { switchContext: true });
        const merged = parse(result.text);
        expect(result).toMatchObject({ changed: true, context: "admin@talos" });
        expect(merged.clusters.map((c: { name: string }) => c.name)).toEqual(["kind-dev", "talos"]);
        expect(merged.clusters[1].cluster.server).toBe("https://127.0.0.1:6444");
        expect(merged.clusters[0]).toEqual({ name: "kind-dev", cluster: { server: "https://127.0.0.1:41234" } });
        expect(merged.users.map((u: { name: string }) => u.name)).toEqual(["kind-dev", "admin@talos"]);
        expect(merged.users[0].user.token).toBe("abc");
        expect(merged.contexts.map((c: { name: string }) => c.name)).toEqual(["kind-dev", "admin@talos"]);
        expect(merged["current-context"]).toBe("admin@talos");
        expect(result.text.startsWith("# my clusters\n")).toBe(true);
    });

    it("is idempotent: merging again changes nothing", () => {
        const once = mergeKubeconfig(existing, ours, { switchContext: true });
        const twice = mergeKubeconfig(once.text, ours, { switchContext: true });
        expect(twice).toEqual({ text: once.text, changed: false, context: "admin@talos" });
    });

    it("--no-switch keeps the current context, unless there is none", () => {
        expect(parse(mergeKubeconfig(existing, ours, { switchContext: false }).text)["current-context"]).toBe("kind-dev");
        expect(parse(mergeKubeconfig(undefined, ours, { switchContext: false }).text)["current-context"]).toBe("admin@talos");
    });

    it("a missing or empty file becomes a kubeconfig holding only our cluster", () => {
        const merged = parse(mergeKubeconfig("", ours, { switchContext: true }).text);
        expect(merged).toMatchObject({ apiVersion: "v1", kind: "Config", "current-context": "admin@talos" });
        expect(merged.clusters).toHaveLength(1);
    });

    it("refuses to touch a file that is not a kubeconfig", () => {
        expect(() => mergeKubeconfig("clusters: [unclosed\n", ours, { switchContext: true })).toThrow(new MergeError("is not valid YAML (line 2, column 1); fix or move it, then run again"));
        expect(() => mergeKubeconfig("- a\n- b\n", ours, { switchContext: true })).toThrow("is not a kubeconfig (not a YAML map)");
    });
});

describe("mergeTalosconfig", () => {
    const other = "context: prod\ncontexts:\n  prod:\n    endpoints: [10.0.0.1]\n";

    it("adds our context beside the others and switches to it", () => {
        const result = mergeTalosconfig(other, oursTalos, { switchContext: true });
        const merged = parse(result.text);
        expect(Object.keys(merged.contexts)).toEqual(["prod", "talos"]);
        expect(merged.contexts.prod).toEqual({ endpoints: ["10.0.0.1"] });
        expect(merged.contexts.talos.endpoints).toEqual(["127.0.0.1:50000"]);
        expect(merged.context).toBe("talos");
        expect(mergeTalosconfig(result.text, oursTalos, { switchContext: true }).changed).toBe(false);
    });

    it("--no-switch keeps the current context", () => {
        expect(parse(mergeTalosconfig(other, oursTalos, { switchContext: false }).text).context).toBe("prod");
    });
});

describe("userConfigPath", () => {
    it("the first KUBECONFIG entry, else ~/.kube/config; TALOSCONFIG, else ~/.talos/config", () => {
        expect(userConfigPath("kubeconfig", { KUBECONFIG: "/a/one:/b/two" }, "/home/u")).toBe("/a/one");
        expect(userConfigPath("kubeconfig", {}, "/home/u")).toBe("/home/u/.kube/config");
        expect(userConfigPath("talosconfig", { TALOSCONFIG: "/t/config" }, "/home/u")).toBe("/t/config");
        expect(userConfigPath("talosconfig", {}, "/home/u")).toBe("/home/u/.talos/config");
    });
});

describe("the commands", () => {
    let dir: string;
    beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), "talos-docker-kubeconfig-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("kubeconfig: merges into $KUBECONFIG with a backup and 0600, then has nothing to change", async () => {
        const file = join(dir, "config");
        writeFileSync(file, existing);
        chmodSync(file, 0o644);
        const env = { KUBECONFIG: file, TALOS_DOCKER_KUBECONFIG: ours };

        const first = await runCli(["kubeconfig"], env);
        expect(first.code).toBe(0);
        expect(first.out).toEqual([`merged context admin@talos into ${file} (previous file: ${file}.bak)`]);
        expect(readFileSync(`${file}.bak`, "utf8")).toBe(existing);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const after = readFileSync(file, "utf8");
        expect(parse(after)["current-context"]).toBe("admin@talos");

        const second = await runCli(["kubeconfig"], env);
        expect(second.out).toEqual([`${file} already has context admin@talos: nothing to change`]);
        expect(readFileSync(file, "utf8")).toBe(after);
        expect(readFileSync(`${file}.bak`, "utf8")).toBe(existing);
    });

    it("talosconfig --file creates the file and its directory", async () => {
        const file = join(dir, "talos", "config");
        const run = await runCli(["talosconfig", "--file", file], { TALOS_DOCKER_TALOSCONFIG: oursTalos });
        expect(run.code).toBe(0);
        expect(run.out).toEqual([`merged context talos into ${file}`]);
        expect(existsSync(`${file}.bak`)).toBe(false);
        expect(parse(readFileSync(file, "utf8")).context).toBe("talos");
    });

    it("--print writes the cluster's config to stdout and touches no file", async () => {
        const file = join(dir, "untouched");
        const run = await runCli(["kubeconfig", "--print"], { KUBECONFIG: file, TALOS_DOCKER_KUBECONFIG: ours });
        expect(run.out).toEqual([ours.trimEnd()]);
        expect(existsSync(file)).toBe(false);
    });

    it("refuses a broken kubeconfig and leaves it as it was", async () => {
        const file = join(dir, "broken");
        writeFileSync(file, "clusters: [unclosed\n");
        const run = await runCli(["kubeconfig"], { KUBECONFIG: file, TALOS_DOCKER_KUBECONFIG: ours });
        expect(run.code).toBe(2);
        expect(run.err).toEqual([`[kubeconfig] error: ${file} is not valid YAML (line 2, column 1); fix or move it, then run again`]);
        expect(readFileSync(file, "utf8")).toBe("clusters: [unclosed\n");
    });

    it("without a source it asks the Pulumi stack, and says what to do when pulumi is missing", async () => {
        const run = await runCli(["kubeconfig", "--print"], { PATH: join(dir, "no-such-bin") });
        expect(run.code).toBe(2);
        expect(run.err[0]).toMatch(/^\[kubeconfig\] error: the Pulumi CLI \(pulumi\) is not on PATH: install it/);
    });

    it("reads `pulumi stack output kubeconfig --show-secrets --stack dev` from a pulumi on PATH", async () => {
        const bin = join(dir, "bin");
        const log = join(dir, "pulumi-argv");
        const stackOutput = join(dir, "stack-output");
        writeFileSync(stackOutput, ours);
        mkdirSync(bin, { recursive: true });
        writeFileSync(join(bin, "pulumi"), `#!/bin/sh\necho "$@" >> ${log}\ncat ${stackOutput}\n`, { mode: 0o755 });
        const run = await runCli(["kubeconfig", "--print", "--stack", "dev"], { PATH: `${bin}:/usr/bin:/bin` });
        expect(run.code).toBe(0);
        expect(run.out).toEqual([ours.trimEnd()]);
        expect(readFileSync(log, "utf8")).toBe("stack output kubeconfig --show-secrets --stack dev\n");
    });
});
