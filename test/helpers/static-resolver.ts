import type { HostResolver, ResolvedAddress } from '../../src/modules/webhooks/host-resolver.ts';

/**
 * A fake DNS for tests: names map to fixed answers, everything else does not resolve (ENOTFOUND),
 * so no test ever asks a real resolver and no webhook ever reaches a real host. `set` changes an
 * answer mid-test (DNS rebinding); `lookups` records what was asked.
 */
export type StaticResolver = HostResolver & {
  set(name: string, addresses: string[]): void;
  lookups: string[];
};

export function staticResolver(answers: Record<string, string[]> = {}): StaticResolver {
  const table = new Map(Object.entries(answers));
  const lookups: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    lookups.push(hostname);
    const found = table.get(hostname.toLowerCase());
    if (!found || found.length === 0)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, {
    set(name: string, addresses: string[]) {
      table.set(name.toLowerCase(), addresses);
    },
    lookups,
  });
}
