import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, LIMITS, parseClusterSpec } from "../../model/config";
import { cidrContains, formatIPv4, parseCidr, parseIPv4 } from "../../model/ipv4";
import { nodeName, parseNodeName, planCluster, subnetLayoutFits, volumeName } from "../../model/plan";
import { asRawConfig } from "../support/stack";

function spec(overrides: Record<string, unknown> = {}) {
    return parseClusterSpec(asRawConfig(overrides));
}

describe("planCluster: the reference cluster", () => {
    const plan = planCluster(spec());

    it("names, roles and addresses: control planes first, from .2 up", () => {
        expect(plan.nodes.map((n) => [n.name, n.role, n.ip])).toEqual([
            ["talos-cp-01", "controlplane", "172.30.0.2"],
            ["talos-worker-01", "worker", "172.30.0.3"],
            ["talos-worker-02", "worker", "172.30.0.4"],
        ]);
    });

    it("publishes the APIs on the first control plane and ingress on the first worker, on 127.0.0.1", () => {
        expect(plan.nodes.map((n) => n.ports)).toEqual([
            [
                { bindAddress: "127.0.0.1", host: 6444, container: 6443 },
                { bindAddress: "127.0.0.1", host: 50000, container: 50000 },
            ],
            [
                { bindAddress: "127.0.0.1", host: 80, container: 80 },
                { bindAddress: "127.0.0.1", host: 443, container: 443 },
            ],
            [],
        ]);
    });

    it("gives each node the six Talos volumes, named <container>-<path>", () => {
        expect(plan.nodes[1].volumes).toEqual([
            { name: "talos-worker-01-var", containerPath: "/var" },
            { name: "talos-worker-01-system-state", containerPath: "/system/state" },
            { name: "talos-worker-01-etc-cni", containerPath: "/etc/cni" },
            { name: "talos-worker-01-etc-kubernetes", containerPath: "/etc/kubernetes" },
            { name: "talos-worker-01-usr-libexec-kubernetes", containerPath: "/usr/libexec/kubernetes" },
            { name: "talos-worker-01-opt", containerPath: "/opt" },
        ]);
    });

    // talos@v1.14.1:pkg/machinery/constants/constants.go Overlays keeps /opt only (v1.13.9: /etc/cni,
    // /etc/kubernetes, /usr/libexec/kubernetes, /opt), after EphemeralMountPoint and StateMountPoint.
    it.each([["v1.13.9", "1.36.3"], ["v1.12.11", "1.35.4"]])("Talos %s: the same six volumes", (talosVersion, kubernetesVersion) => {
        expect(planCluster(spec({ talosVersion, kubernetesVersion })).nodes[1].volumes).toEqual(plan.nodes[1].volumes);
    });

    it.each(["v1.14.0", "v1.14.1"])("Talos %s: /var, /system/state and /opt only, as its provisioner mounts them", (talosVersion) => {
        expect(planCluster(spec({ talosVersion })).nodes[1].volumes).toEqual([
            { name: "talos-worker-01-var", containerPath: "/var" },
            { name: "talos-worker-01-system-state", containerPath: "/system/state" },
            { name: "talos-worker-01-opt", containerPath: "/opt" },
        ]);
    });

    it("labels nodes as Talos' provisioner does", () => {
        expect(plan.nodes[0].labels).toEqual({ "talos.owned": "true", "talos.cluster.name": "talos", "talos.type": "controlplane" });
        expect(plan.nodes[2].labels["talos.type"]).toBe("worker");
    });

    it("endpoints: in-network for configs, host-mapped for clients", () => {
        expect(plan.controlPlaneEndpoint).toBe("https://172.30.0.2:6443");
        expect(plan.hostEndpoints).toEqual({ kubernetes: "https://127.0.0.1:6444", talos: "127.0.0.1:50000" });
    });

    it("sizes every node from its pool", () => {
        const p = planCluster(spec({ controlPlanes: { cpus: 4, memoryMiB: 8192 }, workers: { cpus: 1.5, memoryMiB: 2048 } }));
        expect(p.nodes.map((n) => [n.cpus, n.memoryMiB])).toEqual([[4, 8192], [1.5, 2048], [1.5, 2048]]);
    });
});

