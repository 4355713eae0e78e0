// doctor's judgements, pure: memory and CPUs against the engine, the subnet
// against existing networks (and the free block it proposes), tools on PATH, and the stack file
// read as the program reads its config.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { parseClusterSpec } from "../../model/config";
import { cidrsOverlap, formatIPv4, freeBlock, parseCidr, type Cidr } from "../../model/ipv4";
import { resourceChecks, subnetCheck, toolCheck, TOOLS } from "../../cli/doctor/checks";
import { readStackConfig } from "../../cli/doctor/stackfile";
import { CliError, ExitCode } from "../../cli/exitcodes";
import type { EngineInfo, NetworkDetails } from "../../cli/docker/api";

const GiB = 2 ** 30;
const engine = (over: Partial<EngineInfo> = {}): EngineInfo => ({ serverVersion: "28.2.2", cgroupVersion: "2", cpus: 8, memoryBytes: 32 * GiB, operatingSystem: "Debian", ...over });
const reference = parseClusterSpec({});
const cidr = (s: string) => parseCidr(s) as Cidr;
const net = (name: string, subnet: string, cluster?: string): NetworkDetails => ({ id: name, name, driver: "bridge", subnets: [subnet], gateways: [], labels: cluster ? { "talos.cluster.name": cluster } : {} });

describe("doctor: memory and CPUs", () => {
    it("passes the reference cluster (12 GiB, 2 CPUs a node) on a 32 GiB, 8-CPU engine", () => {
        expect(resourceChecks(reference, engine()).map((c) => c.status)).toEqual(["ok", "ok"]);
    });

    it("warns above 80% of the engine's memory and fails above it, naming the keys", () => {
        expect(resourceChecks(reference, engine({ memoryBytes: 14 * GiB }))[0]).toMatchObject({ status: "warn", detail: "the nodes ask for 12.0 GiB of the engine's 14.0 GiB: little is left for the host" });
        const [memory] = resourceChecks(reference, engine({ memoryBytes: 8 * GiB }));
        expect(memory).toMatchObject({ status: "fail", detail: "the nodes ask for 12.0 GiB in all; the engine has 8.0 GiB" });
        expect(memory.fix).toContain("talos-docker:controlPlanes.memoryMiB / workers.memoryMiB or workers.count");
    });

    it("fails a pool asking more CPUs per node than the engine has", () => {
        const [, cpus] = resourceChecks(parseClusterSpec({ workers: '{"count":2,"cpus":4,"memoryMiB":4096}' }), engine({ cpus: 2 }));
        expect(cpus).toEqual({ name: "CPUs", status: "fail", detail: "workers.cpus = 4, but the engine has 2 CPUs (Docker refuses more per container)", fix: "set talos-docker:workers.cpus to 2 or less" });
    });

    it("warns when the engine does not say how much memory it has", () => {
        expect(resourceChecks(reference, engine({ memoryBytes: 0 }))[0]).toMatchObject({ status: "warn", detail: "the nodes ask for 12.0 GiB; the engine did not say how much it has" });
    });
});

