import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticResolver } from '../../../test/helpers/static-resolver.ts';
import { createAddressGuard } from './address-guard.ts';
import { createWebhookSender, DELIVERY_TIMEOUT_MS } from './webhook-sender.ts';

/** A loopback server that counts connections, so a test can prove none was opened. */
async function loopbackServer(handler: Parameters<typeof createServer>[1]) {
  let connections = 0;
  const server: Server = createServer(handler);
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const message = { headers: { 'webhook-id': 'whevt_x' }, body: '{"a":1}' };

describe('webhook sender (real sockets on 127.0.0.1)', () => {
  let target: Awaited<ReturnType<typeof loopbackServer>>;
  let hanging: Awaited<ReturnType<typeof loopbackServer>>;
  let lastBody = '';
  let lastHeaders: Record<string, unknown> = {};
  beforeAll(async () => {
    target = await loopbackServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        lastBody = Buffer.concat(chunks).toString();
        lastHeaders = req.headers;
        const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
        res.writeHead(status, status === 301 ? { location: 'http://127.0.0.1:1/elsewhere' } : {});
        res.end('x'.repeat(100_000));
      });
    });
    hanging = await loopbackServer(() => undefined);
  });
  afterAll(async () => {
    await target.close();
    await hanging.close();
  });

  const sender = (opts: {
    allowPrivate: boolean;
    requireHttps?: boolean;
    answers?: Record<string, string[]>;
  }) =>
    createWebhookSender({
      guard: createAddressGuard({
        resolver: staticResolver(opts.answers ?? {}),
        allowPrivate: opts.allowPrivate,
        requireHttps: opts.requireHttps ?? false,
      }),
      timeoutMs: 300,
    });

  it('posts the signed JSON body with its headers; 2xx is success', async () => {
    const s = sender({ allowPrivate: true, answers: { 'receiver.test': ['127.0.0.1'] } });
    const out = await s.send({ url: `http://receiver.test:${target.port}/h`, ...message });
    expect(out).toMatchObject({ ok: true, statusCode: 200, error: null });
    expect(out.latencyMs).toBeGreaterThanOrEqual(0);
    expect(lastBody).toBe('{"a":1}');
    expect(lastHeaders).toMatchObject({ 'webhook-id': 'whevt_x', 'content-type': 'application/json' });
    s.close();
  });

  it('does not follow redirects: a 3xx is a failure', async () => {
    const s = sender({ allowPrivate: true });
    const out = await s.send({ url: `http://127.0.0.1:${target.port}/h?status=301`, ...message });
    expect(out).toMatchObject({ ok: false, statusCode: 301, error: 'redirect' });
    const other = await s.send({ url: `http://127.0.0.1:${target.port}/h?status=500`, ...message });
    expect(other).toMatchObject({ ok: false, statusCode: 500, error: 'http_error' });
    s.close();
  });

  it('gives up after the timeout', async () => {
    expect(DELIVERY_TIMEOUT_MS).toBe(15_000);
    const s = sender({ allowPrivate: true });
    const out = await s.send({ url: `http://127.0.0.1:${hanging.port}/h`, ...message });
    expect(out).toMatchObject({ ok: false, statusCode: null, error: 'timeout' });
    expect(out.latencyMs).toBeGreaterThanOrEqual(290);
    s.close();
  });

  it('refuses loopback at connection time, literal or resolved, without opening a connection', async () => {
    const before = target.connections();
    const s = sender({ allowPrivate: false, answers: { 'rebound.test': ['127.0.0.1'] } });
    expect(await s.send({ url: `http://127.0.0.1:${target.port}/h`, ...message })).toMatchObject({
      ok: false,
      error: 'address_refused',
    });
    expect(await s.send({ url: `http://[::ffff:127.0.0.1]:${target.port}/h`, ...message })).toMatchObject({
      error: 'address_refused',
    });
    expect(await s.send({ url: `http://rebound.test:${target.port}/h`, ...message })).toMatchObject({
      error: 'address_refused',
    });
    expect(await s.send({ url: `http://unknown.test:${target.port}/h`, ...message })).toMatchObject({
      error: 'dns_error',
    });
    expect(target.connections()).toBe(before);
    s.close();
  });

  it('refuses plain http when https is required, without connecting', async () => {
    const before = target.connections();
    const s = sender({ allowPrivate: true, requireHttps: true });
    expect(await s.send({ url: `http://127.0.0.1:${target.port}/h`, ...message })).toMatchObject({
      error: 'insecure_url',
    });
    expect(target.connections()).toBe(before);
    s.close();
  });
});