describe("planCluster: shapes", () => {
    it("without workers, the control plane also publishes http/https", () => {
        const plan = planCluster(spec({ workers: { count: 0 } }));
        expect(plan.nodes).toHaveLength(1);
        expect(plan.ingressNode).toBe(plan.bootstrapNode);
        expect(plan.nodes[0].ports.map((p) => p.container)).toEqual([6443, 50000, 80, 443]);
    });

    it("3 control planes + 5 workers: only the first control plane publishes the APIs", () => {
        const plan = planCluster(spec({ controlPlanes: { count: 3 }, workers: { count: 5 } }));
        expect(plan.nodes.map((n) => n.name)).toEqual([
            "talos-cp-01", "talos-cp-02", "talos-cp-03",
            "talos-worker-01", "talos-worker-02", "talos-worker-03", "talos-worker-04", "talos-worker-05",
        ]);
        expect(plan.nodes.filter((n) => n.ports.length > 0).map((n) => n.name)).toEqual(["talos-cp-01", "talos-worker-01"]);
    });

    it("control planes that take workloads publish ingress on the first of them, workers or not", () => {
        const kept = planCluster(spec({ workers: { count: 2 } }), { controlPlanesSchedulable: true });
        expect(kept.ingressNode).toBe(kept.bootstrapNode);
        expect(kept.nodes.map((n) => n.ports.map((p) => p.container))).toEqual([[6443, 50000, 80, 443], [], []]);
        expect(planCluster(spec({ workers: { count: 0 } }), { controlPlanesSchedulable: false }).ingressNode.name).toBe("talos-cp-01");
    });

    it("a host bind address other than loopback is used in the host endpoints", () => {
        expect(planCluster(spec({ ports: { bindAddress: "192.168.1.20" } })).hostEndpoints.kubernetes).toBe("https://192.168.1.20:6444");
        expect(planCluster(spec({ ports: { bindAddress: "0.0.0.0" } })).hostEndpoints.talos).toBe("127.0.0.1:50000");
    });

    it("names: two digits, growing past 99", () => {
        expect(nodeName("c", "worker", 7)).toBe("c-worker-07");
        expect(nodeName("c", "worker", 120)).toBe("c-worker-120");
        expect(volumeName("c-cp-01", "/usr/libexec/kubernetes")).toBe("c-cp-01-usr-libexec-kubernetes");
    });
});

