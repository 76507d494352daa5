/**
 * IPv4 subnets: which of a host's addresses is on the cluster network (CloudLab's experiment
 * LAN, 10.10.0.0/16 by default). Pure functions over `ip -o -4 addr show` text and manifest data.
 */

export interface Subnet {
  /** The CIDR as written, e.g. `10.10.0.0/16`. */
  cidr: string;
  network: number;
  mask: number;
}

/** One IPv4 address of an interface, from `ip -o -4 addr show`. */
export interface InterfaceAddress {
  interface: string;
  address: string;
  prefixLength: number;
}

/** Dotted quad -> 32-bit unsigned number; undefined when it is not one. */
export function ipv4ToNumber(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** `10.10.0.0/16` -> Subnet. Throws TypeError on a malformed CIDR (the schema's pattern keeps configs from it). */
export function parseSubnet(cidr: string): Subnet {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  const base = m ? ipv4ToNumber(m[1]!) : undefined;
  const bits = m ? Number(m[2]) : NaN;
  if (base === undefined || !(bits >= 0 && bits <= 32)) throw new TypeError(`not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { cidr, network: (base & mask) >>> 0, mask };
}

export function inSubnet(address: string, subnet: Subnet): boolean {
  const n = ipv4ToNumber(address);
  return n !== undefined && ((n & subnet.mask) >>> 0) === subnet.network;
}

/**
 * The IPv4 addresses in `ip -o -4 addr show` output, e.g.
 * `3: enp94s0f0    inet 10.10.1.1/24 brd 10.10.1.255 scope global enp94s0f0\       valid_lft ...`.
 * A VLAN's `name@parent` keeps only its name.
 */
export function parseIpAddrShow(text: string): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\d+:\s+(\S+?)(?:@\S+)?\s+inet\s+(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})\b/.exec(line);
    if (m) out.push({ interface: m[1]!, address: m[2]!, prefixLength: Number(m[3]) });
  }
  return out;
}

/** The first address on the subnet, in the order given. */
export function pickInSubnet<T extends { address: string }>(addresses: readonly T[], subnet: Subnet): T | undefined {
  return addresses.find((a) => inSubnet(a.address, subnet));
}