describe("doctor: subnet", () => {
    it("overlap is any shared address", () => {
        expect(cidrsOverlap(cidr("172.30.0.0/24"), cidr("172.30.0.128/25"))).toBe(true);
        expect(cidrsOverlap(cidr("172.30.0.0/24"), cidr("172.16.0.0/12"))).toBe(true);
        expect(cidrsOverlap(cidr("172.30.0.0/24"), cidr("172.30.1.0/24"))).toBe(false);
    });

    it("proposes the first free block of the same size in 172.30.0.0/15, then 10.0.0.0/8", () => {
        expect(freeBlock(24, [])).toBe("172.30.0.0/24");
        expect(freeBlock(24, [cidr("172.30.0.0/24"), cidr("172.30.1.0/25"), cidr("172.17.0.0/16")])).toBe("172.30.2.0/24");
        expect(freeBlock(16, [cidr("172.30.5.0/24")])).toBe("172.31.0.0/16");
        expect(freeBlock(24, [cidr("172.30.0.0/15"), cidr("10.0.0.0/16"), cidr("10.1.0.0/24")])).toBe("10.1.1.0/24");
        // Too big for 172.30.0.0/15: only 10.0.0.0/8 can hold a /12.
        expect(freeBlock(12, [cidr("10.0.0.0/13")])).toBe("10.16.0.0/12");
        expect(freeBlock(12, [cidr("10.200.0.0/24")], ["10.0.0.0/8"])).toBe("10.0.0.0/12");
        expect(freeBlock(24, [cidr("172.30.0.0/15"), cidr("10.0.0.0/8")])).toBeUndefined();
    });

    it("any taken blocks: the proposal overlaps none of them and no earlier block is free", () => {
        const range = cidr("172.30.0.0/20");
        const block = fc.integer({ min: 20, max: 30 }).chain((prefix) =>
            fc.integer({ min: 0, max: 2 ** (prefix - 19) - 1 }).map((i) => ({ network: range.network + i * 2 ** (32 - prefix), prefix, size: 2 ** (32 - prefix) })));
        fc.assert(fc.property(fc.integer({ min: 22, max: 30 }), fc.array(block, { maxLength: 12 }), (prefix, taken) => {
            const size = 2 ** (32 - prefix);
            const free = (n: number) => !taken.some((t) => cidrsOverlap({ network: n, prefix, size }, t));
            const got = freeBlock(prefix, taken, ["172.30.0.0/20"]);
            let first: string | undefined;
            for (let n = range.network; n < range.network + range.size && first === undefined; n += size) if (free(n)) first = `${formatIPv4(n)}/${prefix}`;
            expect(got).toBe(first);
        }));
    });

    it("proposes a block clear of every network and of the host's own, whatever is taken", () => {
        // The jump past a taken block lands on a boundary of the block's size and never skips a free one.
        const taken = [cidr("172.30.0.0/23"), cidr("172.30.2.128/25"), cidr("172.30.3.0/24"), cidr("172.30.4.8/29")];
        for (const prefix of [24, 25, 26, 28, 29]) {
            const got = cidr(freeBlock(prefix, taken)!);
            expect(taken.some((t) => cidrsOverlap(got, t))).toBe(false);
            // the first one: every block before it is taken
            for (let n = 0xac1e0000; n < got.network; n += got.size) expect(taken.some((t) => cidrsOverlap({ network: n, prefix, size: got.size }, t))).toBe(true);
        }
    });

    it("accepts the cluster's own network and refuses another one's range or name", () => {
        expect(subnetCheck(reference, [net("bridge", "172.17.0.0/16"), net("talos-net", "172.30.0.0/24", "talos")])).toMatchObject({ status: "ok", detail: "172.30.0.0/24 is this cluster's network talos-net" });
        expect(subnetCheck(reference, [net("bridge", "172.16.0.0/16"), net("kind", "172.30.0.0/16")])).toEqual({
            name: "subnet",
            status: "fail",
            detail: "172.30.0.0/24 overlaps Docker network kind (172.30.0.0/16)",
            fix: "set talos-docker:network.subnet to a free range, e.g. 172.31.0.0/24",
        });
        // Not the LAN the host sits on either.
        expect(subnetCheck(reference, [net("kind", "172.30.0.0/16")], [cidr("172.31.0.0/16")]).fix).toBe("set talos-docker:network.subnet to a free range, e.g. 10.0.0.0/24");
        expect(subnetCheck(reference, [net("talos-net", "10.9.0.0/24", "other")])).toMatchObject({
            status: "fail",
            detail: "a network named talos-net exists and is not this cluster's",
            fix: "set talos-docker:network.name to another name, or remove it (docker network rm talos-net)",
        });
    });
});

describe("doctor: tools", () => {
    it("warns of a missing tool with where to get it", () => {
        expect(toolCheck(TOOLS[2], undefined)).toEqual({ name: "talosctl", status: "warn", detail: "not on PATH (talks to Talos (make shell-cp, talosctl dashboard))", fix: "install it: curl -sL https://talos.dev/install | sh" });
        expect(toolCheck(TOOLS[0], "/usr/local/bin/pulumi")).toEqual({ name: "pulumi", status: "ok", detail: "/usr/local/bin/pulumi" });
    });
});

