// Runs index.ts under Pulumi's mocks and records every resource it declares: type, name, parent,
// dependencies, provider, the outputs it declares secret, inputs (secrets unwrapped) and which
// inputs were secret, and for components the outputs they register and which of those are secret.
import * as pulumi from "@pulumi/pulumi";
import { createHash, generateKeyPairSync } from "node:crypto";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const STACK_REFERENCE = "pulumi:pulumi:StackReference";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface Recorded {
    type: string;
    name: string;
    parentUrn: string;
    dependencies: string[];
    provider: string;
    inputs: Record<string, unknown>;
    /**
     * Dotted paths of the inputs that are Pulumi secrets, where the program sent them: a secret
     * element of a list is `envs[2]`, a wholly secret list `envs`. (The mocks' own view of the inputs
     * pushes every secret up to its top-level property, as the engine does not.)
     */
    secretPaths: string[];
    /** The resource option `additionalSecretOutputs`, the SDK's own and the program's. */
    additionalSecretOutputs: string[];
    /** The resource option `ignoreChanges`. */
    ignoreChanges: string[];
    /** The inputs with every secret replaced by "[secret]": what the state and the preview show in clear. */
    plainInputs: Record<string, unknown>;
    /** A component's registerOutputs (secrets unwrapped), once it has registered them. */
    outputs?: Record<string, unknown>;
    /** Dotted paths of those outputs that are Pulumi secrets. */
    outputSecretPaths?: string[];
    /** Those outputs with every secret replaced by "[secret]". */
    plainOutputs?: Record<string, unknown>;
}

export interface Program {
    resources: Recorded[];
    /** What evaluating the program threw, if it did. */
    error?: unknown;
    /** Milliseconds from importing index.ts until every stack output resolved. */
    evaluationMs: number;
    exports: Record<string, pulumi.Output<unknown>>;
    byType(type: string): Recorded[];
    one(type: string, name: string): Recorded;
}

/** Unwraps secret sentinels, noting where they were. */
function unwrap(value: unknown, path: string, secrets: string[]): unknown {
    if (Array.isArray(value)) return value.map((v, i) => unwrap(v, `${path}[${i}]`, secrets));
    if (value && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SECRET_SIG] === SECRET_VALUE) {
            secrets.push(path);
            return unwrap(obj.value, path, []);
        }
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrap(v, path ? `${path}.${k}` : k, secrets)]));
    }
    return value;
}

/** The value with every secret sentinel replaced by "[secret]". */
function redact(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(redact);
    if (value && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SECRET_SIG] === SECRET_VALUE) return "[secret]";
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, redact(v)]));
    }
    return value;
}

/** A PEM-shaped value, unique to the resource, so tests can tell which key went where. */
export function fakePem(label: string, seed: string): string {
    const body = createHash("sha256").update(seed).digest("base64");
    return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

const keys = new Map<string, string>();

/**
 * A real private key per resource name, in the PEM form @pulumi/tls writes (PKCS#8 for Ed25519,
 * SEC1 for ECDSA, PKCS#1 for RSA), made once per process so tests can look it up again.
 */
export function mockPrivateKeyPem(name: string, algorithm: string): string {
    let pem = keys.get(name);
    if (!pem) {
        switch (algorithm) {
            case "ED25519":
                pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
                break;
            case "ECDSA":
                pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }).toString();
                break;
            case "RSA":
                // 2048 bits: only the label and form matter here, and 4096 is slow to make.
                pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
                break;
            default:
                throw new Error(`mock: unknown key algorithm ${algorithm}`);
        }
        keys.set(name, pem);
    }
    return pem;
}

// The character sets of random.RandomPassword and how it joins them: upper, lower, numeric, then the
// special set or `overrideSpecial` (hashicorp/terraform-provider-random@v3.9.0:internal/random/string.go
// `CreateString`; each set is on unless set false, as the provider's schema defaults them).
const PASSWORD_SETS = {
    upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    lower: "abcdefghijklmnopqrstuvwxyz",
    numeric: "0123456789",
    special: "!@#$%&*()-_=+[]{}<>:?",
} as const;

