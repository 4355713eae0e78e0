// The Talos API messages we speak, declared here (no .proto files are downloaded or loaded at run
// time) with the names and field numbers of talos@v1.8.3:api/machine/machine.proto,
// talos@v1.8.3:api/common/common.proto and talos@v1.8.3:api/resource/config/config.proto, the
// COSI State API that machined serves for resources (cosi-project/specification@5c734257:
// proto/v1alpha1/{state,resource}.proto, package cosi.resource, pinned by cosi-project/runtime
// v0.5.5, which Talos v1.8.3 uses; unchanged in what we use up to runtime v1.14.1 of Talos
// v1.13.9), plus the well-known types they import (google/rpc/status.proto,
// google/protobuf/{any,timestamp,duration}.proto). Only what the client reads is declared;
// protobuf skips fields it does not know, so newer servers stay readable. tests/conformance
// checks this encoding against machinery's and cosi-project/runtime's generated Go types.

import * as protobuf from "protobufjs";

import { APPLY_MODES, type ApplyMode } from "../applymode";

const root = protobuf.Root.fromJSON({
    nested: {
        google: {
            nested: {
                protobuf: {
                    nested: {
                        Empty: { fields: {} },
                        Any: { fields: { type_url: { type: "string", id: 1 }, value: { type: "bytes", id: 2 } } },
                        Timestamp: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
                        Duration: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
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
                // talos@v1.8.3:api/machine/machine.proto l.99-129 (identical at v1.13.9 l.125-154).
                ApplyConfigurationRequest: {
                    fields: {
                        data: { type: "bytes", id: 1 },
                        mode: { type: "Mode", id: 4 },
                        dry_run: { type: "bool", id: 5 },
                        try_mode_timeout: { type: "google.protobuf.Duration", id: 6 },
                    },
                    nested: { Mode: { values: { REBOOT: 0, AUTO: 1, NO_REBOOT: 2, STAGED: 3, TRY: 4 } } },
                },
                ApplyConfiguration: {
                    fields: {
                        metadata: { type: "common.Metadata", id: 1 },
                        warnings: { rule: "repeated", type: "string", id: 2 },
                        // "States which mode was actually chosen."
                        mode: { type: "ApplyConfigurationRequest.Mode", id: 3 },
                        mode_details: { type: "string", id: 4 },
                    },
                },
                ApplyConfigurationResponse: { fields: { messages: { rule: "repeated", type: "ApplyConfiguration", id: 1 } } },
                // talos@v1.8.3:api/machine/machine.proto l.947-1021 (identical at v1.13.9 l.993-1067).
                EtcdMemberListRequest: { fields: { query_local: { type: "bool", id: 1 } } },
                EtcdMember: {
                    fields: {
                        id: { type: "uint64", id: 2 },
                        hostname: { type: "string", id: 3 },
                        peer_urls: { rule: "repeated", type: "string", id: 4 },
                        client_urls: { rule: "repeated", type: "string", id: 5 },
                        is_learner: { type: "bool", id: 6 },
                    },
                },
                // legacy_members (2) is not read.
                EtcdMembers: {
                    fields: {
                        metadata: { type: "common.Metadata", id: 1 },
                        members: { rule: "repeated", type: "EtcdMember", id: 3 },
                    },
                },
                EtcdMemberListResponse: { fields: { messages: { rule: "repeated", type: "EtcdMembers", id: 1 } } },
                EtcdLeaveClusterRequest: { fields: {} },
                EtcdLeaveCluster: { fields: { metadata: { type: "common.Metadata", id: 1 } } },
                EtcdLeaveClusterResponse: { fields: { messages: { rule: "repeated", type: "EtcdLeaveCluster", id: 1 } } },
                EtcdRemoveMemberByIDRequest: { fields: { member_id: { type: "uint64", id: 1 } } },
                EtcdRemoveMemberByID: { fields: { metadata: { type: "common.Metadata", id: 1 } } },
                EtcdRemoveMemberByIDResponse: { fields: { messages: { rule: "repeated", type: "EtcdRemoveMemberByID", id: 1 } } },
            },
        },
        cosi: {
            nested: {
                resource: {
                    nested: {
                        GetOptions: { fields: {} },
                        GetRequest: {
                            fields: {
                                namespace: { type: "string", id: 1 },
                                type: { type: "string", id: 2 },
                                id: { type: "string", id: 3 },
                                options: { type: "GetOptions", id: 4 },
                            },
                        },
                        Metadata: {
                            fields: {
                                namespace: { type: "string", id: 1 },
                                type: { type: "string", id: 2 },
                                id: { type: "string", id: 3 },
                                version: { type: "string", id: 4 },
                                phase: { type: "string", id: 6 },
                            },
                        },
                        // proto_spec is the resource's own protobuf; yaml_spec differs between Talos
                        // minors (raw YAML to v1.11, a YAML string scalar from v1.12) and is not read.
                        Spec: { fields: { proto_spec: { type: "bytes", id: 1 } } },
                        Resource: { fields: { metadata: { type: "Metadata", id: 1 }, spec: { type: "Spec", id: 2 } } },
                        GetResponse: { fields: { resource: { type: "Resource", id: 1 } } },
                    },
                },
            },
        },
        resource: {
            nested: {
                config: {
                    nested: {
                        // "Byte representation is preserved as the machine configuration was submitted to the node."
                        MachineConfigSpec: { fields: { yaml_marshalled: { type: "bytes", id: 1 } } },
                    },
                },
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

export interface Duration {
    /** int64: a number on the way out, a decimal string on the way in (longs: String) */
    seconds: number | string;
    nanos: number;
}

export interface ApplyConfigurationRequest {
    data: Uint8Array;
    /** the wire number: APPLY_MODE_NUMBERS, never a default */
    mode: number;
    dry_run?: boolean;
    try_mode_timeout?: Duration;
}

export interface ApplyConfigurationMessage {
    metadata: Metadata | null;
    warnings: string[];
    mode: number;
    mode_details: string;
}

export interface ApplyConfigurationResponse {
    messages: ApplyConfigurationMessage[];
}

export interface EtcdMemberListRequest {
    /** true: the node's own etcd answers; false: machined asks the cluster through the control planes' IPs */
    query_local?: boolean;
}

export interface EtcdMemberMessage {
    /** uint64: a decimal string (longs: String); 64-bit IDs do not fit a JavaScript number */
    id: string;
    /** the member's name, which Talos sets to the node's hostname; empty for a member not started yet */
    hostname: string;
    peer_urls: string[];
    client_urls: string[];
    is_learner: boolean;
}

export interface EtcdMemberListResponse {
    messages: { metadata: Metadata | null; members: EtcdMemberMessage[] }[];
}

export interface EtcdRemoveMemberByIDRequest {
    /** uint64, as a decimal string */
    member_id: string;
}

/** EtcdLeaveClusterResponse and EtcdRemoveMemberByIDResponse: one message per node, its metadata only. */
export interface MetadataOnlyResponse {
    messages: { metadata: Metadata | null }[];
}

export interface CosiGetRequest {
    namespace: string;
    type: string;
    id: string;
    options?: Record<string, never>;
}

export interface CosiMetadata {
    namespace: string;
    type: string;
    id: string;
    version: string;
    phase: string;
}

export interface CosiGetResponse {
    resource: { metadata: CosiMetadata | null; spec: { proto_spec: Uint8Array } | null } | null;
}

export interface MachineConfigSpec {
    yaml_marshalled: Uint8Array;
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
    applyConfigurationRequest: codec<ApplyConfigurationRequest>("machine.ApplyConfigurationRequest"),
    applyConfigurationResponse: codec<ApplyConfigurationResponse>("machine.ApplyConfigurationResponse"),
    etcdMemberListRequest: codec<EtcdMemberListRequest>("machine.EtcdMemberListRequest"),
    etcdMemberListResponse: codec<EtcdMemberListResponse>("machine.EtcdMemberListResponse"),
    etcdLeaveClusterRequest: codec<Empty>("machine.EtcdLeaveClusterRequest"),
    etcdLeaveClusterResponse: codec<MetadataOnlyResponse>("machine.EtcdLeaveClusterResponse"),
    etcdRemoveMemberByIdRequest: codec<EtcdRemoveMemberByIDRequest>("machine.EtcdRemoveMemberByIDRequest"),
    etcdRemoveMemberByIdResponse: codec<MetadataOnlyResponse>("machine.EtcdRemoveMemberByIDResponse"),
    cosiGetRequest: codec<CosiGetRequest>("cosi.resource.GetRequest"),
    cosiGetResponse: codec<CosiGetResponse>("cosi.resource.GetResponse"),
    machineConfigSpec: codec<MachineConfigSpec>("resource.config.MachineConfigSpec"),
};

/**
 * gRPC method paths (talos@v1.8.3:pkg/machinery/api/machine/machine_grpc.pb.go
 * `MachineService_*_FullMethodName`; cosi-project/runtime@v0.5.5:api/v1alpha1/state_grpc.pb.go
 * `State_Get_FullMethodName`).
 */
export const METHODS = {
    bootstrap: "/machine.MachineService/Bootstrap",
    version: "/machine.MachineService/Version",
    serviceList: "/machine.MachineService/ServiceList",
    applyConfiguration: "/machine.MachineService/ApplyConfiguration",
    etcdMemberList: "/machine.MachineService/EtcdMemberList",
    etcdLeaveCluster: "/machine.MachineService/EtcdLeaveCluster",
    etcdRemoveMemberById: "/machine.MachineService/EtcdRemoveMemberByID",
    cosiGet: "/cosi.resource.State/Get",
} as const;

/**
 * `ApplyConfigurationRequest.Mode` by our name. REBOOT is the enum's zero value, so a request
 * without a mode means REBOOT: every request names its mode from this table, and a name not in
 * it is an error, never a default.
 */
export const APPLY_MODE_NUMBERS: Readonly<Record<ApplyMode, number>> = {
    reboot: 0,
    auto: 1,
    "no-reboot": 2,
    staged: 3,
    try: 4,
};

/** The mode a reply names, or undefined for a number this table does not know. */
export function applyModeOf(wire: number): ApplyMode | undefined {
    return APPLY_MODES.find((mode) => APPLY_MODE_NUMBERS[mode] === wire);
}

/**
 * The running machine config as a COSI resource (talos@v1.8.3:pkg/machinery/resources/config/
 * machine_config.go and config.go): namespace `config`, the full type name (the access filter
 * looks it up among the resource definitions; talosctl resolves aliases to it first), and ID
 * `v1alpha1` (`V1Alpha1ID`, named `ActiveID` from v1.10 with the same value): the config the
 * node runs, as submitted. Reading it needs the os:admin role (the type is Sensitive).
 */
export const MACHINE_CONFIG_RESOURCE = {
    namespace: "config",
    type: "MachineConfigs.config.talos.dev",
    id: "v1alpha1",
} as const;