describe("doctor: the stack file", () => {
    let dir: string;
    beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), "talos-docker-stackfile-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("reads the only stack's talos-docker keys as the program does", () => {
        writeFileSync(join(dir, "Pulumi.yaml"), "name: talos-docker\n");
        writeFileSync(join(dir, "Pulumi.lab.yaml"), "config:\n  talos-docker:clusterName: lab\n  talos-docker:workers:\n    count: 3\n  aws:region: eu-west-1\n");
        const s = readStackConfig(dir, undefined);
        expect(s.file).toBe(join(dir, "Pulumi.lab.yaml"));
        expect(s.spec?.clusterName).toBe("lab");
        expect(s.spec?.workers.count).toBe(3);
        expect(s.notes).toEqual([]);
    });

    it("finds a stack whose name has dots, or a .yml file", () => {
        writeFileSync(join(dir, "Pulumi.yaml"), "name: talos-docker\n");
        writeFileSync(join(dir, "Pulumi.team.lab.yml"), "config:\n  talos-docker:clusterName: lab\n");
        expect(readStackConfig(dir, undefined)).toMatchObject({ file: join(dir, "Pulumi.team.lab.yml"), spec: { clusterName: "lab" } });
        expect(readStackConfig(dir, "team.lab").file).toBe(join(dir, "Pulumi.team.lab.yml"));
    });

    it("checks the defaults only when there is no stack file at all, and says so", () => {
        expect(readStackConfig(dir, undefined, { why: "no stack selected" })).toMatchObject({ file: undefined, notes: [`no Pulumi.<stack>.yaml in ${dir}: checking the defaults`] });
        expect(readStackConfig(dir, undefined, { why: "no stack selected" }).spec?.clusterName).toBe("talos");
    });

    it("refuses a stack without a file, naming the stacks that have one", () => {
        writeFileSync(join(dir, "Pulumi.dev.yaml"), "config: {}\n");
        writeFileSync(join(dir, "Pulumi.prod.yml"), "config: {}\n");
        expect(() => readStackConfig(dir, "devv")).toThrow(new CliError(ExitCode.USAGE,
            `doctor: stack "devv" has no Pulumi.devv.yaml in ${dir} (stacks with a file: dev, prod): check the name given to --stack; did you mean dev?`));
        expect(() => readStackConfig(dir, undefined, { name: "staging" })).toThrow(new CliError(ExitCode.USAGE,
            `doctor: the selected stack "staging" has no Pulumi.staging.yaml in ${dir} (stacks with a file: dev, prod): pass --stack NAME, or select another (pulumi stack select NAME)`));
        rmSync(join(dir, "Pulumi.dev.yaml"));
        rmSync(join(dir, "Pulumi.prod.yml"));
        expect(() => readStackConfig(dir, "dev")).toThrow(`doctor: stack "dev" has no Pulumi.dev.yaml in ${dir} (no stack has a file there): check the name given to --stack`);
    });

    it("takes the stack Pulumi has selected; without a selection the only stack file, never the defaults beside several", () => {
        writeFileSync(join(dir, "Pulumi.dev.yaml"), "config:\n  talos-docker:clusterName: dev\n");
        writeFileSync(join(dir, "Pulumi.prod.yaml"), "config:\n  talos-docker:clusterName: prod\n");
        expect(readStackConfig(dir, undefined, { name: "prod" })).toMatchObject({ file: join(dir, "Pulumi.prod.yaml"), spec: { clusterName: "prod" }, notes: ["stack prod: the one Pulumi has selected"] });
        expect(readStackConfig(dir, "dev", { name: "prod" }).spec?.clusterName).toBe("dev");
        expect(() => readStackConfig(dir, undefined, { why: "the Pulumi CLI (pulumi) is not on PATH" })).toThrow(new CliError(ExitCode.USAGE,
            `doctor: no Pulumi stack is selected (the Pulumi CLI (pulumi) is not on PATH) and several have a file in ${dir} (dev, prod): pass --stack NAME`));
        rmSync(join(dir, "Pulumi.prod.yaml"));
        expect(readStackConfig(dir, undefined, { why: "the Pulumi CLI (pulumi) is not on PATH" })).toMatchObject({
            file: join(dir, "Pulumi.dev.yaml"),
            notes: ["no Pulumi stack is selected (the Pulumi CLI (pulumi) is not on PATH): checking the only stack file, stack dev"],
        });
    });

    it("a stack file that is not YAML: the whole reason, with line and column, and none of the file's text", () => {
        const file = join(dir, "Pulumi.dev.yaml");
        const ciphertext = "v1:Zm9vYmFyYmF6cXV4";
        writeFileSync(file, `config:\n  talos-docker:secretsFile:\n    secure: ${ciphertext}\n  talos-docker:workers:\n    count: 3\n   memoryMiB: 2048\n`);
        const s = readStackConfig(dir, "dev");
        expect(s.spec).toBeUndefined();
        expect(s.error?.split("\n")).toEqual([
            "invalid stack configuration (1 problem); nothing was created:",
            `  - ${file}: is not valid YAML at line 6, column 1: All mapping items must start at the same column`,
            `    fix: edit ${file} at line 6, column 1; pulumi config cannot change a file it cannot read`,
        ]);
        // A token the parser cannot place is quoted in its own message; here that would be a value.
        writeFileSync(file, `config:\n  talos-docker:clusterName: lab\n- a\n  b: ${ciphertext}\n`);
        const again = readStackConfig(dir, "dev").error ?? "";
        expect(again).toMatch(/is not valid YAML at line 3, column 1: .+ \(and \d+ more after it\)$/m);
        expect(again).not.toContain(ciphertext);
    });

    it("a stack file whose config is not a mapping", () => {
        writeFileSync(join(dir, "Pulumi.dev.yaml"), "config:\n  - talos-docker:clusterName\n");
        expect(readStackConfig(dir, "dev").error).toContain("is not a Pulumi stack file: its config must be a mapping of key: value");
    });

    it("an encrypted value inside an object is left out with a note; its ciphertext is never shown", () => {
        const ciphertext = "v1:c2VjcmV0IG5ldHdvcms=";
        writeFileSync(join(dir, "Pulumi.dev.yaml"), `config:\n  talos-docker:network:\n    name:\n      secure: ${ciphertext}\n    subnet: 10.0.0.0/30\n`);
        const s = readStackConfig(dir, "dev");
        expect(s.notes).toEqual(["talos-docker:network.name is encrypted: doctor cannot read it and checks the default"]);
        expect(s.error).toContain('talos-docker:network.subnet = "10.0.0.0/30": too small for 1 control plane and 2 workers');
        expect(s.error).not.toContain(ciphertext);
        expect(s.error).not.toContain("secure");
    });

    it("a key of ours in another namespace is refused, as pulumi up refuses it; another namespace's secret is never shown", () => {
        const ciphertext = "v1:b3RoZXIgdG9vbA==";
        writeFileSync(join(dir, "Pulumi.dev.yaml"), `config:\n  talos:clusterName: lab\n  othertool:token:\n    secure: ${ciphertext}\n  docker:host: unix:///run/docker.sock\n`);
        const s = readStackConfig(dir, "dev");
        expect(s.error?.split("\n").slice(1)).toEqual([
            '  - talos:clusterName = "lab": is not read: this program reads the talos-docker namespace only; did you mean talos-docker:clusterName?',
            "    fix: pulumi config rm --stack dev talos:clusterName && pulumi config set --stack dev talos-docker:clusterName lab",
        ]);
        expect(s.warnings.map((w) => `${w.key} = ${w.value}`)).toEqual(["othertool:token = [secret]"]);
        expect(JSON.stringify(s)).not.toContain(ciphertext);
        expect(s.notes).toEqual([]);
    });

    it("a valid config's warnings come beside its spec", () => {
        writeFileSync(join(dir, "Pulumi.dev.yaml"), "config:\n  talos-docker:controlPlanes:\n    count: 2\n");
        const s = readStackConfig(dir, "dev");
        expect(s.spec?.controlPlanes.count).toBe(2);
        expect(s.warnings.map((w) => [w.key, w.fix])).toEqual([
            ["talos-docker:controlPlanes.count", "pulumi config set --stack dev --path 'talos-docker:controlPlanes.count' 3"],
        ]);
    });

    it("skips encrypted values with a note, and returns the config's problems as pulumi up prints them", () => {
        writeFileSync(join(dir, "Pulumi.dev.yaml"), "config:\n  talos-docker:secretsFile:\n    secure: AAABAxyz\n  talos-docker:network:\n    subnet: 10.0.0.0/30\n");
        const s = readStackConfig(dir, "dev");
        expect(s.notes).toEqual(["talos-docker:secretsFile is encrypted: doctor cannot read it and checks the default"]);
        expect(s.error).toMatch(/^invalid stack configuration \(1 problem\); nothing was created:\n  - talos-docker:network\.subnet = "10\.0\.0\.0\/30": /);
    });
});