describe("the address plan", () => {
    const addresses = (values: Record<string, unknown>) => planCluster(spec(values)).nodes.map((n) => `${n.name} ${n.ip}`);

    it("1 control plane + 2 workers (the reference): .2, then the workers from .3", () => {
        expect(addresses({})).toEqual(["talos-cp-01 172.30.0.2", "talos-worker-01 172.30.0.3", "talos-worker-02 172.30.0.4"]);
    });

    it("3 + 2: the other control planes from the top of the subnet down; the workers where they were", () => {
        expect(addresses({ controlPlanes: { count: 3 } })).toEqual([
            "talos-cp-01 172.30.0.2", "talos-cp-02 172.30.0.254", "talos-cp-03 172.30.0.253",
            "talos-worker-01 172.30.0.3", "talos-worker-02 172.30.0.4",
        ]);
    });

    it("3 + 5", () => {
        expect(addresses({ controlPlanes: { count: 3 }, workers: { count: 5 } })).toEqual([
            "talos-cp-01 172.30.0.2", "talos-cp-02 172.30.0.254", "talos-cp-03 172.30.0.253",
            ...[3, 4, 5, 6, 7].map((last, i) => `talos-worker-0${i + 1} 172.30.0.${last}`),
        ]);
    });

    it("7 + 246 fill a /24: .2 to .254, the blocks meeting in the middle", () => {
        const plan = planCluster(spec({ controlPlanes: { count: 7 }, workers: { count: 246 } }));
        const byName = new Map(plan.nodes.map((n) => [n.name, n.ip]));
        expect([2, 3, 7].map((i) => byName.get(`talos-cp-0${i}`))).toEqual(["172.30.0.254", "172.30.0.253", "172.30.0.249"]);
        expect([1, 2, 246].map((i) => byName.get(nodeName("talos", "worker", i)))).toEqual(["172.30.0.3", "172.30.0.4", "172.30.0.248"]);
        const offsets = plan.nodes.map((n) => parseIPv4(n.ip)! % 256).sort((a, b) => a - b);
        expect(offsets).toEqual(Array.from({ length: 253 }, (_, i) => i + 2));
    });

    it("a /24 holds 253 nodes of any mix; the subnet check and the plan agree on a smaller one", () => {
        expect(subnetLayoutFits(256, { controlPlanes: 7, workers: 246 })).toBe(true);
        expect(subnetLayoutFits(256, { controlPlanes: 7, workers: 247 })).toBe(false);
        expect(subnetLayoutFits(256, { controlPlanes: 1, workers: 252 })).toBe(true);
        expect(subnetLayoutFits(512, { controlPlanes: LIMITS.controlPlanes.count.max, workers: LIMITS.workers.count.max })).toBe(true);
        // 3 + 5 needs 11 addresses: not in a /29 (8), in a /28 (16).
        expect(subnetLayoutFits(8, { controlPlanes: 3, workers: 5 })).toBe(false);
        expect(planCluster(spec({ network: { subnet: "10.1.2.0/28" }, controlPlanes: { count: 3 }, workers: { count: 5 } }))
            .nodes.map((n) => n.ip)).toEqual(["10.1.2.2", "10.1.2.14", "10.1.2.13", "10.1.2.3", "10.1.2.4", "10.1.2.5", "10.1.2.6", "10.1.2.7"]);
    });
});

