import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageKeys } from '../src/storage.js';
import { FakeIngestServer } from './helpers/fake-ingest-server.js';
import { AS_USER, InspectableStorage, TEST_KEY, testClient } from './helpers/setup.js';

const KEYS = storageKeys(TEST_KEY, 'com.example.app');
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

describe('opt-out', () => {
  it('sends nothing and queues nothing while opted out', async () => {
    const { client, timers } = testClient(server.url, { flushAt: 1 });
    client.optOut();
    expect(client.isOptedOut()).toBe(true);
    await client.identify('u_1', { email: 'person@example.com' });
    await client.track('ignored', {}, AS_USER);
    expect(client.queueSize).toBe(0);
    expect(await client.flush()).toEqual({ delivered: 0, pending: 0 });
    timers.advance(3_600_000);
    expect(server.requests).toHaveLength(0);
  });

  it('clears the persisted queue and cancels pending retries on opt-out', async () => {
    const storage = new InspectableStorage();
    server.behaviour = { kind: 'fail', response: { status: 503 } };
    const { client, timers } = testClient(server.url, { storage });
    await client.track('queued-before-opt-out', {}, AS_USER);
    await client.flush();
    expect(storage.getItem(KEYS.queue)).not.toBeNull();
    expect(timers.dueTimes()).toHaveLength(1);

    client.optOut();
    expect(storage.getItem(KEYS.queue)).toBeNull();
    expect(client.queueSize).toBe(0);
    expect(timers.dueTimes()).toEqual([]);
    server.behaviour = { kind: 'normal' };
    timers.advance(3_600_000);
    await client.flush();
    expect(server.requests).toHaveLength(1); // only the failed attempt from before the opt-out
    expect(server.events.size).toBe(0);
  });

  it('does not queue an event whose hashing was still running when the app opted out', async () => {
    const { client } = testClient(server.url);
    const pending = client.identify('u_1', { email: 'person@example.com' });
    client.optOut();
    await pending;
    expect(client.queueSize).toBe(0);
  });

  it('remembers the choice across page loads, and optIn() resumes collection', async () => {
    const storage = new InspectableStorage();
    testClient(server.url, { storage }).client.optOut();

    const reloaded = testClient(server.url, { storage });
    expect(reloaded.client.isOptedOut()).toBe(true);
    await reloaded.client.track('still-out', {}, AS_USER);
    reloaded.client.optIn();
    await reloaded.client.track('back-in', {}, AS_USER);
    await reloaded.client.flush();
    expect([...server.events.values()].map((e) => e.event)).toEqual(['back-in']);

    expect(testClient(server.url, { storage }).client.isOptedOut()).toBe(false);
  });

  it('applies an opt-out made in another tab of the same app', async () => {
    const storage = new InspectableStorage();
    const tabA = testClient(server.url, { storage });
    const tabB = testClient(server.url, { storage });
    tabB.client.optOut();
    await tabA.client.track('after-other-tab-opted-out', {}, AS_USER);
    await tabA.client.flush();
    expect(server.requests).toHaveLength(0);
  });

  it('defaultOptOut starts opted out until the app records consent with optIn()', async () => {
    const storage = new InspectableStorage();
    const first = testClient(server.url, { storage, defaultOptOut: true });
    await first.client.track('before-consent', {}, AS_USER);
    expect(first.client.queueSize).toBe(0);
    first.client.optIn();
    const reloaded = testClient(server.url, { storage, defaultOptOut: true });
    expect(reloaded.client.isOptedOut()).toBe(false);
    await reloaded.client.track('after-consent', {}, AS_USER);
    await reloaded.client.flush();
    expect([...server.events.values()].map((e) => e.event)).toEqual(['after-consent']);
  });
});
