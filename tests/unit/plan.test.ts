import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseClusterSpec } from "../../model/config";
import { cidrContains, parseCidr, parseIPv4 } from "../../model/ipv4";
import { nodeName, planCluster, volumeName } from "../../model/plan";
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
        expect(plan.nodes[7].ip).toBe("172.30.0.9");
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

describe("planCluster: properties over every valid shape", () => {
    const shapes = fc.record({
        controlPlanes: fc.integer({ min: 1, max: 7 }),
        workers: fc.integer({ min: 0, max: 250 }),
        prefix: fc.integer({ min: 16, max: 29 }),
        octets: fc.tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })),
    });

    it("unique names, unique in-subnet addresses that skip network, gateway and broadcast; unique host ports", () => {
        fc.assert(fc.property(shapes, ({ controlPlanes, workers, prefix, octets }) => {
            const size = 2 ** (32 - prefix);
            fc.pre(controlPlanes + workers + 3 <= size);
            const base = ((octets[0] * 256 + octets[1]) * 256 + octets[2]) * 256;
            const network = base - (base % size);
            const subnet = `${Math.floor(network / 2 ** 24)}.${Math.floor(network / 2 ** 16) % 256}.${Math.floor(network / 256) % 256}.${network % 256}/${prefix}`;
            const plan = planCluster(spec({ network: { subnet }, controlPlanes: { count: controlPlanes }, workers: { count: workers } }));
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
            const hostPorts = plan.nodes.flatMap((n) => n.ports.map((p) => p.host));
            expect(new Set(hostPorts).size).toBe(4);
            expect(plan.nodes.findIndex((n) => n.role === "worker")).toBe(workers > 0 ? controlPlanes : -1);
        }), { numRuns: 200 });
    });
});
