// Registry mirrors and the pull-through cache: the rules of the `registryMirrors` and
// `registryCache` stack-config keys, the caches themselves (names, labels, ports, their addresses
// on a cluster network), and the mirrors each node is given. Pure: the stack-config parser
// (./config.ts), the program (components/registrycache.ts) and the CLI (cli/registrycache/) all
// take them from here.
//
// How the nodes reach the caches: each cache container is attached to every cluster network that
// uses it, at a fixed address at the top of the cluster's subnet, and the nodes' mirrors name that
// address. Talos' guide instead publishes every cache on all the host's interfaces and points the
// nodes at a bridge's gateway (talos@v1.8.3:website/content/v1.8/talos-guides/configuration/
// pull-through-cache.md): that opens the caches to the network the host is on, and a port bound to
// one cluster's gateway alone would keep the shared cache from starting once that cluster's bridge
// is gone (Docker then refuses the start: "listen tcp4 <gateway>:5000: bind: cannot assign
// requested address"). The caches publish their ports on 127.0.0.1 only, for the host's own checks.

import type { ClusterSpec } from "./config";
import { nextFreePort } from "./configfixes";
import { ourKey, type Problems } from "./configproblems";
import { configValue } from "./confignamespaces";
import { cidrContains, formatIPv4, hostAddress, parseCidr, parseIPv4, type Cidr } from "./ipv4";
import { controlPlaneBlockStart, MAX_CONTROL_PLANES, nodeOffset } from "./plan";

/** registry host → mirror endpoint URLs, as talosctl's `--registry-mirror host=url` builds them. */
export type RegistryMirrors = Readonly<Record<string, readonly string[]>>;

/** One registry the cache stands in front of. */
export interface CacheUpstream {
    /** The registry as image references name it (the key of its mirror). */
    registry: string;
    /** Where its cache pulls from (REGISTRY_PROXY_REMOTEURL). */
    remoteUrl: string;
    /** The port its cache publishes on 127.0.0.1, for the host. */
    hostPort: number;
}

/**
 * The registries a cluster pulls from, each with the remote and the host port of Talos' guide
 * (talos@v1.8.3:website/content/v1.8/talos-guides/configuration/pull-through-cache.md: docker.io
 * 5000, registry.k8s.io 5001, gcr.io 5003, ghcr.io 5004; quay.io 5002 from its earlier versions,
 * talos@v1.11.6:website/content/v0.12/guides/configuring-pull-through-cache.md). The order is the
 * order of their addresses on a cluster network, from the top down.
 */
export const REGISTRY_CACHE_UPSTREAMS: readonly CacheUpstream[] = [
    { registry: "docker.io", remoteUrl: "https://registry-1.docker.io", hostPort: 5000 },
    { registry: "registry.k8s.io", remoteUrl: "https://registry.k8s.io", hostPort: 5001 },
    { registry: "quay.io", remoteUrl: "https://quay.io", hostPort: 5002 },
    { registry: "gcr.io", remoteUrl: "https://gcr.io", hostPort: 5003 },
    { registry: "ghcr.io", remoteUrl: "https://ghcr.io", hostPort: 5004 },
];

/** The cache's image, as Talos' guide runs it. */
export const REGISTRY_CACHE_IMAGE = "registry:2";

/**
 * Where registry:2 listens and keeps its data: `http.addr: :5000` and
 * `storage.filesystem.rootdirectory: /var/lib/registry`, the image's VOLUME
 * (distribution@v2.8.3:Dockerfile, cmd/registry/config-example.yml).
 */
export const REGISTRY_PORT = 5000;
export const REGISTRY_DATA_PATH = "/var/lib/registry";

/** The variable that makes registry:2 a pull-through cache of one remote (distribution@v2.8.3 `proxy.remoteurl`). */
export const REGISTRY_PROXY_ENV = "REGISTRY_PROXY_REMOTEURL";

/** The host address the caches publish on: loopback, reachable from the host alone. */
export const REGISTRY_CACHE_BIND_ADDRESS = "127.0.0.1";

/**
 * The Docker network the caches are created on: theirs, so they reach the registries without any
 * cluster, and never removed with a cluster.
 */
export const REGISTRY_CACHE_NETWORK = "talos-registry-cache";

/** The label on every cache object: the upstream registry on a container and its volume, `network` on the network. */
export const REGISTRY_CACHE_LABEL = "talos-docker.registry-cache";
export const REGISTRY_CACHE_NETWORK_LABEL_VALUE = "network";

/**
 * How long registry:2 keeps what it cached before it asks the remote again: a week, fixed in
 * v2 (distribution@v2.8.3:registry/proxy/proxymanifeststore.go `repositoryTTL`).
 */
