import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageKeys } from '../src/storage.js';
import { FakeIngestServer } from './helpers/fake-ingest-server.js';
import { AS_USER, InspectableStorage, TEST_KEY, testClient } from './helpers/setup.js';

/**
 * The bounded queue and its persistence. A "page reload" is a second client created over the same
 * storage, exactly what a browser page does with localStorage.
 */
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

const QUEUE_KEY = storageKeys(TEST_KEY, 'com.example.app').queue;

function storedIds(storage: InspectableStorage): string[] {
  const text = storage.getItem(QUEUE_KEY);
  return text ? (JSON.parse(text) as Array<{ event_id: string }>).map((e) => e.event_id) : [];
}

describe('bounded queue', () => {
  it('drops the OLDEST events when full, reports each drop, and delivers the newest', async () => {
    const { client, errors } = testClient(server.url, { maxQueueSize: 5, flushAt: 100 });
    for (let i = 0; i < 8; i++) await client.track(`e${i}`, {}, AS_USER);
    expect(client.queueSize).toBe(5);
    const overflow = errors.filter((e) => e.code === 'queue_overflow');
    expect(overflow).toHaveLength(3);
    expect(overflow.reduce((sum, e) => sum + e.count, 0)).toBe(3);

    await client.flush();
    expect([...server.events.values()].map((e) => e.event)).toEqual(['e3', 'e4', 'e5', 'e6', 'e7']);
    const sentIds = new Set(server.acceptedIds);
    for (const error of overflow) for (const id of error.eventIds) expect(sentIds.has(id)).toBe(false);
  });

  it('stays bounded while offline however much is tracked', async () => {
    await server.stop();
    const { client, errors } = testClient(server.url, { maxQueueSize: 50, flushAt: 10 });
    for (let i = 0; i < 500; i++) await client.track(`e${i}`, {}, AS_USER);
    await client.flush();
    expect(client.queueSize).toBe(50);
    const dropped = errors.filter((e) => e.code === 'queue_overflow').reduce((sum, e) => sum + e.count, 0);
    expect(dropped).toBe(450);
  });
});

