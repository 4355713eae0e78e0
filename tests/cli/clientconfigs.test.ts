// `kubeconfig` and `talosconfig`: merged into the user's files with nothing else lost, the same
// file on a second run, a backup, owner-only permissions; --print; the stack output as source.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { MergeError, mergeKubeconfig, mergeTalosconfig } from "../../cli/clientconfigs/merge";
import { KubeconfigError, loadKubeconfig } from "../../cli/kube/client";
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

    it("merges only the current context of ours, with its cluster and user", () => {
        const two = parse(ours);
        two.clusters.push({ name: "extra", cluster: { server: "https://10.0.0.1:6443" } });
        two.contexts.push({ name: "extra", context: { cluster: "extra", user: "admin@talos" } });
        const merged = parse(mergeKubeconfig(undefined, stringify(two), { switchContext: true }).text);
        expect(merged.clusters.map((c: { name: string }) => c.name)).toEqual(["talos"]);
        expect(merged.contexts.map((c: { name: string }) => c.name)).toEqual(["admin@talos"]);
    });

    it("refuses to touch a file that is not a kubeconfig", () => {
        expect(() => mergeKubeconfig("clusters: [unclosed\n", ours, { switchContext: true })).toThrow(new MergeError("is not valid YAML (line 2, column 1); fix or move it, then run again"));
        expect(() => mergeKubeconfig("- a\n- b\n", ours, { switchContext: true })).toThrow("is not a kubeconfig (not a YAML map)");
    });
});

describe("loadKubeconfig: the one rule for a usable kubeconfig", () => {
    it("accepts ours and names its current context, cluster, user and server", () => {
        expect(loadKubeconfig(ours)).toMatchObject({ context: "admin@talos", cluster: "talos", user: "admin@talos", server: "https://127.0.0.1:6444" });
    });

    it.each([
        ["", "not a YAML mapping of clusters, users, contexts and current-context"],
        ["clusters: [unclosed\n", "not valid YAML (line 2, column 1)"],
        ["hello\n", "current-context is not set (is this a kubeconfig? it needs clusters, users, contexts and current-context)"],
        [oursTalos, "current-context is not set (is this a kubeconfig? it needs clusters, users, contexts and current-context)"],
        ["clusters:\n- name: a\n", "clusters[0].cluster is missing"],
        ["current-context: x\ncontexts: []\n", 'current-context "x" is not in contexts (it has: none)'],
        ["current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n", 'context "x" names cluster "c", which is not in clusters (it has: none)'],
        ["current-context: x\nclusters:\n- name: c\n  cluster: {server: https://a}\ncontexts:\n- name: x\n  context: {cluster: c}\n", 'context "x" names no user'],
        ["current-context: x\nclusters:\n- name: c\n  cluster: {server: https://a}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\nusers:\n- name: v\n", 'context "x" names user "u", which is not in users (it has: v)'],
    ])("refuses %j: %s", (text, reason) => {
        expect(() => loadKubeconfig(text)).toThrow(new KubeconfigError(reason));
    });

    it("never quotes the file: a YAML error next to a key leaves the key out", () => {
        const text = "users:\n- name: a\n  user:\n    client-key-data: U1VQRVJTRUNSRVQ=\n    token: [unclosed\n";
        expect(() => loadKubeconfig(text)).toThrow(new KubeconfigError("not valid YAML (line 6, column 1)"));
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

    it("refuses a --from file that is not a kubeconfig, naming the file and what is wrong; --print prints nothing", async () => {
        const file = join(dir, "refused");
        const files = { "bad.yaml": "clusters: [unclosed\n", "talos.yaml": oursTalos };
        const merged = await runCli(["kubeconfig", "--from", "bad.yaml"], { KUBECONFIG: file }, { files });
        expect(merged.code).toBe(2);
        expect(merged.err).toEqual(["[kubeconfig] error: bad.yaml (--from) is not a usable kubeconfig: not valid YAML (line 2, column 1); nothing was merged"]);
        expect(existsSync(file)).toBe(false);
        const printed = await runCli(["kubeconfig", "--print", "--from", "bad.yaml"], {}, { files });
        expect(printed.code).toBe(2);
        expect(printed.out).toEqual([]);
        expect(printed.err).toEqual(["[kubeconfig] error: bad.yaml (--from) is not a usable kubeconfig: not valid YAML (line 2, column 1); nothing was printed"]);
        const talos = await runCli(["kubeconfig", "--print", "--from", "talos.yaml"], {}, { files });
        expect(talos.err).toEqual(["[kubeconfig] error: talos.yaml (--from) is not a usable kubeconfig: current-context is not set (is this a kubeconfig? it needs clusters, users, contexts and current-context); nothing was printed"]);
    });

    it("talosconfig refuses a kubeconfig: no `context: null`, no context \"0\", exit 2", async () => {
        const file = join(dir, "talos-refused");
        const run = await runCli(["talosconfig", "--from", "kube.yaml"], { TALOSCONFIG: file }, { files: { "kube.yaml": ours } });
        expect(run.code).toBe(2);
        expect(run.err).toEqual(["[talosconfig] error: kube.yaml (--from) is not a usable talosconfig: `context` is not set and no context was named; nothing was merged"]);
        expect(existsSync(file)).toBe(false);
        // A talosconfig whose context lacks its key: named by field, and the key material never printed.
        const keyless = oursTalos.replace(/\n {8}key: .*\n/, "\n");
        const env = await runCli(["talosconfig", "--print"], { TALOS_DOCKER_TALOSCONFIG: keyless });
        expect(env.err).toEqual(["[talosconfig] error: $TALOS_DOCKER_TALOSCONFIG is not a usable talosconfig: contexts.talos.key is missing; nothing was printed"]);
        expect(env.out).toEqual([]);
    });

    it("refuses a bad $TALOS_DOCKER_KUBECONFIG without quoting it", async () => {
        const text = "users:\n- name: a\n  user:\n    client-key-data: U1VQRVJTRUNSRVQ=\n    token: [unclosed\n";
        const run = await runCli(["kubeconfig", "--print"], { TALOS_DOCKER_KUBECONFIG: text });
        expect(run.code).toBe(2);
        expect(run.err).toEqual(["[kubeconfig] error: $TALOS_DOCKER_KUBECONFIG is not a usable kubeconfig: not valid YAML (line 6, column 1); nothing was printed"]);
    });

    it("refuses a stack output that is not a kubeconfig, naming the stack", async () => {
        const bin = join(dir, "bin-bad");
        mkdirSync(bin, { recursive: true });
        writeFileSync(join(bin, "pulumi"), "#!/bin/sh\necho 'not: [a kubeconfig'\n", { mode: 0o755 });
        const run = await runCli(["kubeconfig", "--print", "--stack", "dev"], { PATH: `${bin}:/usr/bin:/bin` });
        expect(run.code).toBe(2);
        expect(run.err).toEqual(["[kubeconfig] error: the output kubeconfig of stack dev is not a usable kubeconfig: not valid YAML (line 2, column 1); nothing was printed"]);
        expect(run.out).toEqual([]);
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