export const REGISTRY_CACHE_TTL_DAYS = 7;

/** One cache as it is created: the same on every machine and for every stack. */
export interface CachePlan extends CacheUpstream {
    /** Its container, e.g. `talos-registry-cache-docker.io`. */
    container: string;
    /** Its data, kept when the container or any cluster goes. */
    volume: string;
    labels: Record<string, string>;
    /** REGISTRY_PROXY_REMOTEURL=<remote> */
    env: string[];
}

/** Every cache, in REGISTRY_CACHE_UPSTREAMS' order. Names depend on the registry alone, never on a stack. */
export function cachePlans(): CachePlan[] {
    return REGISTRY_CACHE_UPSTREAMS.map((upstream) => {
        const name = `${REGISTRY_CACHE_NETWORK}-${upstream.registry}`;
        return {
            ...upstream,
            container: name,
            volume: name,
            labels: { [REGISTRY_CACHE_LABEL]: upstream.registry },
            env: [`${REGISTRY_PROXY_ENV}=${upstream.remoteUrl}`],
        };
    });
}

/** The labels of the caches' own network. */
export function cacheNetworkLabels(): Record<string, string> {
    return { [REGISTRY_CACHE_LABEL]: REGISTRY_CACHE_NETWORK_LABEL_VALUE };
}

/** A Docker `label` filter for the cache containers and volumes. */
export const REGISTRY_CACHE_FILTER = REGISTRY_CACHE_LABEL;

/**
 * The cache of `registry`'s address on a cluster network: just below the block the further control
 * planes take at the top (model/plan.ts controlPlaneBlockStart), docker.io's the highest (.248 of a
 * /24, then .247 … .244), clear of the workers, which count up from .3. No count moves them.
 */
export function cacheAddress(cidr: Cidr, position: number): string {
    return hostAddress(cidr, cacheOffset(cidr.size, position));
}

function cacheOffset(size: number, position: number): number {
    return controlPlaneBlockStart(size) - 1 - position;
}

/** The workers of `workers` and the caches fit a subnet of `size` addresses: the last worker below the lowest cache. */
function cachesFit(size: number, workers: number): boolean {
    const lowestCache = cacheOffset(size, REGISTRY_CACHE_UPSTREAMS.length - 1);
    return lowestCache > (workers === 0 ? nodeOffset(size, "controlplane", 1) : nodeOffset(size, "worker", workers));
}

/** registry → the address of its cache on the cluster network of `subnet` (a valid CIDR). */
export function cacheAddresses(subnet: string): Record<string, string> {
    const cidr = parseCidr(subnet);
    if ("error" in cidr) throw new Error(`network.subnet ${cidr.error}`);
    return Object.fromEntries(REGISTRY_CACHE_UPSTREAMS.map((u, i) => [u.registry, cacheAddress(cidr, i)]));
}

/** The mirrors that send each upstream's pulls to its cache on the cluster network. */
export function cacheMirrors(subnet: string): Record<string, string[]> {
    const addresses = cacheAddresses(subnet);
    return Object.fromEntries(Object.entries(addresses).map(([registry, ip]) => [registry, [`http://${ip}:${REGISTRY_PORT}`]]));
}

/** What the registry parts of a spec hold; absent fields mean none (no mirror, no cache). */
export interface RegistrySpec {
    network: Pick<ClusterSpec["network"], "subnet">;
    registryMirrors?: RegistryMirrors;
    registryCache?: ClusterSpec["registryCache"];
}

/**
 * The mirrors every node gets: the stack's own, then the caches' for each registry the stack
 * names no mirror of (a mirror of the stack's own replaces the cache for its registry).
 */
export function nodeMirrors(spec: RegistrySpec): Record<string, string[]> {
    const own = Object.fromEntries(Object.entries(spec.registryMirrors ?? {}).map(([host, urls]) => [host, [...urls]]));
    if (spec.registryCache?.enabled !== true) return own;
    return { ...cacheMirrors(spec.network.subnet), ...own };
}

