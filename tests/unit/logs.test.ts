// `logs`: the node names people type, and --since.

import { describe, expect, it } from "vitest";

import { lineWriter, sinceFlag, tailFlag } from "../../cli/logs/command";
import { normalizeShortName, resolveNode } from "../../cli/logs/resolve";
import type { ContainerSummary } from "../../cli/docker/api";

const node = (name: string, cluster: string): ContainerSummary => ({ id: name, name, state: "running", ports: [], labels: { "talos.owned": "true", "talos.cluster.name": cluster } });
const ONE = [node("talos-cp-01", "talos"), node("talos-worker-01", "talos"), node("talos-worker-12", "talos")];

describe("logs node names", () => {
    it.each([
        ["cp", "cp-01"], ["cp-1", "cp-01"], ["cp1", "cp-01"], ["cp-01", "cp-01"], ["worker", "worker-01"], ["worker-12", "worker-12"], ["worker-007", "worker-07"], ["etcd", "etcd"],
    ])("%s means %s", (typed, meant) => {
        expect(normalizeShortName(typed)).toBe(meant);
    });

    it("takes the full container name, or a short one within the cluster", () => {
        expect(resolveNode("talos-worker-12", ONE)).toEqual({ container: "talos-worker-12" });
        expect(resolveNode("worker-12", ONE)).toEqual({ container: "talos-worker-12" });
        expect(resolveNode("cp", ONE)).toEqual({ container: "talos-cp-01" });
    });

    it("lists the node containers when the name matches none", () => {
        expect(resolveNode("worker-3", ONE)).toEqual({ error: 'no node "worker-3"; the node containers are: talos-cp-01, talos-worker-01, talos-worker-12' });
        expect(resolveNode("cp", [])).toEqual({ error: 'no node "cp": Docker has no Talos node containers (docker ps --filter label=talos.owned=true)' });
    });

    it("asks which cluster when a short name is in several", () => {
        expect(resolveNode("cp", [...ONE, node("lab-cp-01", "lab")])).toEqual({
            error: '"cp" is a node of several clusters (lab-cp-01, talos-cp-01): give the container name, or --cluster NAME',
        });
    });
});

describe("logs --since", () => {
    const now = Date.parse("2026-11-25T08:00:00Z");
    it("takes a duration ago, an RFC 3339 time, or unix seconds", () => {
        expect(sinceFlag("10m", now)).toBe(now / 1000 - 600);
        expect(sinceFlag("2026-11-25T07:00:00Z", now)).toBe(now / 1000 - 3600);
        expect(sinceFlag("1764054000", now)).toBe(1764054000);
        expect(sinceFlag(undefined, now)).toBeUndefined();
    });

    it("refuses anything else, saying what it takes", () => {
        expect(() => sinceFlag("yesterday", now)).toThrow('logs: --since "yesterday" is neither a duration like 10m nor a time like 2026-11-25T07:00:00Z');
    });
});

describe("logs --tail", () => {
    it("takes 0 (no past lines) or a positive whole number", () => {
        expect(tailFlag("0")).toBe(0);
        expect(tailFlag("25")).toBe(25);
        expect(tailFlag(undefined)).toBeUndefined();
        expect(() => tailFlag("-1")).toThrow('logs: --tail "-1" is not a positive whole number');
        expect(() => tailFlag("all")).toThrow('logs: --tail "all" is not a positive whole number');
    });
});

describe("logs output", () => {
    it("joins lines and UTF-8 characters split across chunks, drops CR, and prints the unfinished last line at the end", () => {
        const lines: string[] = [];
        const w = lineWriter((l) => lines.push(l));
        const text = Buffer.from("[talos] boot ✓\r\nsecond ünïcode line\nno newline at the end");
        // one byte a chunk: every character and line boundary falls between chunks
        for (let i = 0; i < text.length; i++) w.write(text.subarray(i, i + 1));
        expect(lines).toEqual(["[talos] boot ✓", "second ünïcode line"]);
        w.flush();
        expect(lines).toEqual(["[talos] boot ✓", "second ünïcode line", "no newline at the end"]);
        w.flush();
        expect(lines).toHaveLength(3);
    });
});
