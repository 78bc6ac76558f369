import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeIngestServer, MAX_BATCH_BYTES, MAX_EVENT_BYTES } from './helpers/fake-ingest-server.js';
import { AS_USER, TEST_KEY, testClient } from './helpers/setup.js';

/**
 * The SDK against a fake ingest server speaking the API.md contract over real HTTP on 127.0.0.1.
 * Time is a manual clock: flush intervals, backoff and Retry-After are stepped, never slept.
 */
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const EMAIL_HASH = sha256('person@example.com');
const PHONE_HASH = sha256('16505551212');
const IDFA = '6D92078A-8246-4BA4-AE5B-76104861E7DC';
const GAID = '38400000-8cf0-11bd-b23e-10b96e40000d';
const ALLOWED_FIELDS = [
  'event_id',
  'type',
  'event',
  'user_id',
  'anonymous_id',
  'timestamp',
  'app_id',
  'properties',
  'traits',
  'context',
];

let server: FakeIngestServer;

beforeEach(async () => {
  server = new FakeIngestServer();
  await server.start();
});

afterEach(async () => {
  await server.stop();
  // Only the test that provokes a rejection (event name "reject_me") may see one.
  expect(server.rejections.filter((r) => r !== 'rejected by test')).toEqual([]);
});

function bodies(): Array<{ batch: Array<Record<string, unknown>> }> {
  return server.requests.map((r) => JSON.parse(r.rawBody));
}

