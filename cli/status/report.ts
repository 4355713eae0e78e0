// What `status` found: the seven sections of the seed's status-talos.sh as data (the --json
// form), and the findings, each with the next step to take.

import type { ServiceView } from "../readiness/services";
import type { CacheState } from "../registrycache/probe";
import type { ExpectedFrom } from "./expected";

export type SectionId = "containers" | "network" | "talos" | "kubernetes" | "resources" | "ports" | "registryCache";

export interface Finding {
    section: SectionId;
    /** a problem makes the cluster unhealthy (exit 5); a warning does not */
    severity: "problem" | "warning";
    what: string;
    /** the concrete next step */
    next: string;
}

export interface ContainerRow {
    name: string;
    role?: string;
    /** running, exited, …, or "missing" when the stack declares it and Docker has none */
    state: string;
    ip?: string;
    /** Docker health check status; Talos' image has none */
    health?: string;
    /** since when it runs (ISO), when running */
    startedAt?: string;
    uptimeMs?: number;
    restarts?: number;
    exitCode?: number;
    oomKilled?: boolean;
}

export interface NetworkRow {
    name: string;
    driver: string;
    subnets: string[];
    gateways: string[];
    mtu?: number;
    containers: string[];
}

export interface TalosRow {
    node: string;
    ip?: string;
    version?: string;
    error?: string;
    /** its Talos services (talosctl services), when they could be listed */
    services?: ServiceRow[];
    /** why they could not */
    servicesError?: string;
    /** its boot stage (talosctl get machinestatus), when it could be read */
    stage?: string;
    /** why it has not booted, as readiness judges it; undefined when it has */
    notBooted?: string;
    /** why the machine status could not be read */
    stageError?: string;
}

/** A Talos service as the report lists it (judged by cli/readiness/services.ts). */
export type ServiceRow = ServiceView;

export interface KubernetesSection {
    server?: string;
    /** "ok", or why not */
    api?: string;
    nodesReady?: number;
    nodesExpected?: number;
    /** what nodesExpected counts: the stack's nodes, Docker's node containers, or the API's Node objects */
    nodesExpectedFrom?: ExpectedFrom;
    /** "API ready, 3/3 nodes Ready, CoreDNS 2/2, …" or the problems */
    summary?: string;
    problems: string[];
    skipped?: string;
}

export interface UsageRow {
    name: string;
    cpuPercent?: number;
    memoryBytes?: number;
    memoryLimitBytes?: number;
    netRxBytes?: number;
    netTxBytes?: number;
    blockReadBytes?: number;
    blockWriteBytes?: number;
    error?: string;
}

export interface PortRow {
    container: string;
    purpose: string;
    hostIp: string;
    hostPort: number;
    containerPort: number;
    reachable: boolean;
    detail: string;
}

export interface StatusReport {
    cluster?: string;
    /** where the client configs came from */
    source: string;
    healthy: boolean;
    elapsedMs: number;
    containers: { rows: ContainerRow[]; error?: string };
    network: { row?: NetworkRow; error?: string };
    talos: { endpoint?: string; rows: TalosRow[]; skipped?: string };
    kubernetes: KubernetesSection;
    resources: { rows: UsageRow[] };
    ports: { rows: PortRow[] };
    /**
     * The shared pull-through caches on this machine (none when there are none), and whether this
     * cluster's network has them attached.
     */
    registryCache: { rows: CacheState[]; used: boolean; error?: string };
    findings: Finding[];
    notes: string[];
}
