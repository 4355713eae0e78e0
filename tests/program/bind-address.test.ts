// APIs published on one host address: the address is a SAN of every config, and a patch written
// against that config (here: one that drops the SAN from the workers) passes the stack-config check
// and reaches the nodes, because both are made from the same input.
import { beforeAll, expect, it } from "vitest";
import { parse } from "yaml";
import { loadProgram, Program, promiseOf } from "./harness";

const REMOVE_SECOND_SAN = "- op: remove\n  path: /machine/certSANs/1\n";

let program: Program;
let configs: Record<string, string>;

beforeAll(async () => {
    program = await loadProgram({
        ports: { bindAddress: "192.168.1.10" },
        configPatches: { worker: [REMOVE_SECOND_SAN] },
    });
    if (program.error) throw program.error;
    configs = await promiseOf(program.exports.machineConfigs) as Record<string, string>;
});

function certSANs(node: string): unknown {
    return (parse(configs[node]) as { machine: { certSANs: unknown } }).machine.certSANs;
}

it("the control planes' config has the bind address as a SAN", () => {
    expect(certSANs("talos-cp-01")).toEqual(["127.0.0.1", "192.168.1.10"]);
});

it("the workers' config is patched as the check accepted it", () => {
    expect(certSANs("talos-worker-01")).toEqual(["127.0.0.1"]);
    expect(certSANs("talos-worker-02")).toEqual(["127.0.0.1"]);
});
