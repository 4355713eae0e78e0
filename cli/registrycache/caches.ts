// The pull-through caches on the Docker Engine: made when missing, started when stopped, attached
// to and detached from cluster networks, removed on request. No stack owns them (two stacks cannot
// both own one container, and a destroy must not take a cache another cluster uses), so every step
// is idempotent and adopts what it finds: a cache is ours by its fixed name and its label
// (model/registries.ts), whoever made it.

import {
    cacheAddresses, cacheNetworkLabels, cachePlans, REGISTRY_CACHE_BIND_ADDRESS, REGISTRY_CACHE_FILTER,
    REGISTRY_CACHE_LABEL, REGISTRY_CACHE_NETWORK, REGISTRY_CACHE_NETWORK_LABEL_VALUE, REGISTRY_DATA_PATH,
    REGISTRY_PORT, type CachePlan,
} from "../../model/registries";
import { DockerError, type ContainerDetails } from "../docker/api";
import { isConflict, type ContainerSpec, type DockerWriter } from "../docker/writer";
import { CliError, ExitCode } from "../exitcodes";

export interface CacheRun {
    docker: DockerWriter;
    /** the image of a cache that has to be made */
    image: string;
    /** milliseconds left of the command's deadline */
    left(): number;
    say(line: string): void;
}

/** The container a cache is made as. */
export function cacheContainerSpec(plan: CachePlan, image: string): ContainerSpec {
    return {
        name: plan.container,
        image,
        env: plan.env,
        labels: plan.labels,
        volume: { name: plan.volume, path: REGISTRY_DATA_PATH },
        port: { container: REGISTRY_PORT, hostIp: REGISTRY_CACHE_BIND_ADDRESS, hostPort: plan.hostPort },
        network: REGISTRY_CACHE_NETWORK,
        // Back after a Docker Engine restart, like the nodes; a cache stopped by hand stays stopped
        // until the next `pulumi up` (or `registry-cache up`) starts it.
        restart: "unless-stopped",
    };
}

/** Every cache exists and runs; returns each one's container as Docker has it then. */
export async function ensureCaches(run: CacheRun): Promise<Map<CachePlan, ContainerDetails>> {
    await ensureNetwork(run);
    const plans = cachePlans();
    await Promise.all(plans.map((plan) => run.docker.createVolume(plan.volume, plan.labels, run.left())));
    const found = await Promise.all(plans.map((plan) => inspectOurs(run, plan)));
    if (found.some((d) => d === undefined) && !(await run.docker.hasImage(run.image, run.left()))) {
        run.say(`pulling ${run.image}`);
        await run.docker.pullImage(run.image, run.left());
    }
    const result = new Map<CachePlan, ContainerDetails>();
    await Promise.all(plans.map(async (plan, i) => {
        let details = found[i];
        if (details === undefined) {
            try {
                await run.docker.createContainer(cacheContainerSpec(plan, run.image), run.left());
                const at = `${REGISTRY_CACHE_BIND_ADDRESS}:${plan.hostPort}`;
                run.say(`${plan.registry}: created ${plan.container} (${at}, data in volume ${plan.volume})`);
            } catch (err) {
                // Made meanwhile by another stack's `pulumi up`: adopted below, as any other.
                if (!isConflict(err)) throw err;
            }
            details = await inspectOurs(run, plan);
            if (details === undefined) {
                throw new CliError(ExitCode.FAILED, `${plan.container} was created but Docker does not find it`);
            }
        }
        if (!details.running) {
            await run.docker.startContainer(plan.container, run.left());
            run.say(`${plan.registry}: started ${plan.container}`);
            details = (await inspectOurs(run, plan)) ?? details;
        }
        result.set(plan, details);
    }));
    return result;
}

/**
 * Every cache is attached to `network` at its address in `subnet` (model/registries.ts
 * cacheAddresses), after ensureCaches; one attached at another address is moved.
 */
export async function attachCaches(run: CacheRun, network: string, subnet: string): Promise<void> {
    const caches = await ensureCaches(run);
    const addresses = cacheAddresses(subnet);
    await Promise.all([...caches].map(async ([plan, details]) => {
        const want = addresses[plan.registry];
        const have = details.networks[network];
        if (have === want) return;
        if (have !== undefined) await run.docker.disconnectNetwork(network, plan.container, run.left());
        try {
            await run.docker.connectNetwork(network, plan.container, want, run.left());
        } catch (err) {
            if (err instanceof DockerError && err.kind === "notfound") {
                throw new CliError(ExitCode.FAILED,
                    `the Docker network ${network} does not exist: \`pulumi up\` creates it before the caches are attached`);
            }
            throw err;
        }
        run.say(`${plan.registry}: ${plan.container} attached to ${network} at ${want}:${REGISTRY_PORT}`);
    }));
}

