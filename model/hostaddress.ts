// Where the host reaches a port published on an address: one published on all interfaces is
// dialled on loopback. The plan writes the client configs' endpoints by this rule, and status and
// doctor dial the published ports by it.

/** The address to dial for a port published on `hostIp` (all interfaces → loopback). */
export function dialAddress(hostIp: string): string {
    if (hostIp === "" || hostIp === "0.0.0.0") return "127.0.0.1";
    if (hostIp === "::") return "::1";
    return hostIp;
}