// A registry host as an image reference names it: domain components joined by dots, then an
// optional port (distribution/reference's `domain` grammar, without IPv6), or `*`, the mirror
// of every registry (talos@v1.8.3:pkg/machinery/config/types/v1alpha1/v1alpha1_types.go
// RegistriesConfig; talos@v1.13.9:pkg/machinery/config/types/cri/registry_mirror.go).
const DOMAIN_COMPONENT = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
const REGISTRY_HOST = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::([0-9]{1,5}))?$`);
export const ANY_REGISTRY = "*";

/** What a registry host may be, for messages. */
export const REGISTRY_HOST_RULE =
    "a registry host as image references name it: a host name or IPv4 address with an optional port " +
    `(docker.io, registry.local:5000), or ${ANY_REGISTRY} for every registry`;

export function isRegistryHost(host: string): boolean {
    if (host === ANY_REGISTRY) return true;
    const match = REGISTRY_HOST.exec(host);
    if (match === null) return false;
    return match[1] === undefined || isPort(Number(match[1]));
}

/** What a mirror URL may be, for messages. */
export const MIRROR_URL_RULE =
    "an http:// or https:// URL with a host, an optional port and path, and no user, password, query or " +
    "fragment, such as http://172.30.0.1:5000";

// The path as written must survive Go's url.Parse and String() unchanged, since Talos v1.12 and
// later write the endpoint back from its parsed URL (talos@v1.13.9:pkg/machinery/config/generate/
// registry.go): unreserved characters and slashes only.
const MIRROR_URL = /^(https?):\/\/([^/?#@\s]+)(\/[A-Za-z0-9._~/-]*)?$/;

/**
 * A mirror endpoint Talos accepts (an http or https URL: talos@v1.13.9 RegistryMirrorConfigV1Alpha1
 * Validate) and containerd can use: a host, no credentials (they belong in the registry's auth
 * config, never in a URL kept in plain text), no query or fragment.
 */
export function isMirrorUrl(url: string): boolean {
    const match = MIRROR_URL.exec(url);
    if (match === null) return false;
    const authority = match[2];
    const bracketed = /^\[([0-9a-fA-F:.]+)\](?::([0-9]{1,5}))?$/.exec(authority);
    if (bracketed !== null) return bracketed[2] === undefined || isPort(Number(bracketed[2]));
    return authority !== ANY_REGISTRY && isRegistryHost(authority);
}

function isPort(port: number): boolean {
    return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** The stack-config key of one registry's mirrors: `registryMirrors["docker.io"]` (a Pulumi property path). */
export function mirrorKey(host: string, index?: number): string {
    const quoted = JSON.stringify(host);
    return `registryMirrors[${quoted}]${index === undefined ? "" : `[${index}]`}`;
}

const EXAMPLE = { "docker.io": ["http://172.30.0.1:5000"] };

/**
 * `registryMirrors`: registry host → a non-empty list of mirror URLs. Every problem is reported;
 * the hosts that pass keep their valid URLs.
 */
export function parseRegistryMirrors(p: Problems, text: string | undefined): Record<string, string[]> {
    if (text === undefined) return {};
    const value = configValue(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        p.add("registryMirrors", value,
            `must be a map of registry host → list of mirror URLs, such as ${JSON.stringify(EXAMPLE)}`,
            `${p.rm("registryMirrors")}, then set each mirror on its own ` +
                `(${p.set(mirrorKey("docker.io", 0), EXAMPLE["docker.io"][0])})`);
        return {};
    }
    const mirrors: Record<string, string[]> = {};
    for (const [host, endpoints] of Object.entries(value as Record<string, unknown>)) {
        const hostOk = checkHost(p, host, endpoints);
        const urls = checkEndpoints(p, host, endpoints);
        if (hostOk && urls !== undefined) mirrors[host] = urls;
    }
    return mirrors;
}

function checkHost(p: Problems, host: string, endpoints: unknown): boolean {
    if (isRegistryHost(host)) return true;
    const meant = proposeHost(host);
    const renamed = meant === undefined ? undefined : `rename the key to "${meant}" under ${ourKey("registryMirrors")} in ${p.stackFile}`;
    p.add(mirrorKey(host), endpoints, `is not ${REGISTRY_HOST_RULE}`, renamed ?? p.rm(mirrorKey(host)));
    return false;
}

/** `https://docker.io/` → `docker.io`: the host of something written as a URL or with a path. */
function proposeHost(written: string): string | undefined {
    const host = written.trim().replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
    return host !== written && isRegistryHost(host) ? host : undefined;
}

/** The host's URLs, or undefined when they are not a list; each bad URL is reported and dropped. */
function checkEndpoints(p: Problems, host: string, endpoints: unknown): string[] | undefined {
    const key = mirrorKey(host);
    if (typeof endpoints === "string") {
        p.add(key, endpoints, `must be a list of mirror URLs, each ${MIRROR_URL_RULE}`,
            `${p.rm(key)} && ${p.set(mirrorKey(host, 0), proposeUrl(endpoints) ?? endpoints)}`);
        return undefined;
    }
    if (!Array.isArray(endpoints)) {
        p.add(key, endpoints, `must be a list of mirror URLs, each ${MIRROR_URL_RULE}`,
            `${p.rm(key)}, then ${p.set(mirrorKey(host, 0), "<url>")}`);
        return undefined;
    }
    if (endpoints.length === 0) {
        p.add(key, endpoints, "needs at least one mirror URL (Talos would pull from the registry itself)",
            `${p.set(mirrorKey(host, 0), "<url>")}, or ${p.rm(key)}`);
        return undefined;
    }
    const urls: string[] = [];
    endpoints.forEach((url: unknown, index) => {
        if (typeof url === "string" && isMirrorUrl(url)) {
            urls.push(url);
            return;
        }
        const meant = typeof url === "string" ? proposeUrl(url) : undefined;
        p.add(mirrorKey(host, index), url, `must be ${MIRROR_URL_RULE}`,
            meant === undefined ? p.rm(mirrorKey(host, index)) : p.set(mirrorKey(host, index), meant));
    });
    return urls;
}

