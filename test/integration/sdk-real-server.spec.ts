import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type LayersClient } from '../../sdk/src/index.ts';
import { sha256 } from '../helpers/hash.ts';
import { createKey, createOrg, createProject, createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The customer SDK against the real server (in this process, on 127.0.0.1): what travels on the wire
 * is recorded by wrapping fetch, and what arrives is read back from the database.
 */
describe('SDK against the real server', () => {
  let t: TestApp;
  let pk: string;
  let secret: string;
  let projectId: string;
  let endpoint: string;
  let port: number;
  const wire: string[] = [];
  const statuses: number[] = [];
  let networkErrors = 0;
  const recordingFetch = async (input: string, init: RequestInit) => {
    wire.push(String(init.body));
    try {
      const res = await fetch(input, init);
      statuses.push(res.status);
      return res;
    } catch (error) {
      networkErrors++;
      throw error;
    }
  };

  beforeAll(async () => {
    t = await createTestApp();
    const org = await createOrg(t.app);
    secret = org.secret;
    projectId = (await createProject(t.app, org)).id;
    pk = (await createKey(t.app, org, { type: 'publishable', project_id: projectId })).secret;
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
    endpoint = `http://127.0.0.1:${port}`;
  });
  afterAll(() => t.close());

  const client = (extra: Partial<Parameters<typeof createClient>[0]> = {}): LayersClient =>
    createClient({
      key: pk,
      endpoint,
      appId: 'com.example.app',
      fetch: recordingFetch,
      storage: null,
      flushIntervalMs: 60_000,
      ...extra,
    });

  const stored = async (userId: string) =>
    (
      await t.db.systemPool.query(
        'SELECT event_id, email_sha256, phone_sha256, traits FROM sdk_events WHERE project_id = $1 AND user_id = $2',
        [projectId, userId],
      )
    ).rows;

  it('hashes identifiers on the device: the right hashes arrive, no plaintext on the wire', async () => {
    const sdk = client();
    await sdk.identify('u_sdk', { email: ' Person@Example.com ', phone: '+1 (650) 555-1212', plan: 'pro' });
    await sdk.track('opened', { screen: 'home' });
    const result = await sdk.shutdown();
    expect(result.pending).toBe(0);
    const body = wire.join('\n');
    expect(body).not.toMatch(/person@example\.com/i);
    expect(body).not.toContain('555-1212');
    expect(body).toContain(sha256('person@example.com'));
    const rows = await stored('u_sdk');
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.email_sha256)).toContain(sha256('person@example.com'));
    expect(rows.map((r) => r.phone_sha256)).toContain(sha256('16505551212'));
  });

  it('before identify the anonymous id is sent; identify links it, so the user export holds both', async () => {
    const sdk = client();
    await sdk.track('browsed', { page: 'home' });
    await sdk.identify('u_anon_sdk', { plan: 'pro' });
    await sdk.track('bought');
    expect((await sdk.shutdown()).pending).toBe(0);
    const exported = await t.app.inject({
      method: 'GET',
      url: `/v1/projects/${projectId}/events/users/u_anon_sdk`,
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(exported.statusCode).toBe(200);
    const events = exported.json().events as {
      type: string;
      event: string | null;
      anonymous_id: string | null;
    }[];
    expect(events.map((e) => e.event ?? e.type)).toEqual(['browsed', 'identify', 'bought']);
    expect(events[0]?.anonymous_id).toBe(sdk.anonymousId);
  });

  it('retries through a server restart and delivers every event exactly once', async () => {
    const sdk = client({ retryBaseDelayMs: 50, retryMaxDelayMs: 200, flushAt: 5 });
    await sdk.identify('u_restart', {});
    await t.app.server.close();
    t.app.server.closeAllConnections();
    for (let i = 0; i < 12; i++) await sdk.track(`e${i}`);
    const pending = sdk.flush();
    await new Promise((r) => setTimeout(r, 300));
    expect(networkErrors).toBeGreaterThan(0);
    await new Promise<void>((resolve) => t.app.server.listen(port, '127.0.0.1', () => resolve()));
    await pending;
    const result = await sdk.shutdown();
    expect(result.pending).toBe(0);
    const rows = await stored('u_restart');
    expect(rows).toHaveLength(13);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(13);
  });

  it('never builds a request the server would refuse for size', async () => {
    const before = statuses.length;
    const sdk = client({ flushAt: 1000 });
    await sdk.identify('u_big', {});
    for (let i = 0; i < 60; i++)
      await sdk.track('big', { blob: 'x'.repeat(8000), more: 'y'.repeat(8000), i });
    const result = await sdk.shutdown();
    expect(result.pending).toBe(0);
    const sent = wire.slice(-(statuses.length - before));
    expect(statuses.slice(before).every((s) => s === 200)).toBe(true);
    for (const body of sent) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(500 * 1024);
    expect(await stored('u_big')).toHaveLength(61);
  });

  it('sends nothing while opted out', async () => {
    const before = wire.length;
    const sdk = client();
    sdk.optOut();
    await sdk.identify('u_optout', { email: 'nobody@example.com' });
    await sdk.track('ignored');
    await sdk.shutdown();
    expect(wire.length).toBe(before);
    expect(await stored('u_optout')).toHaveLength(0);
  });
});
