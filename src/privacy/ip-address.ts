/**
 * IP address classification for the geo resolver: the form an address is looked up in (IPv4 dotted
 * quad, IPv6 canonical) and whether it can have a location at all.
 */
import { BlockList, isIP } from 'node:net';

export type CanonicalIp = { family: 4 | 6; address: string };

// ---------------------------------------------------------------------------------------------
// Addresses that never have a location: answered without touching the database.

const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

const MAPPED_V4_DOTTED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * Normalise to what the database is keyed on: IPv4 as dotted quad (also when written as an
 * IPv4-mapped IPv6 address, in any spelling), IPv6 canonical; undefined for non-addresses.
 */
export function canonicalIp(input: string): CanonicalIp | undefined {
  let ip = input.trim();
  const zone = ip.indexOf('%');
  if (zone !== -1) ip = ip.slice(0, zone); // fe80::1%eth0: the zone is local, not part of the address
  const family = isIP(ip);
  if (family === 4) return { family: 4, address: ip };
  if (family !== 6) return undefined;
  const dotted = MAPPED_V4_DOTTED.exec(ip);
  if (dotted) return { family: 4, address: dotted[1]! };
  // The WHATWG URL parser canonicalises IPv6 (lower case, "::" compression, mapped v4 as hex).
  let canonical: string;
  try {
    canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  if (canonical.startsWith('::ffff:')) {
    const rest = canonical.slice(7).split(':');
    if (rest.length === 2) {
      const hi = Number.parseInt(rest[0]!, 16);
      const lo = Number.parseInt(rest[1]!, 16);
      return { family: 4, address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}` };
    }
  }
  return { family: 6, address: canonical };
}

/** Private, loopback, link-local, documentation, multicast and reserved ranges: never a location. */
export function isNonPublicAddress(c: CanonicalIp): boolean {
  return NON_PUBLIC.check(c.address, c.family === 4 ? 'ipv4' : 'ipv6');
}

export function isPublicIp(input: string): boolean {
  const c = canonicalIp(input);
  return c !== undefined && !isNonPublicAddress(c);
}
