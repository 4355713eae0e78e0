// IPv4 arithmetic for the node address plan, kept pure so it can be property-tested
// (the habit of pulumi-awsx's ec2 subnet code).

/** Parses dotted-quad IPv4 text into an unsigned 32-bit number; undefined if it is not one. */
export function parseIPv4(text: string): number | undefined {
    const parts = text.split(".");
    if (parts.length !== 4) return undefined;
    let value = 0;
    for (const part of parts) {
        // Leading zeros are rejected: Docker and Go's net.ParseIP refuse them too.
        if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
        const octet = Number(part);
        if (octet > 255) return undefined;
        value = value * 256 + octet;
    }
    return value;
}

export function formatIPv4(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

export interface Cidr {
    /** The network address as a number. */
    network: number;
    prefix: number;
    /** The number of addresses in the block, network and broadcast included. */
    size: number;
}

/** Parses "a.b.c.d/n"; returns why not when it is not a network in CIDR form. */
export function parseCidr(text: string): Cidr | { error: string } {
    const match = /^([^/]+)\/([0-9]{1,2})$/.exec(text);
    const address = match ? parseIPv4(match[1]) : undefined;
    const prefix = match ? Number(match[2]) : NaN;
    if (address === undefined || !(prefix >= 0 && prefix <= 32)) {
        return { error: "is not an IPv4 CIDR such as 172.30.0.0/24" };
    }
    const size = 2 ** (32 - prefix);
    const network = address - (address % size);
    if (network !== address) {
        return { error: `has host bits set; the network is ${formatIPv4(network)}/${prefix}` };
    }
    return { network, prefix, size };
}

export function cidrContains(cidr: Cidr, address: number): boolean {
    return address >= cidr.network && address < cidr.network + cidr.size;
}

/** The n-th address of the block (0 is the network address). */
export function hostAddress(cidr: Cidr, n: number): string {
    return formatIPv4(cidr.network + n);
}

/** Two blocks share an address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    return a.network < b.network + b.size && b.network < a.network + a.size;
}

/** Where `freeBlock` looks, in order: next to the reference's 172.30.0.0/24, then 10.0.0.0/8. */
export const FREE_BLOCK_RANGES: readonly string[] = ["172.30.0.0/15", "10.0.0.0/8"];

/**
 * The first block of `prefix` bits within `ranges` (CIDR texts, searched in order) that overlaps
 * none of `taken`; undefined when none is free.
 */
export function freeBlock(prefix: number, taken: readonly Cidr[], ranges: readonly string[] = FREE_BLOCK_RANGES): string | undefined {
    const size = 2 ** (32 - prefix);
    for (const text of ranges) {
        const range = parseCidr(text);
        if ("error" in range) throw new Error(`freeBlock: range ${text} ${range.error}`);
        let network = range.network;
        while (network + size <= range.network + range.size) {
            const block = { network, prefix, size };
            const clashes = taken.filter((t) => cidrsOverlap(block, t));
            if (clashes.length === 0) return `${formatIPv4(network)}/${prefix}`;
            // Jump past every block in the way, to the next boundary of our size.
            const past = Math.max(...clashes.map((t) => t.network + t.size));
            network = Math.ceil(past / size) * size;
        }
    }
    return undefined;
}