describe("planCluster: properties over every valid shape", () => {
    const counts = { controlPlanes: fc.integer({ min: 1, max: 7 }), workers: fc.integer({ min: 0, max: 250 }) };
    const network = {
        prefix: fc.integer({ min: 16, max: 30 }),
        // Not 10/8: a block there may overlap the pod and service networks (10.244.0.0/16,
        // 10.96.0.0/12), which the config refuses for its own reason (tested in config.test.ts).
        octets: fc.tuple(
            fc.integer({ min: 1, max: 223 }).filter((o) => o !== 10), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }),
        ),
    };
    const shapes = fc.record({ ...counts, ...network });

    /** The block of `prefix` bits around the address the octets make, as CIDR text. */
    function subnetOf(prefix: number, octets: [number, number, number]): string {
        const size = 2 ** (32 - prefix);
        const base = ((octets[0] * 256 + octets[1]) * 256 + octets[2]) * 256;
        return `${formatIPv4(base - (base % size))}/${prefix}`;
    }

    const shapeSpec = (subnet: string, controlPlanes: number, workers: number) =>
        spec({ network: { subnet }, controlPlanes: { count: controlPlanes }, workers: { count: workers } });

    it("unique names, unique in-subnet addresses that skip network, gateway and broadcast; unique host ports", () => {
        fc.assert(fc.property(shapes, ({ controlPlanes, workers, prefix, octets }) => {
            const size = 2 ** (32 - prefix);
            fc.pre(subnetLayoutFits(size, { controlPlanes, workers }));
            const subnet = subnetOf(prefix, octets);
            const plan = planCluster(shapeSpec(subnet, controlPlanes, workers));
            const cidr = parseCidr(subnet);
            if ("error" in cidr) throw new Error(cidr.error);

            expect(plan.nodes).toHaveLength(controlPlanes + workers);
            expect(new Set(plan.nodes.map((n) => n.name)).size).toBe(plan.nodes.length);
            expect(new Set(plan.nodes.flatMap((n) => n.volumes.map((v) => v.name))).size).toBe(plan.nodes.length * 6);
            const addresses = plan.nodes.map((n) => parseIPv4(n.ip)!);
            expect(new Set(addresses).size).toBe(addresses.length);
            for (const a of addresses) {
                expect(cidrContains(cidr, a)).toBe(true);
                expect(a - cidr.network).toBeGreaterThanOrEqual(2);
                expect(a - cidr.network).toBeLessThan(cidr.size - 1);
            }
            expect(plan.bootstrapNode.ip).toBe(formatIPv4(cidr.network + 2));
            const hostPorts = plan.nodes.flatMap((n) => n.ports.map((p) => p.host));
            expect(new Set(hostPorts).size).toBe(4);
            expect(plan.nodes.findIndex((n) => n.role === "worker")).toBe(workers > 0 ? controlPlanes : -1);
        }), { numRuns: 200 });
    });

    it("the subnet check refuses exactly the shapes the plan cannot place: more nodes than addresses beside network, gateway, broadcast", () => {
        fc.assert(fc.property(shapes, ({ controlPlanes, workers, prefix, octets }) => {
            const size = 2 ** (32 - prefix);
            const fits = subnetLayoutFits(size, { controlPlanes, workers });
            expect(fits).toBe(controlPlanes + workers + 3 <= size);
            let subnetProblem = false;
            try {
                shapeSpec(subnetOf(prefix, octets), controlPlanes, workers);
            } catch (err) {
                if (!(err instanceof ConfigError)) throw err;
                subnetProblem = err.problems.some((p) => p.key === "talos-docker:network.subnet" && p.message.startsWith("too small"));
            }
            expect(subnetProblem).toBe(!fits);
        }), { numRuns: 300 });
    });

    it("a node keeps its address when either count grows", () => {
        const growth = fc.record({ ...network, before: fc.record(counts), after: fc.record(counts) });
        fc.assert(fc.property(growth, ({ prefix, octets, before, after }) => {
            const larger = {
                controlPlanes: Math.max(before.controlPlanes, after.controlPlanes),
                workers: Math.max(before.workers, after.workers),
            };
            fc.pre(subnetLayoutFits(2 ** (32 - prefix), larger));
            const subnet = subnetOf(prefix, octets);
            const grown = new Map(planCluster(shapeSpec(subnet, larger.controlPlanes, larger.workers)).nodes.map((n) => [n.name, n.ip]));
            for (const node of planCluster(shapeSpec(subnet, before.controlPlanes, before.workers)).nodes) {
                expect(grown.get(node.name), node.name).toBe(node.ip);
            }
        }), { numRuns: 200 });
    });
});

describe("parseNodeName: nodeName's inverse", () => {
    it.each([
        ["talos-cp-01", { role: "controlplane", index: 1 }],
        ["talos-worker-12", { role: "worker", index: 12 }],
        ["talos-worker-250", { role: "worker", index: 250 }],
        ["my-lab-cp-07", { role: "controlplane", index: 7 }],
    ])("%s", (name, parsed) => {
        const cluster = name.startsWith("my-lab") ? "my-lab" : "talos";
        expect(parseNodeName(cluster, name)).toEqual(parsed);
        expect(nodeName(cluster, parsed.role as "controlplane" | "worker", parsed.index)).toBe(name);
    });

    it.each(["talos-cp-1", "talos-cp-00", "talos-worker-012", "other-cp-01", "talos-cp-01x", "talos-etcd-01", "talos-cp-"])("%s is none of talos' names", (name) => {
        expect(parseNodeName("talos", name)).toBeUndefined();
    });
});
