import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { staticResolver } from '../../../test/helpers/static-resolver.ts';
import { AppError } from '../../lib/errors.ts';
import { ADDRESS_REFUSED, createAddressGuard } from './address-guard.ts';

const guard = (answers: Record<string, string[]> = {}, allowPrivate = false) => {
  const resolver = staticResolver(answers);
  return { resolver, guard: createAddressGuard({ resolver, allowPrivate, requireHttps: false }) };
};

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

function lookup(g: ReturnType<typeof guard>['guard'], host: string, all: boolean) {
  return new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[] }>((resolve) =>
    g.lookup(host, { all }, (error, address) => resolve({ error, address })),
  );
}

describe('webhook address guard', () => {
  it('refuses URLs whose IP-literal host is not public, without resolving anything', async () => {
    const { guard: g, resolver } = guard();
    for (const url of [
      'http://127.0.0.1/h',
      'http://10.0.0.1/h',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/h',
      'http://[fc00::1]/h',
      'http://[::ffff:127.0.0.1]/h',
      'http://[fd00:ec2::254]/h',
      'http://0x7f.1/h', // WHATWG parsing makes this 127.0.0.1
      'http://2130706433/h', // …and this
      'http://100.64.0.1/h',
    ]) {
      const error = await refusal(g.vetUrl(url));
      expect(error.status, url).toBe(400);
      expect(error.param).toBe('url');
    }
    expect(resolver.lookups).toEqual([]);
  });

  it('refuses a host name when any address it resolves to is not public', async () => {
    const { guard: g } = guard({
      'loopback.example.test': ['127.0.0.1'],
      'mixed.example.test': ['93.184.215.14', '10.1.2.3'],
      'mapped.example.test': ['::ffff:127.0.0.1'],
      'public.example.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    });
    for (const host of ['loopback', 'mixed', 'mapped'])
      expect((await refusal(g.vetUrl(`https://${host}.example.test/h`))).param).toBe('url');
    expect(await g.vetUrl('https://public.example.test/h')).toBe('https://public.example.test/h');
  });

  it('accepts a name that does not resolve yet (the connection-time check still applies)', async () => {
    const { guard: g } = guard();
    expect(await g.vetUrl('https://not-yet.example.test/h')).toBe('https://not-yet.example.test/h');
  });

  it('lets private addresses through when LAYERS_ALLOW_PRIVATE_WEBHOOKS is on', async () => {
    const { guard: g, resolver } = guard({}, true);
    expect(await g.vetUrl('http://127.0.0.1:9/h')).toBe('http://127.0.0.1:9/h');
    expect(resolver.lookups).toEqual([]);
    expect(g.refusedLiteral('127.0.0.1')).toBe(false);
  });

  it('still checks the URL shape', async () => {
    const { guard: g } = guard();
    expect((await refusal(g.vetUrl('ftp://example.com/x'))).param).toBe('url');
  });

  it('at connection time refuses when any resolved address is not public, and hands over only checked ones', async () => {
    const { guard: g } = guard({
      'rebind.example.test': ['93.184.215.14', '127.0.0.1'],
      'ok.example.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    });
    const refused = await lookup(g, 'rebind.example.test', true);
    expect(refused.error?.code).toBe(ADDRESS_REFUSED);
    const all = await lookup(g, 'ok.example.test', true);
    expect(all.error).toBeNull();
    expect(all.address).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ]);
    const first = await lookup(g, 'ok.example.test', false);
    expect(first.address).toBe('93.184.215.14');
    expect((await lookup(g, 'nowhere.example.test', false)).error?.code).toBe('ENOTFOUND');
    expect(g.refusedLiteral('10.0.0.1')).toBe(true);
    expect(g.refusedLiteral('93.184.215.14')).toBe(false);
  });
});
