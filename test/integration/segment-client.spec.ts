import { createServer, type Server, Socket } from 'node:net';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import { sha256 } from '../helpers/hash.ts';
import { createSdkProject, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The real `@segment/analytics-node` client pointed at a running Layers server (host + key changed,
 * nothing else): events land through the same privacy pipeline as the native SDK route.
 */
describe('@segment/analytics-node against /segment/v1/batch', () => {
  let t: TestApp;
  let projectId: string;
  let pk: string;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp();
    ({ projectId, publishableKey: pk } = await createSdkProject(t.app));
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(() => t.close());

  const client = (host: string, extra: Record<string, unknown> = {}) =>
    new Analytics({ writeKey: pk, host, path: '/segment/v1/batch', flushInterval: 60_000, ...extra });

  const rowsOf = async (where: string, params: unknown[]) =>
    (
      await t.db.systemPool.query(
        `SELECT event_id, type, event, user_id, anonymous_id, email_sha256, phone_sha256, geo_country, properties, traits
         FROM sdk_events WHERE project_id = $1 AND ${where} ORDER BY timestamp`,
        [projectId, ...params],
      )
    ).rows;

  it('track, identify and page land with hashed identifiers; no raw email, phone or IP is stored', async () => {
    const analytics = client(`http://127.0.0.1:${port}`);
    const context = { ip: '81.2.69.160' };
    analytics.identify({
      userId: 'seg_user_1',
      anonymousId: 'seg-anon-1',
      traits: { email: ' Segment.Person@Example.com ', phone: '+1 (650) 555-1212', plan: 'pro' },
      context,
    });
    analytics.track({
      userId: 'seg_user_1',
      event: 'Order Completed',
      properties: { revenue: 9.99 },
      context,
    });
    analytics.page({ anonymousId: 'seg-anon-1', name: 'Pricing', properties: { path: '/pricing' }, context });
    await analytics.closeAndFlush({ timeout: 10_000 });

    // Same millisecond timestamps: put them in call order by kind.
    const order = ['identify', 'Order Completed', 'Page Viewed'];
    const rows = (await rowsOf(`(user_id = $2 OR anonymous_id = $3)`, ['seg_user_1', 'seg-anon-1'])).sort(
      (a, b) => order.indexOf(a.event ?? a.type) - order.indexOf(b.event ?? b.type),
    );
    expect(rows.map((r) => [r.type, r.event])).toEqual([
      ['identify', null],
      ['track', 'Order Completed'],
      ['track', 'Page Viewed'],
    ]);
    expect(rows[0]).toMatchObject({
      user_id: 'seg_user_1',
      anonymous_id: 'seg-anon-1',
      email_sha256: sha256('segment.person@example.com'),
      phone_sha256: sha256('16505551212'),
      geo_country: 'GB',
      traits: { plan: 'pro' },
    });
    expect(rows[1].properties).toEqual({ revenue: 9.99 });
    expect(rows[2]).toMatchObject({ user_id: null, properties: { path: '/pricing', name: 'Pricing' } });
    // messageId is the dedup key.
    expect(rows.every((r) => r.event_id.startsWith('node-next-'))).toBe(true);

    const dump = await dumpDatabase(t.db.systemPool);
    expect(dump).not.toMatch(/segment\.person@example\.com/i);
    expect(dump).not.toContain('555-1212');
    expect(dump).not.toContain('16505551212');
    expect(dump).not.toContain('81.2.69.160');
    expect(dump).not.toContain(pk);
  });

  it('retries through a server stop and start, and delivers each messageId once', async () => {
    // Full batches only: analytics-node 3.1 does not send a partial batch at close while others are
    // still being retried (it waits for them, then for its timeout).
    const analytics = client(`http://127.0.0.1:${port}`, { maxRetries: 10, flushAt: 4 });
    t.app.server.close();
    t.app.server.closeAllConnections();
    for (let i = 0; i < 12; i++) analytics.track({ userId: 'seg_restart', event: `e${i}` });
    await new Promise((r) => setTimeout(r, 150));
    await new Promise<void>((resolve) => t.app.server.listen(port, '127.0.0.1', () => resolve()));
    await analytics.closeAndFlush({ timeout: 20_000 });
    const rows = await rowsOf('user_id = $2', ['seg_restart']);
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(12);
  });

  it('a response lost after the commit: the client resends the batch and each messageId is stored once', async () => {
    // A proxy that cuts the connection of the first request once the server has answered it.
    let cut = false;
    const sockets = new Set<Socket>();
    const proxy: Server = createServer((client) => {
      sockets.add(client);
      const upstream = new Socket();
      sockets.add(upstream);
      upstream.connect(port, '127.0.0.1');
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (!cut) {
          cut = true;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(chunk);
      });
      upstream.on('end', () => client.end());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    const proxyAddress = proxy.address();
    const proxyPort = typeof proxyAddress === 'object' && proxyAddress ? proxyAddress.port : 0;
    try {
      const analytics = client(`http://127.0.0.1:${proxyPort}`, { maxRetries: 5, flushAt: 4 });
      for (let i = 0; i < 4; i++) analytics.track({ userId: 'seg_lost', event: `e${i}` });
      await analytics.closeAndFlush({ timeout: 20_000 });
      expect(cut).toBe(true);
      const rows = await rowsOf('user_id = $2', ['seg_lost']);
      expect(rows).toHaveLength(4);
      const duplicates = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(duplicates.body).toMatch(/outcome="duplicate"} [1-9]/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});
