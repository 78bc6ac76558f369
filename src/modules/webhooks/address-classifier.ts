import { isIPv4, isIPv6 } from 'node:net';

/**
 * Classifies an IP address for the webhook SSRF guard: only `public` (globally routable unicast)
 * addresses may be reached. Everything in the IANA special-purpose registries is refused — loopback,
 * private, link-local, multicast, unspecified, CGNAT, documentation, benchmarking, reserved — plus the
 * cloud metadata services (some of which sit on otherwise public-looking addresses).
 *
 * IPv6 forms that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
 * `2002::/16`) are judged by the IPv4 address they lead to, so `::ffff:127.0.0.1` is loopback.
 */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'multicast'
  | 'unspecified'
  | 'cgnat'
  | 'metadata'
  | 'documentation'
  | 'reserved'
  | 'invalid';

type Range = { net: number[]; bits: number; cls: AddressClass };

const v4 = (cidr: string, cls: AddressClass): Range => {
  const [addr, bits] = cidr.split('/');
  return { net: parseIPv4(addr as string) as number[], bits: Number(bits ?? 32), cls };
};
const v6 = (cidr: string, cls: AddressClass): Range => {
  const [addr, bits] = cidr.split('/');
  return { net: parseIPv6(addr as string) as number[], bits: Number(bits ?? 128), cls };
};

// First match wins: the specific metadata addresses come before the ranges that contain them.
const IPV4_RANGES: Range[] = [
  v4('169.254.169.254/32', 'metadata'), // AWS, GCP, Azure, OpenStack, DigitalOcean…
  v4('169.254.170.2/32', 'metadata'), // AWS ECS task metadata
  v4('100.100.100.200/32', 'metadata'), // Alibaba Cloud
  v4('168.63.129.16/32', 'metadata'), // Azure WireServer (a public-looking address)
  v4('192.0.0.192/32', 'metadata'), // Oracle Cloud
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'cgnat'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link_local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'),
  v4('192.0.2.0/24', 'documentation'),
  v4('192.88.99.0/24', 'reserved'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'reserved'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

const IPV6_RANGES: Range[] = [
  v6('fd00:ec2::254/128', 'metadata'), // AWS IMDS over IPv6
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('fc00::/7', 'private'),
  v6('fe80::/10', 'link_local'),
  v6('fec0::/10', 'reserved'),
  v6('ff00::/8', 'multicast'),
  v6('2001:db8::/32', 'documentation'),
  v6('3fff::/20', 'documentation'),
  v6('2001::/23', 'reserved'), // IETF protocol assignments, Teredo included
];
const GLOBAL_UNICAST = v6('2000::/3', 'public');
const EMBEDS_IPV4: { range: Range; offset: number }[] = [
  { range: v6('::ffff:0:0/96', 'reserved'), offset: 12 },
  { range: v6('64:ff9b::/96', 'reserved'), offset: 12 },
  { range: v6('2002::/16', 'reserved'), offset: 2 },
];

export function parseIPv4(input: string): number[] | undefined {
  if (!isIPv4(input)) return undefined;
  return input.split('.').map(Number);
}

/** 16 bytes of an IPv6 address (a zone id such as `%eth0` is ignored). */
export function parseIPv6(input: string): number[] | undefined {
  let text = input;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (!isIPv6(text)) return undefined;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail = parseIPv4(text.slice(lastColon + 1)) ?? [];
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  const groups = (part: string | undefined) =>
    part ? part.split(':').map((h) => Number.parseInt(h, 16)) : ([] as number[]);
  const head = groups(halves[0]);
  const rest = halves.length > 1 ? groups(halves[1]) : [];
  const all = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  const bytes = all.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function matches(bytes: number[], range: Range): boolean {
  let bits = range.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((range.net[i] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyV4(bytes: number[]): AddressClass {
  return IPV4_RANGES.find((r) => matches(bytes, r))?.cls ?? 'public';
}

function classifyV6(bytes: number[]): AddressClass {
  for (const { range, offset } of EMBEDS_IPV4) {
    if (matches(bytes, range)) return classifyV4(bytes.slice(offset, offset + 4));
  }
  const special = IPV6_RANGES.find((r) => matches(bytes, r));
  if (special) return special.cls;
  return matches(bytes, GLOBAL_UNICAST) ? 'public' : 'reserved';
}

/** The class of an IP address given as text (IPv4 dotted quad or any IPv6 form, brackets allowed). */
export function classifyAddress(address: string): AddressClass {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const ipv4 = parseIPv4(bare);
  if (ipv4) return classifyV4(ipv4);
  const ipv6 = parseIPv6(bare);
  if (ipv6) return classifyV6(ipv6);
  return 'invalid';
}
