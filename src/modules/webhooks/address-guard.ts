import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { AppError } from '../../lib/errors.ts';
import { classifyAddress } from './address-classifier.ts';
import type { HostResolver, ResolvedAddress } from './host-resolver.ts';
import { validateWebhookUrl } from './webhook-url.ts';

/**
 * The webhook SSRF guard, applied twice:
 *
 * 1. When an endpoint URL is created or changed (`vetUrl`): an IP-literal host, or every address its
 *    name resolves to, must be public; otherwise 400. A name that does not resolve (yet) is accepted:
 *    it reaches nothing now, and check 2 is the one that matters.
 * 2. At every connection (`lookup`, handed to node:http as its resolver): the name is resolved once,
 *    every address is checked, and the socket connects to the checked addresses only, so a DNS
 *    answer that changes between check and connect (DNS rebinding) cannot slip through.
 *    IP-literal hosts never reach a lookup function, so the sender checks them itself
 *    (`refusedLiteral`).
 *
 * `allowPrivate` (LAYERS_ALLOW_PRIVATE_WEBHOOKS, development and tests; refused in production by
 * config.ts) lets private addresses through and nothing else: `requireHttps` is independent of it.
 * The resolver is still the injected one.
 */
export type VettedUrl = string & { readonly __vetted: unique symbol };

const RESOLVE_TIMEOUT_MS = 5_000;
export const ADDRESS_REFUSED = 'ERR_WEBHOOK_ADDRESS_REFUSED';

const refused = () =>
  new AppError(
    'parameter_invalid',
    'url must reach a public address: loopback, private, link-local, multicast, CGNAT, reserved and cloud metadata addresses are refused.',
    { param: 'url' },
  );

/** The URL host without IPv6 brackets. */
export function bareHost(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('lookup timed out'), { code: 'EAI_AGAIN' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createAddressGuard(deps: {
  resolver: HostResolver;
  allowPrivate: boolean;
  requireHttps: boolean;
}) {
  const { resolver, allowPrivate } = deps;
  const permitted = (address: string) => allowPrivate || classifyAddress(address) === 'public';

  return {
    allowPrivate,
    requireHttps: deps.requireHttps,

    /** Shape and address checks for a URL a partner sends (creation and update). */
    async vetUrl(raw: string): Promise<VettedUrl> {
      const normalized = validateWebhookUrl(raw, { requireHttps: deps.requireHttps });
      if (allowPrivate) return normalized as VettedUrl;
      const host = bareHost(new URL(normalized));
      if (isIP(host)) {
        if (!permitted(host)) throw refused();
        return normalized as VettedUrl;
      }
      let addresses: ResolvedAddress[];
      try {
        addresses = await withTimeout(resolver(host), RESOLVE_TIMEOUT_MS);
      } catch {
        return normalized as VettedUrl;
      }
      if (addresses.some((a) => !permitted(a.address))) throw refused();
      return normalized as VettedUrl;
    },

    /** True when an IP-literal host must not be connected to. */
    refusedLiteral(host: string): boolean {
      return isIP(host) !== 0 && !permitted(host);
    },

    /**
     * A node:net `lookup`: resolves with the injected resolver, refuses the connection when any
     * address is not permitted, and otherwise hands over only the addresses it checked.
     */
    lookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
      withTimeout(resolver(hostname), RESOLVE_TIMEOUT_MS).then(
        (found) => {
          const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
          const addresses = wanted ? found.filter((a) => a.family === wanted) : found;
          if (addresses.length === 0) {
            callback(Object.assign(new Error('host did not resolve'), { code: 'ENOTFOUND' }), '');
            return;
          }
          if (addresses.some((a) => !permitted(a.address))) {
            callback(
              Object.assign(new Error('address refused by the webhook guard'), { code: ADDRESS_REFUSED }),
              '',
            );
            return;
          }
          if (options.all)
            callback(
              null,
              addresses.map((a) => ({ address: a.address, family: a.family })),
            );
          else
            callback(
              null,
              (addresses[0] as ResolvedAddress).address,
              (addresses[0] as ResolvedAddress).family,
            );
        },
        (error: NodeJS.ErrnoException) => callback(error, ''),
      );
    },
  };
}

export type AddressGuard = ReturnType<typeof createAddressGuard>;