/** `10.5.0.1:5000` → `http://10.5.0.1:5000`, ` https://m.local/ ` → `https://m.local/`: a URL near what was written. */
function proposeUrl(written: string): string | undefined {
    const trimmed = written.trim();
    const candidates = [trimmed, `http://${trimmed}`, trimmed.replace(/^[A-Za-z]+(?=:\/\/)/, (s) => s.toLowerCase())];
    return candidates.find((c) => c !== written && isMirrorUrl(c));
}

/** The cluster-network facts the cache's addresses are checked against. */
export interface CacheAddressContext {
    subnet: string;
    gateway: string;
    workers: number;
}

/**
 * With the cache on, the five addresses below the control planes' block are the caches': the
 * gateway must not be one of them, and the workers must fit below them. A subnet that does not parse was reported already.
 */
export function checkCacheAddresses(p: Problems, net: CacheAddressContext): void {
    const cidr = parseCidr(net.subnet);
    if ("error" in cidr) return;
    const count = REGISTRY_CACHE_UPSTREAMS.length;
    const lowest = cacheOffset(cidr.size, count - 1);
    const highest = cacheOffset(cidr.size, 0);
    if (!cachesFit(cidr.size, net.workers)) {
        // The smallest block that holds the workers, the caches and the control planes' block above them.
        let prefix = cidr.prefix;
        while (prefix > 0 && !cachesFit(2 ** (32 - prefix), net.workers)) prefix--;
        const block = `${formatIPv4(cidr.network - (cidr.network % 2 ** (32 - prefix)))}/${prefix}`;
        p.add("network.subnet", net.subnet,
            `too small for ${net.workers} workers and the ${count} registry caches (registryCache.enabled): the caches go ` +
                `below the top ${MAX_CONTROL_PLANES - 1} addresses, kept for further control planes, and the workers count up ` +
                `from ${hostAddress(cidr, nodeOffset(cidr.size, "worker", 1))}; use a /${prefix} or larger`,
            p.set("network.subnet", block));
        return;
    }
    const range = `${cacheAddress(cidr, count - 1)}-${cacheAddress(cidr, 0)}`;
    const gateway = parseIPv4(net.gateway);
    if (gateway === undefined || !cidrContains(cidr, gateway)) return;
    if (gateway - cidr.network >= lowest && gateway - cidr.network <= highest) {
        p.add("network.gateway", net.gateway,
            `is one of the registry caches' addresses (${range}, with registryCache.enabled); ` +
                `use ${hostAddress(cidr, 1)} or another address below them`,
            `${p.rm("network.gateway")} (the gateway is then ${hostAddress(cidr, 1)})`);
    }
}

/** The host ports of `ports` (not its bind address). */
type PortKey = Exclude<keyof ClusterSpec["ports"], "bindAddress">;

/**
 * With the cache on, the caches' host ports are taken on 127.0.0.1: a cluster port published there
 * (or on every address) must be another one.
 */
export function checkCachePorts(p: Problems, ports: ClusterSpec["ports"], keys: readonly PortKey[]): void {
    if (ports.bindAddress !== REGISTRY_CACHE_BIND_ADDRESS && ports.bindAddress !== "0.0.0.0") return;
    const cachePorts = REGISTRY_CACHE_UPSTREAMS.map((u) => u.hostPort);
    const taken = [...cachePorts, ...keys.map((k) => ports[k])];
    for (const key of keys) {
        const cache = REGISTRY_CACHE_UPSTREAMS.find((u) => u.hostPort === ports[key]);
        if (cache === undefined) continue;
        p.add(`ports.${key}`, ports[key],
            `is the port of the registry cache of ${cache.registry} on ${REGISTRY_CACHE_BIND_ADDRESS} (registryCache.enabled ` +
                `takes ${cachePorts[0]}-${cachePorts[cachePorts.length - 1]} there); use another port`,
            p.set(`ports.${key}`, nextFreePort(ports[key] + 1, taken)));
    }
}
