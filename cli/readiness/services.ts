// When a Talos service is fine. Two rules, both Talos': a service a readiness check waits for
// must be Running and pass its health check (talos@v1.8.3 and v1.13.9:pkg/cluster/check/
// service.go `ServiceHealthAssertion`); any service is fine when it is Running, Finished or
// Skipped and not failing its health check (internal/app/machined/pkg/system/service_runner.go),
// which is what `status` lists per node.

import type { ServiceInfo } from "../../talos/api";

/** A service as `status` shows it. */
export interface ServiceView {
    id: string;
    state: string;
    /** undefined when Talos does not know (no health check) */
    healthy?: boolean;
    message?: string;
}

export function serviceView(s: ServiceInfo): ServiceView {
    const message = s.health?.last_message ?? "";
    return {
        id: s.id,
        state: s.state,
        healthy: s.health === null || s.health.unknown ? undefined : s.health.healthy,
        message: message === "" ? undefined : message,
    };
}

/** A service that is fine: Running, Finished or Skipped, and not failing its health check. */
export function serviceUp(s: ServiceView): boolean {
    return ["Running", "Finished", "Skipped"].includes(s.state) && s.healthy !== false;
}

/** Why a service a readiness check waits for is not healthy yet, or undefined when it is. */
export function serviceNotHealthy(services: readonly ServiceInfo[], id: string): string | undefined {
    const service = services.find((s) => s.id === id);
    if (service === undefined) return `has no ${id} service yet`;
    if (service.state !== "Running") {
        const last = service.events?.events.at(-1)?.msg;
        return `${id} is ${service.state}${last ? ` (${last})` : ""}`;
    }
    if (service.health?.healthy !== true) {
        const why = service.health?.last_message;
        return `${id} is Running but not healthy${why ? ` (${why})` : ""}`;
    }
    return undefined;
}
