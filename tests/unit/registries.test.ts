import { describe, expect, it } from "vitest";
import { ConfigError, describeProblem, parseClusterSpec, parseStackConfig } from "../../model/config";
import {
    cacheAddresses, cacheMirrors, cachePlans, isMirrorUrl, isRegistryHost, nodeMirrors, REGISTRY_CACHE_LABEL,
    REGISTRY_CACHE_UPSTREAMS,
} from "../../model/registries";
import { nodeAddress } from "../../model/plan";
import { hostAddress, parseCidr } from "../../model/ipv4";
import { asRawConfig } from "../support/stack";

/** The problems a raw config yields, as printed, with their fixes; [] when it is valid. */
function found(raw: Record<string, unknown>): { text: string; fix: string }[] {
    try {
        parseStackConfig(asRawConfig(raw));
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => ({ text: describeProblem(p), fix: p.fix }));
        throw err;
    }
}

const URL_RULE = "an http:// or https:// URL with a host, an optional port and path, and no user, password, query or " +
    "fragment, such as http://172.30.0.1:5000";
const HOST_RULE = "a registry host as image references name it: a host name or IPv4 address with an optional port " +
    "(docker.io, registry.local:5000), or * for every registry";

describe("registry hosts and mirror URLs", () => {
    it.each([
        ["docker.io", true], ["registry.k8s.io", true], ["localhost", true], ["registry.local:5000", true],
        ["10.5.0.1:5000", true], ["*", true], ["my-registry.example.com", true],
        ["", false], ["https://docker.io", false], ["docker.io/", false], ["docker.io:0", false], ["docker.io:65536", false],
        ["-docker.io", false], ["docker..io", false], ["bad host", false], ["*.docker.io", false],
    ])("host %j is %s", (host, ok) => expect(isRegistryHost(host)).toBe(ok));

    it.each([
        ["http://172.30.0.1:5000", true], ["https://mirror.gcr.io", true], ["http://registry.local:5000/v2", true],
        ["http://[fd00::1]:5000", true], ["https://mirror.example.com/some/path", true],
        ["172.30.0.1:5000", false], ["ftp://mirror", false], ["http://", false], ["http://u:p@mirror", false],
        ["http://mirror?x=1", false], ["http://mirror#frag", false], ["http://mirror:99999", false], ["http://*", false],
        ["http://mirror/a b", false], ["HTTP://mirror", false],
    ])("URL %j is %s", (url, ok) => expect(isMirrorUrl(url)).toBe(ok));
});

describe("registryMirrors", () => {
    it("is kept as the stack sets it", () => {
        const mirrors = { "docker.io": ["http://172.30.0.1:5000", "https://mirror.gcr.io"], "*": ["http://10.0.0.9:5000"] };
        expect(parseClusterSpec(asRawConfig({ registryMirrors: mirrors })).registryMirrors).toEqual(mirrors);
        expect(parseClusterSpec({}).registryMirrors).toEqual({});
    });

    it("reports every bad host and URL at once, each with its key, value and rule", () => {
        expect(found({ registryMirrors: {
            "https://docker.io/": ["10.5.0.1:5000"],
            "ghcr.io": "http://10.5.0.1:5004",
            "quay.io": [],
            "gcr.io": ["ftp://x", "http://u:p@h", "http://ok:5000/v2"],
        } })).toEqual([
            { text: `talos-docker:registryMirrors["https://docker.io/"] = ["10.5.0.1:5000"]: is not ${HOST_RULE}`,
                fix: 'rename the key to "docker.io" under talos-docker:registryMirrors in Pulumi.<stack>.yaml' },
            { text: `talos-docker:registryMirrors["https://docker.io/"][0] = "10.5.0.1:5000": must be ${URL_RULE}`,
                fix: "pulumi config set --path 'talos-docker:registryMirrors[\"https://docker.io/\"][0]' http://10.5.0.1:5000" },
            { text: `talos-docker:registryMirrors["ghcr.io"] = "http://10.5.0.1:5004": must be a list of mirror URLs, each ${URL_RULE}`,
                fix: "pulumi config rm --path 'talos-docker:registryMirrors[\"ghcr.io\"]' && " +
                    "pulumi config set --path 'talos-docker:registryMirrors[\"ghcr.io\"][0]' http://10.5.0.1:5004" },
            { text: 'talos-docker:registryMirrors["quay.io"] = []: needs at least one mirror URL (Talos would pull from the registry itself)',
                fix: "pulumi config set --path 'talos-docker:registryMirrors[\"quay.io\"][0]' <url>, or " +
                    "pulumi config rm --path 'talos-docker:registryMirrors[\"quay.io\"]'" },
            { text: `talos-docker:registryMirrors["gcr.io"][0] = "ftp://x": must be ${URL_RULE}`,
                fix: "pulumi config rm --path 'talos-docker:registryMirrors[\"gcr.io\"][0]'" },
            { text: `talos-docker:registryMirrors["gcr.io"][1] = "http://u:p@h": must be ${URL_RULE}`,
                fix: "pulumi config rm --path 'talos-docker:registryMirrors[\"gcr.io\"][1]'" },
        ]);
    });

    it("must be a map", () => {
        expect(found({ registryMirrors: ["http://172.30.0.1:5000"] })).toEqual([{
            text: 'talos-docker:registryMirrors = ["http://172.30.0.1:5000"]: must be a map of registry host → list of mirror URLs, ' +
                'such as {"docker.io":["http://172.30.0.1:5000"]}',
            fix: "pulumi config rm talos-docker:registryMirrors, then set each mirror on its own " +
                "(pulumi config set --path 'talos-docker:registryMirrors[\"docker.io\"][0]' http://172.30.0.1:5000)",
        }]);
    });
});

