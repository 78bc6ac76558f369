import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { init } from '../src/index.js';
import type { PageLifecycle } from '../src/page-lifecycle.js';
import type { FetchLike } from '../src/transport.js';
import { FakeIngestServer } from './helpers/fake-ingest-server.js';
import { AS_USER, InspectableStorage, TEST_KEY, testClient } from './helpers/setup.js';

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

/** A page whose hide/online events the test fires by hand. */
function fakePage() {
  const hide = new Set<() => void>();
  const online = new Set<() => void>();
  const lifecycle: PageLifecycle = {
    onHide: (listener) => {
      hide.add(listener);
      return () => hide.delete(listener);
    },
    onOnline: (listener) => {
      online.add(listener);
      return () => online.delete(listener);
    },
  };
  return {
    lifecycle,
    hide: () => {
      for (const l of hide) l();
    },
    online: () => {
      for (const l of online) l();
    },
    listeners: () => hide.size + online.size,
  };
}

/** Real fetch to the fake server, recording what the SDK asked for. */
function recordingFetch() {
  const calls: Array<{ keepalive: boolean; bytes: number }> = [];
  const fetchFn: FetchLike = (input, init) => {
    calls.push({ keepalive: init.keepalive === true, bytes: Buffer.byteLength(String(init.body)) });
    return fetch(input, init);
  };
  return { calls, fetchFn };
}

describe('page hide', () => {
  it('flushes with keepalive fetch, never more than the 64 KiB keepalive quota in flight', async () => {
    const page = fakePage();
    const { calls, fetchFn } = recordingFetch();
    const storage = new InspectableStorage();
    server.behaviour = { kind: 'hang' }; // keepalive requests stay in flight: the quota is shared
    const { client } = testClient(server.url, {
      pageLifecycle: page.lifecycle,
      fetch: fetchFn,
      storage,
      flushAt: 100,
    });
    for (let i = 0; i < 12; i++) await client.track('e', { i, blob: 'x'.repeat(10_000) }, AS_USER);
    expect(calls).toHaveLength(0);

    page.hide();
    page.hide(); // visibilitychange and pagehide both fire on unload
    await server.waitFor(
      () => server.requests.length === calls.length && calls.length > 0,
      'keepalive requests',
    );
    expect(calls.every((c) => c.keepalive)).toBe(true);
    expect(calls.reduce((sum, c) => sum + c.bytes, 0)).toBeLessThanOrEqual(65_536);
    const sent = server.requests.flatMap((r) => r.eventIds).length;
    expect(sent).toBe(6); // 6 × ~10 KB fit, the 7th would cross 64 KiB
    // Everything is still persisted: nothing was acknowledged.
    expect(
      JSON.parse(storage.getItem([...storage.items.keys()].find((k) => k.endsWith(':queue'))!)!),
    ).toHaveLength(12);
  });

  it('sends nothing on page hide while a Retry-After holds', async () => {
    const page = fakePage();
    const { client } = testClient(server.url, { pageLifecycle: page.lifecycle });
    server.script.push({ status: 429, headers: { 'retry-after': '60' } });
    await client.track('a', {}, AS_USER);
    await client.flush();
    page.hide();
    await client.flush();
    expect(server.requests).toHaveLength(1);
  });

  it('retries right away when the browser is back online, skipping the backoff', async () => {
    const page = fakePage();
    await server.stop();
    const { client, timers } = testClient(server.url, {
      pageLifecycle: page.lifecycle,
      retryBaseDelayMs: 60_000,
    });
    await client.track('a', {}, AS_USER);
    await client.flush();
    expect(timers.dueTimes()[0]! - timers.now()).toBeGreaterThanOrEqual(30_000);
    await server.start();
    page.online();
    await server.waitFor(() => server.events.size === 1, 'delivery on online');
  });
});

describe('shutdown', () => {
  it('delivers what is queued, then ignores further calls and removes its listeners', async () => {
    const page = fakePage();
    const { client, timers } = testClient(server.url, { pageLifecycle: page.lifecycle });
    await client.track('a', {}, AS_USER);
    expect(await client.shutdown()).toEqual({ delivered: 1, pending: 0 });
    expect(page.listeners()).toBe(0);
    await client.track('after-shutdown', {}, AS_USER);
    timers.advance(3_600_000);
    expect(client.queueSize).toBe(0);
    expect(server.requests).toHaveLength(1);
  });

  it('init() returns one app-wide client, refuses other settings, and starts afresh after shutdown', async () => {
    const options = {
      key: TEST_KEY,
      endpoint: server.url,
      appId: 'com.example.init',
      storage: null,
      pageLifecycle: null,
    };
    const client = init(options);
    expect(init(options)).toBe(client);
    expect(() => init({ ...options, appId: 'other' })).toThrow(/createClient/);
    await client.shutdown();
    const next = init(options);
    expect(next).not.toBe(client);
    await next.shutdown();
  });
});