/** The alphabet a random.RandomPassword draws every character from, for these inputs. */
export function passwordAlphabet(inputs: Record<string, unknown>): string {
    const on = (set: keyof typeof PASSWORD_SETS) => inputs[set] !== false;
    const special = typeof inputs.overrideSpecial === "string" && inputs.overrideSpecial !== "" ? inputs.overrideSpecial : PASSWORD_SETS.special;
    return (on("upper") ? PASSWORD_SETS.upper : "") + (on("lower") ? PASSWORD_SETS.lower : "")
        + (on("numeric") ? PASSWORD_SETS.numeric : "") + (on("special") ? special : "");
}

/** The result the mocks give a recorded random.RandomPassword. */
export function mockPasswordResult(r: Recorded): string {
    return mockPassword(r.name, r.inputs);
}

/** A result of the requested length over the requested alphabet, fixed by the resource's name. */
function mockPassword(name: string, inputs: Record<string, unknown>): string {
    const alphabet = passwordAlphabet(inputs);
    let out = "";
    for (let block = 0; out.length < Number(inputs.length); block++) {
        for (const byte of createHash("sha256").update(`${name}/${block}`).digest()) out += alphabet[byte % alphabet.length];
    }
    return out.slice(0, Number(inputs.length));
}

/** Plausible provider outputs for the resources the program declares. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "tls:index/privateKey:PrivateKey":
            return { ...inputs, privateKeyPem: mockPrivateKeyPem(name, String(inputs.algorithm)), publicKeyPem: fakePem("PUBLIC KEY", name) };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { ...inputs, certPem: fakePem("CERTIFICATE", name) };
        case "tls:index/certRequest:CertRequest":
            return { ...inputs, certRequestPem: fakePem("CERTIFICATE REQUEST", name) };
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: mockPassword(name, inputs), bcryptHash: `$2a$10$${createHash("sha256").update(name).digest("base64")}` };
        default:
            return { ...inputs };
    }
}

/** The organization the mocks run in, as a local backend names it ("organization"). */
export const MOCK_ORGANIZATION = "organization";

export interface LoadOptions {
    /**
     * The stack outputs of the previous update, as the program's StackReference to its own stack
     * reads them; none (a new stack) by default.
     */
    previousOutputs?: Record<string, unknown>;
    /** Run as `pulumi preview` does. */
    preview?: boolean;
}

/**
 * Sets the stack config (objects as JSON, as the CLI passes them), installs fresh mocks, and
 * evaluates the program (index.ts' function). A file may call it several times to compare stacks,
 * one call after the other: each run records its own resources.
 */