describe("registryCache", () => {
    it("is off by default and takes only enabled", () => {
        expect(parseClusterSpec({}).registryCache).toEqual({ enabled: false });
        expect(found({ registryCache: { enabled: "yes", size: 1 } })).toEqual([
            { text: "talos-docker:registryCache.size = 1: unknown key; registryCache has enabled",
                fix: "pulumi config rm --path 'talos-docker:registryCache.size'" },
            { text: 'talos-docker:registryCache.enabled = "yes": must be true or false',
                fix: "pulumi config set --path 'talos-docker:registryCache.enabled' true" },
        ]);
    });

    it("needs room at the top of the subnet, and the caches' host ports, only when enabled", () => {
        const tight = { network: { subnet: "172.30.0.0/29" }, ports: { http: 5000 } };
        expect(found(tight)).toEqual([]);
        expect(found({ ...tight, registryCache: { enabled: true } })).toEqual([
            { text: 'talos-docker:network.subnet = "172.30.0.0/29": too small for 2 workers and the 5 registry caches ' +
                "(registryCache.enabled): the caches go below the top 6 addresses, kept for further control planes, and " +
                "the workers count up from 172.30.0.3; use a /27 or larger",
            fix: "pulumi config set --path 'talos-docker:network.subnet' 172.30.0.0/27" },
            { text: "talos-docker:ports.http = 5000: is the port of the registry cache of docker.io on 127.0.0.1 " +
                "(registryCache.enabled takes 5000-5004 there); use another port",
            fix: "pulumi config set --path 'talos-docker:ports.http' 5005" },
        ]);
    });

    it("refuses a gateway among the caches' addresses", () => {
        expect(found({ registryCache: { enabled: true }, network: { gateway: "172.30.0.246" } })).toEqual([{
            text: 'talos-docker:network.gateway = "172.30.0.246": is one of the registry caches\' addresses ' +
                "(172.30.0.244-172.30.0.248, with registryCache.enabled); use 172.30.0.1 or another address below them",
            fix: "pulumi config rm --path 'talos-docker:network.gateway' (the gateway is then 172.30.0.1)",
        }]);
    });

    it("a cluster port elsewhere than 127.0.0.1 may be a cache's port", () => {
        expect(found({ registryCache: { enabled: true }, ports: { bindAddress: "192.168.1.5", http: 5000 } })).toEqual([]);
    });
});

describe("the caches", () => {
    it("have names and labels of their registry alone, so every stack finds the same ones", () => {
        const plans = cachePlans();
        expect(plans.map((p) => p.registry)).toEqual(["docker.io", "registry.k8s.io", "quay.io", "gcr.io", "ghcr.io"]);
        for (const plan of plans) {
            expect(plan.container).toBe(`talos-registry-cache-${plan.registry}`);
            expect(plan.volume).toBe(plan.container);
            expect(plan.labels).toEqual({ [REGISTRY_CACHE_LABEL]: plan.registry });
            expect(plan.env).toEqual([`REGISTRY_PROXY_REMOTEURL=${plan.remoteUrl}`]);
        }
        expect(new Set(plans.map((p) => p.hostPort)).size).toBe(plans.length);
    });

    it.each(["172.30.0.0/24", "10.9.0.0/16", "192.168.7.0/28"])("sit below the control planes' block of %s, clear of every node", (subnet) => {
        const cidr = parseCidr(subnet);
        if ("error" in cidr) throw new Error(cidr.error);
        const addresses = Object.values(cacheAddresses(subnet));
        expect(new Set(addresses).size).toBe(REGISTRY_CACHE_UPSTREAMS.length);
        // Below every address a control plane may take (cp-02 … cp-07 from the top down), above the workers.
        const controlPlanes = [2, 3, 4, 5, 6, 7].map((i) => nodeAddress(cidr, "controlplane", i));
        for (const a of addresses) expect(controlPlanes).not.toContain(a);
        expect(addresses[0]).toBe(hostAddress(cidr, cidr.size - 8));
        expect(addresses.at(-1)).toBe(hostAddress(cidr, cidr.size - 12));
    });

    it("are each node's mirrors when enabled; a mirror of the stack's own wins for its registry", () => {
        const network = { subnet: "172.30.0.0/24" };
        expect(nodeMirrors({ network })).toEqual({});
        expect(nodeMirrors({ network, registryMirrors: { "docker.io": ["http://m:5000"] } })).toEqual({ "docker.io": ["http://m:5000"] });
        expect(cacheMirrors("172.30.0.0/24")).toEqual({
            "docker.io": ["http://172.30.0.248:5000"], "registry.k8s.io": ["http://172.30.0.247:5000"],
            "quay.io": ["http://172.30.0.246:5000"], "gcr.io": ["http://172.30.0.245:5000"], "ghcr.io": ["http://172.30.0.244:5000"],
        });
        expect(nodeMirrors({ network, registryCache: { enabled: true }, registryMirrors: { "docker.io": ["http://m:5000"] } }))
            .toEqual({ ...cacheMirrors("172.30.0.0/24"), "docker.io": ["http://m:5000"] });
    });
});
