// The Talos API messages we speak, declared here (no .proto files are downloaded or loaded at run
// time) with the names and field numbers of talos@v1.8.3:api/machine/machine.proto and
// talos@v1.8.3:api/common/common.proto, plus the two well-known types they import
// (google/rpc/status.proto, google/protobuf/any.proto, timestamp.proto). Only what the client
// reads is declared; protobuf skips fields it does not know, so newer servers stay readable.
// tests/conformance checks this encoding against machinery's generated Go types.

import * as protobuf from "protobufjs";

const root = protobuf.Root.fromJSON({
    nested: {
        google: {
            nested: {
                protobuf: {
                    nested: {
                        Empty: { fields: {} },
                        Any: { fields: { type_url: { type: "string", id: 1 }, value: { type: "bytes", id: 2 } } },
                        Timestamp: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
                    },
                },
                rpc: {
                    nested: {
                        Status: {
                            fields: {
                                code: { type: "int32", id: 1 },
                                message: { type: "string", id: 2 },
                                details: { rule: "repeated", type: "google.protobuf.Any", id: 3 },
                            },
                        },
                    },
                },
            },
        },
        common: {
            nested: {
                // "Common metadata message nested in all reply message types"; apid fills it when it
                // proxies to other nodes, and sets `error` instead of failing the whole call.
                Metadata: {
                    fields: {
                        hostname: { type: "string", id: 1 },
                        error: { type: "string", id: 2 },
                        status: { type: "google.rpc.Status", id: 3 },
                    },
                },
            },
        },
        machine: {
            nested: {
                BootstrapRequest: {
                    fields: {
                        recover_etcd: { type: "bool", id: 1 },
                        recover_skip_hash_check: { type: "bool", id: 2 },
                    },
                },
                Bootstrap: { fields: { metadata: { type: "common.Metadata", id: 1 } } },
                BootstrapResponse: { fields: { messages: { rule: "repeated", type: "Bootstrap", id: 1 } } },
                VersionInfo: {
                    fields: {
                        tag: { type: "string", id: 1 },
                        sha: { type: "string", id: 2 },
                        built: { type: "string", id: 3 },
                        go_version: { type: "string", id: 4 },
                        os: { type: "string", id: 5 },
                        arch: { type: "string", id: 6 },
                    },
                },
                PlatformInfo: { fields: { name: { type: "string", id: 1 }, mode: { type: "string", id: 2 } } },
                FeaturesInfo: { fields: { rbac: { type: "bool", id: 1 } } },
                Version: {
                    fields: {
                        metadata: { type: "common.Metadata", id: 1 },
                        version: { type: "VersionInfo", id: 2 },
                        platform: { type: "PlatformInfo", id: 3 },
                        features: { type: "FeaturesInfo", id: 4 },
                    },
                },
                VersionResponse: { fields: { messages: { rule: "repeated", type: "Version", id: 1 } } },
                ServiceHealth: {
                    fields: {
                        unknown: { type: "bool", id: 1 },
                        healthy: { type: "bool", id: 2 },
                        last_message: { type: "string", id: 3 },
                        last_change: { type: "google.protobuf.Timestamp", id: 4 },
                    },
                },
                ServiceEvent: {
                    fields: {
                        msg: { type: "string", id: 1 },
                        state: { type: "string", id: 2 },
                        ts: { type: "google.protobuf.Timestamp", id: 3 },
                    },
                },
                ServiceEvents: { fields: { events: { rule: "repeated", type: "ServiceEvent", id: 1 } } },
                ServiceInfo: {
                    fields: {
                        id: { type: "string", id: 1 },
                        state: { type: "string", id: 2 },
                        events: { type: "ServiceEvents", id: 3 },
                        health: { type: "ServiceHealth", id: 4 },
                    },
                },
                ServiceList: {
                    fields: {
                        metadata: { type: "common.Metadata", id: 1 },
                        services: { rule: "repeated", type: "ServiceInfo", id: 2 },
                    },
                },
                ServiceListResponse: { fields: { messages: { rule: "repeated", type: "ServiceList", id: 1 } } },
            },
        },
    },
});

// ---- TypeScript shapes, as protobufjs' toObject gives them with the options in `codec` ----

export interface RpcStatus {
    code: number;
    message: string;
}

export interface Metadata {
    hostname: string;
    error: string;
    status?: RpcStatus | null;
}

export interface BootstrapRequest {
    recover_etcd?: boolean;
    recover_skip_hash_check?: boolean;
}

export interface BootstrapResponse {
    messages: { metadata?: Metadata | null }[];
}

export interface VersionInfo {
    tag: string;
    sha: string;
    built: string;
    go_version: string;
    os: string;
    arch: string;
}

// Absent message fields read as null (toObject with `defaults`).
export interface VersionMessage {
    metadata: Metadata | null;
    version: VersionInfo | null;
    platform: { name: string; mode: string } | null;
    features: { rbac: boolean } | null;
}

export interface VersionResponse {
    messages: VersionMessage[];
}

export interface ServiceInfo {
    id: string;
    state: string;
    health: { unknown: boolean; healthy: boolean; last_message: string } | null;
    events: { events: { msg: string; state: string }[] } | null;
}

export interface ServiceListResponse {
    messages: { metadata: Metadata | null; services: ServiceInfo[] }[];
}

export type Empty = Record<string, never>;

/** Encoder and decoder of one message type. */
export interface Codec<T> {
    serialize(value: T): Buffer;
    deserialize(bytes: Buffer): T;
}

function codec<T>(name: string): Codec<T> {
    const type = root.lookupType(name);
    return {
        serialize: (value) => Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish()),
        // defaults: proto3 has no presence for scalars, so absent strings/bools read as ""/false;
        // arrays: repeated fields are [] rather than missing; longs as strings (Timestamp.seconds).
        deserialize: (bytes) => type.toObject(type.decode(bytes), { defaults: true, arrays: true, longs: String }) as T,
    };
}

/** The message types by their fully qualified protobuf names. */
export const messages = {
    empty: codec<Empty>("google.protobuf.Empty"),
    bootstrapRequest: codec<BootstrapRequest>("machine.BootstrapRequest"),
    bootstrapResponse: codec<BootstrapResponse>("machine.BootstrapResponse"),
    versionResponse: codec<VersionResponse>("machine.VersionResponse"),
    serviceListResponse: codec<ServiceListResponse>("machine.ServiceListResponse"),
};

/** gRPC method paths (talos@v1.8.3:pkg/machinery/api/machine/machine_grpc.pb.go `MachineService_*_FullMethodName`). */
export const METHODS = {
    bootstrap: "/machine.MachineService/Bootstrap",
    version: "/machine.MachineService/Version",
    serviceList: "/machine.MachineService/ServiceList",
} as const;