export async function loadProgram(config: Record<string, unknown>, options: LoadOptions = {}): Promise<Program> {
    const resources: Recorded[] = [];
    const pending = new Map<string, Omit<Recorded, "inputs">>();
    const byRef = new Map<string, Recorded>();

    // A key with a namespace of its own ("talos:clusterName") is passed as it is.
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) =>
        [k.includes(":") ? k : `talos-docker:${k}`, typeof v === "string" ? v : JSON.stringify(v)])));
    await pulumi.runtime.setMocks({
        newResource(args) {
            const meta = pending.get(`${args.type}::${args.name}`);
            const secretPaths: string[] = [];
            const inputs = unwrap(args.inputs, "", secretPaths) as Record<string, unknown>;
            // A read (the StackReference) does not pass through registerResource: the mocks' view.
            const recorded: Recorded = {
                type: args.type, name: args.name, parentUrn: "", dependencies: [], provider: "", additionalSecretOutputs: [],
                ignoreChanges: [], secretPaths, plainInputs: redact(args.inputs) as Record<string, unknown>, ...meta, inputs,
            };
            resources.push(recorded);
            byRef.set(`${args.type}::${args.name}`, recorded);
            if (args.type === STACK_REFERENCE) {
                // What the engine's builtin provider reads for a stack reference.
                const outputs = options.previousOutputs ?? {};
                return { id: args.id ?? String(inputs.name), state: { name: inputs.name, outputs, secretOutputNames: [] } };
            }
            return { id: `${args.name}-id`, state: mockState(args.type, args.name, inputs) };
        },
        call(args) {
            return args.inputs;
        },
    }, "talos-docker", "dev", options.preview ?? false, MOCK_ORGANIZATION);

    // The mocks are not told a resource's parent or dependencies: read them off the request.
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(req: RegisterRequest, cb: unknown): Promise<void>;
        registerResourceOutputs(req: RegisterOutputsRequest, cb: unknown): void;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        // The inputs as the SDK serialized them for the engine, each secret where it was made.
        const sent = req.getObject()?.toJavaScript() ?? {};
        const secretPaths: string[] = [];
        unwrap(sent, "", secretPaths);
        pending.set(`${req.getType()}::${req.getName()}`, {
            secretPaths,
            plainInputs: redact(sent) as Record<string, unknown>,
            type: req.getType(),
            name: req.getName(),
            parentUrn: req.getParent(),
            dependencies: req.getDependenciesList(),
            provider: req.getProvider(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            ignoreChanges: req.getIgnorechangesList(),
        });
        return register(req, cb);
    };
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req, cb) => {
        const recorded = byRef.get(urnRef(req.getUrn()));
        if (recorded) {
            const outputSecretPaths: string[] = [];
            const outputs = req.getOutputs()?.toJavaScript() ?? {};
            recorded.outputs = unwrap(outputs, "", outputSecretPaths) as Record<string, unknown>;
            recorded.outputSecretPaths = outputSecretPaths;
            recorded.plainOutputs = redact(outputs) as Record<string, unknown>;
        }
        return registerOutputs(req, cb);
    };

    let exports: Record<string, pulumi.Output<unknown>> = {};
    let error: unknown;
    const started = performance.now();
    try {
        // index.ts exports one async function, which Pulumi calls: its result is the stack outputs.
        const program = (await import("../../index")) as unknown as { default: () => Promise<Record<string, pulumi.Output<unknown>>> };
        exports = await program.default();
        await Promise.all(Object.values(exports).filter(pulumi.Output.isInstance).map(settled));
    } catch (err) {
        error = err;
    }
    const evaluationMs = performance.now() - started;
    // Components resolve their children's outputs asynchronously; let the RPC queue drain.
    await settle(resources);
    return {
        resources,
        error,
        evaluationMs,
        exports,
        byType: (type) => resources.filter((r) => r.type === type),
        one(type, name) {
            const found = resources.filter((r) => r.type === type && r.name === name);
            if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}: ${resources.filter((r) => r.type === type).map((r) => r.name).join(", ")}`);
            return found[0];
        },
    };
}

interface RegisterRequest {
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
    getType(): string;
    getName(): string;
    getParent(): string;
    getDependenciesList(): string[];
    getProvider(): string;
    getAdditionalsecretoutputsList(): string[];
    getIgnorechangesList(): string[];
}

interface RegisterOutputsRequest {
    getUrn(): string;
    getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined;
}

/** Waits until no new resource has been registered for a few event-loop turns. */
async function settle(resources: Recorded[]): Promise<void> {
    let last = -1;
    while (last !== resources.length) {
        last = resources.length;
        await new Promise((r) => setTimeout(r, 20));
    }
}

/** "type::name" of the resource a URN names (the last type of its parent chain). */
export function urnRef(urn: string): string {
    const [, , qualifiedType, name] = urn.split("::");
    return qualifiedType ? `${qualifiedType.split("$").pop()}::${name}` : "";
}

/** Resolves with the output's value or rejects with what its computation threw. */
function settled<T>(output: pulumi.Output<T>): Promise<T> {
    // `promise()` is the SDK's internal accessor; unlike apply() it carries a failure to the caller.
    return (output as unknown as { promise(): Promise<T> }).promise();
}

export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => {
        resolve(v);
        return v;
    }));
}