describe('what goes over the wire', () => {
  it('sends hashed identifiers and never the plaintext email or phone', async () => {
    const { client } = testClient(server.url);
    await client.identify('u_123', {
      email: ' Person@Example.com ',
      phone: '+1 (650) 555-1212',
      plan: 'pro',
    });
    await client.track('purchase', { price: 9.99 });
    await client.flush();

    expect(server.requests).toHaveLength(1);
    const raw = server.requests[0]!.rawBody;
    // Digit runs like 555 can occur in hex digests and UUIDs; plaintext would carry these exact forms.
    for (const plaintext of [
      'person@example.com',
      'Person@Example.com',
      '@example',
      '(650)',
      '555-1212',
      '16505551212',
    ]) {
      expect(raw).not.toContain(plaintext);
    }
    const [identify, purchase] = JSON.parse(raw).batch;
    expect(identify.traits).toEqual({ email_sha256: EMAIL_HASH, phone_sha256: PHONE_HASH, plan: 'pro' });
    expect(identify).toMatchObject({ type: 'identify', user_id: 'u_123', app_id: 'com.example.app' });
    expect(purchase).toMatchObject({
      type: 'track',
      event: 'purchase',
      user_id: 'u_123',
      properties: { price: 9.99 },
    });
    expect(server.events.size).toBe(2);
  });

  it('uses the publishable key as bearer and POSTs {"batch": [...]} with only the contract fields', async () => {
    const { client } = testClient(server.url);
    await client.track('opened', {}, AS_USER);
    await client.flush();
    const request = server.requests[0]!;
    expect(request.authorization).toBe(`Bearer ${TEST_KEY}`);
    const body = JSON.parse(request.rawBody);
    expect(Object.keys(body)).toEqual(['batch']);
    for (const event of body.batch) {
      for (const field of Object.keys(event)) expect(ALLOWED_FIELDS).toContain(field);
      expect(event.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('gives every event its own event_id and the timestamp of the call, not of the send', async () => {
    const { client, timers } = testClient(server.url);
    const t0 = timers.now();
    await client.track('a', {}, AS_USER);
    timers.advance(1_234);
    await client.track('b', {}, AS_USER);
    timers.advance(3_000);
    await client.flush();
    const [a, b] = bodies()[0]!.batch;
    expect(a!.timestamp).toBe(new Date(t0).toISOString());
    expect(b!.timestamp).toBe(new Date(t0 + 1_234).toISOString());
    expect(a!.event_id).not.toBe(b!.event_id);
  });

  it('reset() forgets the user and the anonymous id: the next person gets a new one', async () => {
    const { client, errors } = testClient(server.url);
    const firstAnon = client.anonymousId;
    await client.identify('u_1');
    await client.track('before');
    client.reset();
    await client.track('after');
    await client.track('explicit', {}, { userId: 'u_2' });
    await client.flush();
    const [identify, before, after, explicit] = bodies()[0]!.batch;
    // The identify links the device's anonymous id to the user; later events carry the user only.
    expect(identify).toMatchObject({ type: 'identify', user_id: 'u_1', anonymous_id: firstAnon });
    expect(before).toMatchObject({ event: 'before', user_id: 'u_1' });
    expect(before).not.toHaveProperty('anonymous_id');
    expect(after).toMatchObject({ event: 'after', anonymous_id: client.anonymousId });
    expect(after).not.toHaveProperty('user_id');
    expect(client.anonymousId).not.toBe(firstAnon);
    expect(explicit).toMatchObject({ event: 'explicit', user_id: 'u_2' });
    expect(explicit).not.toHaveProperty('anonymous_id');
    expect(errors).toEqual([]);
  });

  it('before identify(), events carry the anonymous id instead of a user id', async () => {
    const { client, errors } = testClient(server.url);
    await client.track('anonymous');
    await client.identify('u_9');
    await client.track('named');
    await client.flush();
    expect(errors).toEqual([]);
    const anon = client.anonymousId;
    expect(anon).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...server.events.values()].map((e) => [e.event ?? e.type, e.user_id, e.anonymous_id])).toEqual([
      ['anonymous', undefined, anon],
      ['identify', 'u_9', anon],
      ['named', 'u_9', undefined],
    ]);
  });

  it('never sends device ids by default, even when the app passes them', async () => {
    const { client } = testClient(server.url, { deviceIds: { idfa: IDFA, gaid: GAID } });
    await client.track('install', {}, { ...AS_USER, context: { device: { idfa: IDFA } } });
    client.setDeviceIds({ gaid: GAID });
    await client.identify('u_1');
    await client.flush();
    const raw = server.requests.map((r) => r.rawBody).join('');
    expect(raw).not.toContain(IDFA);
    expect(raw).not.toContain(GAID);
    expect(raw).not.toContain('"device"');
    expect(server.events.size).toBe(2);
  });

  it('sends context.device when sendDeviceIds is true, but never the all-zero IDFA of a denied ATT prompt', async () => {
    const { client, errors } = testClient(server.url, { sendDeviceIds: true, deviceIds: { idfa: IDFA } });
    await client.track('a', {}, AS_USER);
    await client.track(
      'b',
      {},
      { ...AS_USER, context: { device: { idfa: '00000000-0000-0000-0000-000000000000' } } },
    );
    client.setDeviceIds({ gaid: GAID });
    await client.track('c', {}, { ...AS_USER, context: { ip: '81.2.69.160' } });
    await client.flush();
    const [a, b, c] = bodies()[0]!.batch;
    expect(a!.context).toEqual({ device: { idfa: IDFA, ad_tracking_enabled: true } });
    expect(b).not.toHaveProperty('context');
    expect(c!.context).toEqual({ ip: '81.2.69.160', device: { gaid: GAID, ad_tracking_enabled: true } });
    expect(errors).toEqual([]);
  });

  it('sends the tracking flag with the ids, false when the app says tracking is not allowed', async () => {
    const { client } = testClient(server.url, {
      sendDeviceIds: true,
      deviceIds: { idfa: IDFA, ad_tracking_enabled: false },
    });
    await client.track('a', {}, AS_USER);
    await client.flush();
    expect(bodies()[0]!.batch[0]!.context).toEqual({ device: { idfa: IDFA, ad_tracking_enabled: false } });
  });

  it('removes a malformed device id (the server would reject the whole event) and reports it', async () => {
    const { client, errors } = testClient(server.url, { sendDeviceIds: true });
    await client.track('a', {}, { ...AS_USER, context: { device: { idfa: 'not-a-uuid', gaid: GAID } } });
    await client.flush();
    expect(bodies()[0]!.batch[0]!.context).toEqual({ device: { gaid: GAID, ad_tracking_enabled: true } });
    expect(errors.map((e) => e.code)).toEqual(['invalid_identifier']);
    expect(errors[0]!.message).not.toContain('not-a-uuid');
  });

  it('sends the properties as they were at the call, not as the app later mutated them', async () => {
    const { client } = testClient(server.url);
    const properties = { step: 1 };
    const tracked = client.track('progress', properties, AS_USER);
    properties.step = 2;
    await tracked;
    await client.flush();
    expect(bodies()[0]!.batch[0]!.properties).toEqual({ step: 1 });
  });

  it('reports invalid events instead of throwing, and sends the valid ones', async () => {
    const { client, errors } = testClient(server.url);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await client.track('', {}, AS_USER);
    await client.track('big', { n: 1n } as never, AS_USER);
    await client.track('loop', circular, AS_USER);
    await client.identify('');
    await client.track('fine', {}, AS_USER);
    await client.flush();
    expect(errors.map((e) => e.code)).toEqual([
      'invalid_event',
      'invalid_event',
      'invalid_event',
      'invalid_event',
    ]);
    expect(bodies()[0]!.batch.map((e) => e.event)).toEqual(['fine']);
  });
});

describe('batching', () => {
  it('flushes when flushAt events are queued, without waiting for the timer', async () => {
    const { client } = testClient(server.url, { flushAt: 5 });
    for (let i = 0; i < 5; i++) await client.track(`e${i}`, {}, AS_USER);
    await server.waitFor(() => server.events.size === 5, 'a batch of 5');
    expect(server.requests).toHaveLength(1);
    expect(bodies()[0]!.batch).toHaveLength(5);
  });

  it('flushes by time: flushIntervalMs after the first queued event', async () => {
    const { client, timers } = testClient(server.url, { flushIntervalMs: 5_000 });
    const t0 = timers.now();
    await client.track('a', {}, AS_USER);
    await client.track('b', {}, AS_USER);
    expect(timers.dueTimes()).toEqual([t0 + 5_000]);
    timers.advance(4_999);
    expect(server.requests).toHaveLength(0);
    timers.advance(1);
    await server.waitFor(() => server.events.size === 2, 'the timed flush');
    expect(server.requests).toHaveLength(1);
  });

  it('never builds a request over 500 KB nor sends an event over 32 KB, whatever the properties', async () => {
    const { client, errors } = testClient(server.url, { flushAt: 100 });
    const ids: number[] = [];
    for (let i = 0; i < 60; i++) {
      // 15k two-byte characters: ~30 KB per event, so ~17 fit a request; some just under 32 KB.
      const size = 14_000 + ((i * 997) % 2_300);
      await client.track('big', { i, blob: 'é'.repeat(size) }, AS_USER);
      ids.push(i);
    }
    await client.flush();
    expect(server.violations).toEqual([]);
    expect(server.requests.length).toBeGreaterThan(3);
    for (const request of server.requests) {
      expect(request.bytes).toBeLessThanOrEqual(MAX_BATCH_BYTES);
      for (const event of JSON.parse(request.rawBody).batch) {
        expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
      }
    }
    const delivered = [...server.events.values()].map((e) => (e.properties as { i: number }).i);
    expect(delivered).toEqual(ids);
    expect(errors.filter((e) => e.code !== 'delivery_failed')).toEqual([]);
  });

  it('drops an event that alone is over 32 KB on the device and reports it; never sends it', async () => {
    const { client, errors } = testClient(server.url);
    await client.track('small', {}, AS_USER);
    await client.track('huge', { blob: 'x'.repeat(MAX_EVENT_BYTES) }, AS_USER);
    await client.flush();
    expect(errors.map((e) => e.code)).toEqual(['event_too_large']);
    expect(errors[0]!.eventIds).toHaveLength(1);
    expect(server.requests.map((r) => r.rawBody).join('')).not.toContain('huge');
    expect([...server.events.values()].map((e) => e.event)).toEqual(['small']);
  });

  it('sends an event of exactly 32768 bytes (the limit is inclusive)', async () => {
    const { client, errors } = testClient(server.url);
    const probe = {
      event_id: '00000000-0000-4000-8000-000000000000',
      type: 'track',
      timestamp: new Date(0).toISOString(),
    };
    const overhead = Buffer.byteLength(
      JSON.stringify({
        ...probe,
        app_id: 'com.example.app',
        event: 'edge',
        user_id: AS_USER.userId,
        properties: { blob: '' },
      }),
    );
    await client.track('edge', { blob: 'x'.repeat(MAX_EVENT_BYTES - overhead) }, AS_USER);
    await client.flush();
    expect(errors).toEqual([]);
    expect(server.requests[0]!.bytes).toBe(MAX_EVENT_BYTES + '{"batch":[]}'.length);
    expect(server.events.size).toBe(1);
  });
});

describe('retries', () => {
  it('keeps events while the server is down and delivers each exactly once when it is back', async () => {
    const { client, timers, errors } = testClient(server.url, { flushAt: 3 });
    await server.stop();
    for (let i = 0; i < 7; i++) await client.track(`e${i}`, {}, AS_USER);
    await client.flush();
    expect(client.queueSize).toBe(7);
    expect(errors.some((e) => e.code === 'delivery_failed' && e.status === undefined)).toBe(true);

    await server.start();
    timers.runNext(); // the pending retry
    await server.waitFor(() => server.events.size === 7, 'all events after the restart');
    await client.flush();
    expect(client.queueSize).toBe(0);
    expect([...server.events.values()].map((e) => e.event)).toEqual([
      'e0',
      'e1',
      'e2',
      'e3',
      'e4',
      'e5',
      'e6',
    ]);
    for (const count of server.receipts.values()) expect(count).toBe(1);
  });

  it('re-sends a batch whose answer was lost; the server dedups it by event_id', async () => {
    const { client, timers } = testClient(server.url);
    await client.track('a', {}, AS_USER);
    await client.track('b', {}, AS_USER);
    server.behaviour = { kind: 'commit-then-drop' };
    await client.flush();
    expect(server.events.size).toBe(2); // committed...
    expect(client.queueSize).toBe(2); // ...but not acknowledged, so still queued

    server.behaviour = { kind: 'normal' };
    timers.runNext();
    await server.waitFor(() => server.duplicates === 2, 'the re-sent batch');
    await client.flush();
    expect(client.queueSize).toBe(0);
    expect(server.events.size).toBe(2);
    expect(server.requests[1]!.eventIds).toEqual(server.requests[0]!.eventIds);
  });

  it('backs off exponentially on 503 and retries until it gets through', async () => {
    const { client, timers, errors } = testClient(server.url);
    server.behaviour = { kind: 'fail', response: { status: 503 } };
    await client.track('a', {}, AS_USER);
    await client.flush();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      const before = server.requests.length;
      const now = timers.now();
      delays.push(timers.runNext() - now);
      await server.waitFor(() => server.requests.length === before + 1, 'a retry');
      await server.waitFor(() => errors.length === attempt + 2, 'its failure to be handled');
    }
    // random() is 0.5: 3/4 of the nominal 1 s, 2 s, 4 s, 8 s.
    expect(delays).toEqual([750, 1_500, 3_000, 6_000]);
    server.behaviour = { kind: 'normal' };
    timers.runNext();
    await server.waitFor(() => server.events.size === 1, 'delivery');
    expect(errors.every((e) => e.code === 'delivery_failed' && e.status === 503)).toBe(true);
  });

  it('honours Retry-After (seconds) on 429: nothing is sent before it, not even by flush()', async () => {
    const { client, timers, errors } = testClient(server.url);
    server.script.push({ status: 429, headers: { 'retry-after': '30' } });
    await client.track('a', {}, AS_USER);
    await client.flush();
    expect(server.requests).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'delivery_failed', status: 429 });
    expect(errors[0]!.retryInMs).toBeGreaterThanOrEqual(30_000);

    timers.advance(29_999);
    expect(await client.flush()).toEqual({ delivered: 0, pending: 1 });
    expect(server.requests).toHaveLength(1);

    timers.advance(1);
    expect(await client.flush()).toEqual({ delivered: 1, pending: 0 });
    expect(server.requests).toHaveLength(2);
  });

  it('honours Retry-After given as an HTTP date, on 503 too', async () => {
    const { client, timers } = testClient(server.url);
    const retryAt = new Date(timers.now() + 90_000).toUTCString();
    server.script.push({ status: 503, headers: { 'retry-after': retryAt } });
    await client.track('a', {}, AS_USER);
    await client.flush();
    const due = timers.dueTimes()[0]!;
    expect(due).toBeGreaterThanOrEqual(Date.parse(retryAt));
    timers.advance(89_000);
    expect(await client.flush()).toEqual({ delivered: 0, pending: 1 });
    expect(timers.runNext()).toBeGreaterThanOrEqual(Date.parse(retryAt));
    await server.waitFor(() => server.events.size === 1, 'delivery after the date');
    expect(server.requests).toHaveLength(2);
  });

  it.each([
    [400, { status: 400, body: { error: { code: 'invalid_request', message: 'bad' } } }],
    [413, { status: 413 }],
    [422, { status: 422 }],
  ])('does not retry a %i: reports the batch as rejected and drops it', async (status, response) => {
    const { client, timers, errors } = testClient(server.url);
    server.script.push(response);
    await client.track('a', {}, AS_USER);
    await client.track('b', {}, AS_USER);
    await client.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'batch_rejected', status, count: 2 });
    expect(client.queueSize).toBe(0);
    timers.advance(24 * 3_600_000);
    await client.flush();
    expect(server.requests).toHaveLength(1);
    expect(timers.dueTimes()).toEqual([]);
  });

  it('carries on with the next batch after dropping a refused one', async () => {
    const { client, errors } = testClient(server.url, { flushAt: 2 });
    await server.stop(); // queue three events first: two batches wait for one flush
    for (const name of ['a', 'b', 'c']) await client.track(name, {}, AS_USER);
    await client.flush();
    await server.start();
    server.script.push({ status: 400 });
    expect(await client.flush()).toEqual({ delivered: 1, pending: 0 });
    expect(errors.filter((e) => e.code !== 'delivery_failed').map((e) => e.code)).toEqual(['batch_rejected']);
    expect([...server.events.values()].map((e) => e.event)).toEqual(['c']);
  });

  it('does not retry a 401 for a revoked key', async () => {
    const { client, timers, errors } = testClient(server.url, { key: 'lyr_pk_REVOKED0123456789abcdefghi' });
    await client.track('a', {}, AS_USER);
    await client.flush();
    timers.advance(3_600_000);
    await client.flush();
    expect(server.requests).toHaveLength(1);
    expect(errors.map((e) => [e.code, e.status])).toEqual([['batch_rejected', 401]]);
  });

  it('surfaces per-event rejections of a 200 answer through onError, without retrying', async () => {
    const { client, errors } = testClient(server.url);
    await client.track('fine', {}, AS_USER);
    await client.track('reject_me', {}, AS_USER);
    await client.flush();
    expect(errors).toHaveLength(1);
    const [error] = errors;
    expect(error!.code).toBe('event_rejected');
    const rejectedId = JSON.parse(server.requests[0]!.rawBody).batch[1].event_id;
    expect(error!.rejections).toEqual([
      { eventId: rejectedId, code: 'invalid_event', message: 'rejected by test' },
    ]);
    expect(client.queueSize).toBe(0);
    expect(server.requests).toHaveLength(1);
  });

  it('aborts a request that gets no answer and retries it', async () => {
    const { client, timers, errors } = testClient(server.url, { requestTimeoutMs: 10_000 });
    server.behaviour = { kind: 'hang' };
    await client.track('a', {}, AS_USER);
    const flushed = client.flush();
    await server.waitFor(() => server.requests.length === 1, 'the hanging request');
    server.behaviour = { kind: 'normal' };
    timers.advance(10_000);
    await flushed;
    expect(errors[0]).toMatchObject({ code: 'delivery_failed' });
    timers.runNext();
    await server.waitFor(() => server.events.size === 1, 'the retry');
    await client.flush();
    expect(client.queueSize).toBe(0);
  });
});
