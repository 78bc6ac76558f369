import { promises as dns } from 'node:dns';

/**
 * Turns a host name into the addresses a connection could reach. Injected so that the address
 * guard's checks are testable without a real resolver (tests never touch DNS).
 */
export type ResolvedAddress = { address: string; family: 4 | 6 };
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

/**
 * The operating system's resolver (getaddrinfo: /etc/hosts, then DNS), the one node:http would use
 * itself, so the guard checks exactly what a connection would otherwise reach.
 */
export const systemResolver: HostResolver = async (hostname) => {
  const found = await dns.lookup(hostname, { all: true, order: 'verbatim' });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};