/** No cache is attached to `network` any more; the caches and their data stay. */
export async function detachCaches(run: CacheRun, network: string): Promise<void> {
    const containers = await run.docker.listContainers([REGISTRY_CACHE_FILTER], run.left());
    await Promise.all(containers.map(async (c) => {
        const plan = cachePlans().find((p) => p.container === c.name && c.labels[REGISTRY_CACHE_LABEL] === p.registry);
        if (plan === undefined) return;
        const details = await run.docker.inspectContainer(c.name, run.left());
        if (!(network in details.networks)) return;
        try {
            await run.docker.disconnectNetwork(network, c.name, run.left());
        } catch (err) {
            if (!(err instanceof DockerError && err.kind === "notfound")) throw err;
        }
        run.say(`${plan.registry}: ${c.name} detached from ${network} (kept, with its data)`);
    }));
}

/** The caches' containers and network go; their volumes too with `volumes`. */
export async function removeCaches(run: CacheRun, volumes: boolean): Promise<void> {
    await Promise.all(cachePlans().map(async (plan) => {
        if ((await inspectOurs(run, plan)) !== undefined) {
            await run.docker.removeContainer(plan.container, run.left());
            run.say(`${plan.registry}: removed ${plan.container}`);
        }
        if (!volumes) return;
        const labelled = await run.docker.listVolumes([`${REGISTRY_CACHE_LABEL}=${plan.registry}`], run.left());
        if (!labelled.some((v) => v.name === plan.volume)) return;
        await run.docker.removeVolume(plan.volume, run.left());
        run.say(`${plan.registry}: removed volume ${plan.volume} and what it cached`);
    }));
    const network = (await run.docker.listNetworks(run.left())).find((n) => n.name === REGISTRY_CACHE_NETWORK);
    if (network !== undefined && isCacheNetwork(network.labels)) {
        await run.docker.removeNetwork(REGISTRY_CACHE_NETWORK, run.left());
    }
    if (!volumes) run.say("the caches' volumes are kept: `registry-cache rm --volumes` removes them too");
}

/** The caches' own network, made when missing; a network of that name that is not theirs is refused. */
async function ensureNetwork(run: CacheRun): Promise<void> {
    const existing = (await run.docker.listNetworks(run.left())).find((n) => n.name === REGISTRY_CACHE_NETWORK);
    if (existing !== undefined) {
        if (isCacheNetwork(existing.labels)) return;
        throw new CliError(ExitCode.FAILED,
            `a Docker network named ${REGISTRY_CACHE_NETWORK} exists without the label ` +
                `${REGISTRY_CACHE_LABEL}=${REGISTRY_CACHE_NETWORK_LABEL_VALUE}: it is not the registry caches'; ` +
                `remove it (docker network rm ${REGISTRY_CACHE_NETWORK}) if it is yours to remove`);
    }
    try {
        await run.docker.createNetwork(REGISTRY_CACHE_NETWORK, cacheNetworkLabels(), run.left());
        run.say(`created the Docker network ${REGISTRY_CACHE_NETWORK}`);
    } catch (err) {
        if (!isConflict(err)) throw err;
    }
}

function isCacheNetwork(labels: Record<string, string>): boolean {
    return labels[REGISTRY_CACHE_LABEL] === REGISTRY_CACHE_NETWORK_LABEL_VALUE;
}

/** The cache's container, undefined when there is none; one of its name that is not a cache is refused. */
async function inspectOurs(run: CacheRun, plan: CachePlan): Promise<ContainerDetails | undefined> {
    let details: ContainerDetails;
    try {
        details = await run.docker.inspectContainer(plan.container, run.left());
    } catch (err) {
        if (err instanceof DockerError && err.kind === "notfound") return undefined;
        throw err;
    }
    if (details.labels[REGISTRY_CACHE_LABEL] !== plan.registry) {
        throw new CliError(ExitCode.FAILED,
            `a container named ${plan.container} exists without the label ${REGISTRY_CACHE_LABEL}=${plan.registry}: ` +
                `it is not the registry cache of ${plan.registry}; ` +
                `rename or remove it (docker rm -f ${plan.container}) if it is yours to remove`);
    }
    return details;
}
