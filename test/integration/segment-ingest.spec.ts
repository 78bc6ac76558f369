import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSdkProjectApp } from '../helpers/sdk-project-app.ts';
import { createKey, createSdkProject, createTestApp, type TestApp } from '../helpers/test-app.ts';

/** The Segment HTTP Tracking API at /segment/v1/*: field mapping, auth, limits and answers. */
const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });

describe('Segment-compatible ingest', () => {
  const s = useSdkProjectApp();

  const post = (url: string, payload: unknown, headers: Record<string, string> = basic(s.pk)) =>
    s.t.app.inject({ method: 'POST', url, headers, payload: payload as object });
  const row = async (eventId: string) =>
    (
      await s.t.db.systemPool.query(
        `SELECT type, event, user_id, anonymous_id, app_id, timestamp, properties, traits, email_sha256, geo_country
         FROM sdk_events WHERE project_id = $1 AND event_id = $2`,
        [s.projectId, eventId],
      )
    ).rows[0];

  it('maps messageId, ids, traits (also context.traits), context.app and corrects the client clock', async () => {
    const res = await post('/segment/v1/batch', {
      sentAt: '2026-11-30T12:00:10.000Z',
      context: { app: { namespace: 'com.example.shop', version: '1.2' } },
      batch: [
        {
          type: 'identify',
          messageId: 'm-identify-1',
          userId: 42,
          anonymousId: 'anon-map-1',
          traits: { plan: 'pro' },
          context: {
            traits: { email: 'Mapped@Example.com', plan: 'free' },
            ip: '81.2.69.160',
            userAgent: 'UA',
          },
          // The client's clock is 10 s ahead of receipt minus its own sentAt.
          timestamp: '2026-11-30T12:00:00.000Z',
        },
        { type: 'screen', messageId: 'm-screen-1', anonymousId: 'anon-map-1', name: 'Home' },
        { type: 'group', messageId: 'm-group-1', userId: '42', groupId: 'g1' },
        { type: 'alias', messageId: 'm-alias-1', userId: 'u_alias', previousId: 'anon-alias-1' },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ success: true, accepted: 3, duplicates: 0 });
    expect(res.json().rejected).toEqual([expect.objectContaining({ index: 2, code: 'unsupported_type' })]);
    const received = Date.now();

    const identify = await row('m-identify-1');
    expect(identify).toMatchObject({
      type: 'identify',
      user_id: '42',
      anonymous_id: 'anon-map-1',
      app_id: 'com.example.shop',
      traits: { plan: 'pro' },
      geo_country: 'GB',
    });
    expect(identify.email_sha256).toMatch(/^[0-9a-f]{64}$/);
    // receivedAt − (sentAt − timestamp) = receivedAt − 10 s.
    const skew = received - 10_000 - identify.timestamp.getTime();
    expect(skew).toBeGreaterThanOrEqual(0);
    expect(skew).toBeLessThan(60_000);

    expect(await row('m-screen-1')).toMatchObject({
      type: 'track',
      event: 'Screen Viewed',
      user_id: null,
      properties: { name: 'Home' },
    });
    expect(await row('m-group-1')).toBeUndefined();
    expect(await row('m-alias-1')).toMatchObject({
      type: 'identify',
      user_id: 'u_alias',
      anonymous_id: 'anon-alias-1',
    });
    const { rows: links } = await s.t.db.systemPool.query(
      'SELECT anonymous_id, user_id FROM anonymous_ids WHERE project_id = $1 ORDER BY anonymous_id',
      [s.projectId],
    );
    expect(links).toEqual([
      { anonymous_id: 'anon-alias-1', user_id: 'u_alias' },
      { anonymous_id: 'anon-map-1', user_id: '42' },
    ]);
  });

  it('device advertising ids go to the forwarding seam, never into the stored event', async () => {
    const idfa = '6D92078A-8246-4BA4-AE5B-76104861E7DC';
    const res = await post('/segment/v1/track', {
      messageId: 'm-device-1',
      userId: 'u_device',
      event: 'Purchase',
      context: { device: { advertisingId: idfa, adTrackingEnabled: true, type: 'ios', model: 'iPhone16,1' } },
    });
    expect(res.statusCode, res.body).toBe(200);
    const { rows } = await s.t.db.systemPool.query(
      'SELECT to_jsonb(e)::text AS j FROM sdk_events e WHERE event_id = $1',
      ['m-device-1'],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].j.toLowerCase()).not.toContain(idfa.toLowerCase());
  });

  it('a retried messageId is a duplicate, stored once', async () => {
    const message = { type: 'track', messageId: 'm-dup-1', userId: 'u_dup', event: 'Opened' };
    expect((await post('/segment/v1/batch', { batch: [message] })).json()).toMatchObject({ accepted: 1 });
    expect((await post('/segment/v1/b', { batch: [message] })).json()).toMatchObject({
      accepted: 0,
      duplicates: 1,
    });
  });

  it('browser form: text/plain JSON with writeKey in the body, and CORS', async () => {
    const res = await s.t.app.inject({
      method: 'POST',
      url: '/segment/v1/t',
      headers: { 'content-type': 'text/plain', origin: 'https://shop.example' },
      payload: JSON.stringify({
        writeKey: s.pk,
        messageId: 'm-browser-1',
        anonymousId: 'anon-b',
        event: 'Viewed',
      }),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(await row('m-browser-1')).toMatchObject({ event: 'Viewed', anonymous_id: 'anon-b' });
    const preflight = await s.t.app.inject({ method: 'OPTIONS', url: '/segment/v1/batch' });
    expect(preflight.statusCode).toBe(204);
    // text/plain stays refused elsewhere.
    const native = await s.t.app.inject({
      method: 'POST',
      url: '/v1/sdk/events',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${s.pk}` },
      payload: '{"batch":[]}',
    });
    expect(native.statusCode).toBe(415);
  });

  it('auth: a secret key is refused (403), a bad key or none 401', async () => {
    expect((await post('/segment/v1/batch', { batch: [] }, basic(s.org.secret))).statusCode).toBe(403);
    expect((await post('/segment/v1/batch', { batch: [] }, basic('lyr_pk_not-a-key'))).statusCode).toBe(401);
    expect((await post('/segment/v1/batch', { batch: [] }, {})).statusCode).toBe(401);
    const revoked = await createKey(s.t.app, s.org, { type: 'publishable', project_id: s.projectId });
    await s.t.app.inject({
      method: 'DELETE',
      url: `/v1/api-keys/${revoked.id}`,
      headers: { authorization: `Bearer ${s.org.secret}` },
    });
    expect((await post('/segment/v1/batch', { batch: [] }, basic(revoked.secret))).statusCode).toBe(401);
  });

  it('400 only for a body that can never succeed; a refused message is named inside the 200; 413 for size', async () => {
    const bad = await s.t.app.inject({
      method: 'POST',
      url: '/segment/v1/batch',
      headers: { ...basic(s.pk), 'content-type': 'application/json' },
      payload: '{"batch": [',
    });
    expect(bad.statusCode).toBe(400);
    const notAnObject = await post('/segment/v1/batch', { batch: 'nope' });
    expect(notAnObject.statusCode).toBe(400);
    // A message that can never be stored is a per-event rejection inside a 200, alone or in a batch.
    const refused = await post('/segment/v1/track', { messageId: 'm-no-event', userId: 'u_x' });
    expect(refused.statusCode).toBe(200);
    expect(refused.json()).toMatchObject({ success: true, accepted: 0 });
    expect(refused.json().rejected[0]).toMatchObject({ index: 0, code: 'missing_field' });
    const inBatch = await post('/segment/v1/batch', {
      batch: [{ type: 'track', messageId: 'm-no-event', userId: 'u_x' }],
    });
    expect(inBatch.statusCode).toBe(200);
    expect(inBatch.json().rejected[0]).toMatchObject({ index: 0, code: 'missing_field' });

    const big = 'x'.repeat(33 * 1024);
    const oversizedMessage = await post('/segment/v1/batch', {
      batch: [{ type: 'track', messageId: 'm-big', userId: 'u', event: 'e', properties: { big } }],
    });
    expect(oversizedMessage.statusCode).toBe(413);
    const many = Array.from({ length: 20 }, (_, i) => ({
      type: 'track',
      messageId: `m-many-${i}`,
      userId: 'u',
      event: 'e',
      properties: { blob: 'y'.repeat(30 * 1024) },
    }));
    expect((await post('/segment/v1/batch', { batch: many })).statusCode).toBe(413);
    expect(
      (await post('/segment/v1/track', { messageId: 'm', userId: 'u', event: 'e', p: big })).statusCode,
    ).toBe(413);
  });
});

describe('Segment-compatible ingest when events cannot be committed', () => {
  let t: TestApp;
  let pk: string;
  beforeAll(async () => {
    t = await createTestApp();
    ({ publishableKey: pk } = await createSdkProject(t.app));
  });
  afterAll(() => t.close());

  it('answers 503 with Retry-After (retried by Segment clients), and the retry stores the messages', async () => {
    const body = { batch: [{ type: 'track', messageId: 'm-5xx-1', userId: 'u', event: 'e' }] };
    const send = () =>
      t.app.inject({ method: 'POST', url: '/segment/v1/batch', headers: basic(pk), payload: body });
    // The database refuses the app role the ingest statement: a failure of the store, not of the input.
    await t.db.systemPool.query('REVOKE EXECUTE ON FUNCTION ingest_batch FROM layers_app');
    try {
      const failed = await send();
      expect(failed.statusCode).toBe(503);
      expect(failed.headers['retry-after']).toBe('1');
    } finally {
      await t.db.systemPool.query('GRANT EXECUTE ON FUNCTION ingest_batch TO layers_app');
    }
    expect((await send()).json()).toMatchObject({ success: true, accepted: 1 });
  });
});

describe('Segment-compatible ingest under a rate limit', () => {
  let t: TestApp;
  let pk: string;
  beforeAll(async () => {
    t = await createTestApp({ env: { LAYERS_RATE_LIMIT_PUBLISHABLE_PER_S: '1' } });
    ({ publishableKey: pk } = await createSdkProject(t.app));
  });
  afterAll(() => t.close());

  it('answers 429 with Retry-After (which Segment clients retry), never a 400', async () => {
    const statuses: number[] = [];
    let retryAfter: unknown;
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/segment/v1/batch',
        headers: basic(pk),
        payload: { batch: [{ type: 'track', messageId: `m-rl-${i}`, userId: 'u', event: 'e' }] },
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) retryAfter = res.headers['retry-after'];
    }
    expect(statuses).toContain(429);
    expect(statuses).not.toContain(400);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });
});