describe('persistence across page loads', () => {
  it('restores the queue on the next load and delivers it', async () => {
    const storage = new InspectableStorage();
    server.behaviour = { kind: 'fail', response: { status: 503 } };
    const first = testClient(server.url, { storage });
    await first.client.track('before-reload-1', {}, AS_USER);
    await first.client.track('before-reload-2', {}, AS_USER);
    await first.client.flush();
    expect(storedIds(storage)).toHaveLength(2);

    server.behaviour = { kind: 'normal' };
    const second = testClient(server.url, { storage }); // the reload
    expect(second.client.queueSize).toBe(2);
    second.timers.runNext(); // restored events go out on the flush timer
    await server.waitFor(() => server.events.size === 2, 'the restored events');
    await second.client.flush();
    expect([...server.events.values()].map((e) => e.event)).toEqual(['before-reload-1', 'before-reload-2']);
    expect(storedIds(storage)).toEqual([]);
  });

  it('keeps events persisted while their request is in flight; removes them only after the 2xx', async () => {
    const storage = new InspectableStorage();
    server.behaviour = { kind: 'hang' };
    const first = testClient(server.url, { storage });
    await first.client.track('a', {}, AS_USER);
    const ids = storedIds(storage);
    void first.client.flush();
    await server.waitFor(() => server.requests.length === 1, 'the request to be in flight');
    expect(storedIds(storage)).toEqual(ids); // in flight, not acknowledged: still on the device

    // The page reloads mid-flight: the request dies with the page; the server never answered.
    await server.stop();
    server.behaviour = { kind: 'normal' };
    await server.start();
    const second = testClient(server.url, { storage });
    await second.client.flush();
    expect(server.acceptedIds).toEqual(ids);
    expect(storedIds(storage)).toEqual([]);
  });

  it('never writes a plaintext email or phone to storage', async () => {
    const storage = new InspectableStorage();
    server.behaviour = { kind: 'fail', response: { status: 503 } };
    const { client } = testClient(server.url, { storage });
    await client.identify('u_1', { email: 'Person@Example.com', phone: '+1 (650) 555-1212' });
    await client.flush();
    expect(storedIds(storage)).toHaveLength(1);
    const dump = storage.dump().toLowerCase();
    expect(dump).not.toContain('person@example.com');
    expect(dump).not.toContain('555-1212');
    expect(dump).not.toContain('16505551212');
    expect(dump).not.toContain('@example');
    expect(dump).toContain('email_sha256');
  });

  it('two tabs of the same app do not erase each other’s pending events', async () => {
    const storage = new InspectableStorage();
    server.behaviour = { kind: 'fail', response: { status: 503 } };
    const tabA = testClient(server.url, { storage });
    const tabB = testClient(server.url, { storage });
    await tabA.client.track('from-a', {}, AS_USER);
    await tabB.client.track('from-b', {}, AS_USER);
    await tabA.client.track('from-a-2', {}, AS_USER);
    expect(storedIds(storage)).toHaveLength(3);

    server.behaviour = { kind: 'normal' };
    await tabA.client.flush(); // A delivers its own events and removes only those
    expect(storedIds(storage)).toHaveLength(1);
    const reload = testClient(server.url, { storage });
    await reload.client.flush();
    expect([...server.events.values()].map((e) => e.event).sort()).toEqual(['from-a', 'from-a-2', 'from-b']);
    expect(storedIds(storage)).toEqual([]);
  });

  it('reports a failing storage once and keeps delivering from memory', async () => {
    const storage = new InspectableStorage();
    storage.failWrites = true;
    const { client, errors } = testClient(server.url, { storage });
    await client.track('a', {}, AS_USER);
    await client.track('b', {}, AS_USER);
    await client.flush();
    expect(errors.map((e) => e.code)).toEqual(['storage_failed']);
    expect(server.events.size).toBe(2);
  });

  it('ignores a corrupted persisted queue instead of crashing the app', async () => {
    const storage = new InspectableStorage();
    storage.items.set(QUEUE_KEY, '{not json');
    const { client } = testClient(server.url, { storage });
    expect(client.queueSize).toBe(0);
    storage.items.set(QUEUE_KEY, JSON.stringify([{ nonsense: true }, 42]));
    expect(testClient(server.url, { storage }).client.queueSize).toBe(0);
  });

  it('keeps the anonymous id across page loads until reset(); an opt-out erases it', async () => {
    const storage = new InspectableStorage();
    const first = testClient(server.url, { storage });
    await first.client.track('anonymous');
    const anon = first.client.anonymousId;
    expect(testClient(server.url, { storage }).client.anonymousId).toBe(anon);
    first.client.reset();
    const afterReset = testClient(server.url, { storage }).client.anonymousId;
    expect(afterReset).not.toBe(anon);
    const optedOut = testClient(server.url, { storage });
    optedOut.client.optOut();
    expect([...storage.items.values()]).not.toContain(afterReset);
    optedOut.client.optIn();
    await first.client.flush();
    expect([...server.events.values()].map((e) => e.anonymous_id)).toEqual([anon]);
  });

  it('keeps the identified user across page loads until reset()', async () => {
    const storage = new InspectableStorage();
    const first = testClient(server.url, { storage });
    await first.client.identify('u_42');
    const second = testClient(server.url, { storage });
    await second.client.track('after-reload');
    second.client.reset();
    const third = testClient(server.url, { storage });
    await third.client.track('after-reset');
    await first.client.flush();
    await second.client.flush();
    await third.client.flush();
    const byName = new Map([...server.events.values()].map((e) => [e.event, e]));
    expect(byName.get('after-reload')?.user_id).toBe('u_42');
    // No user any more: sent with a fresh anonymous id, not the old user's.
    expect(byName.get('after-reset')?.user_id).toBeUndefined();
    expect(byName.get('after-reset')?.anonymous_id).toBe(third.client.anonymousId);
    expect(third.errors).toEqual([]);
  });
});
