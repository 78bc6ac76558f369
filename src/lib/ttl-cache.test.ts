import { describe, expect, it } from 'vitest';
import { createTtlCache } from './ttl-cache.ts';

/** A load the test finishes by hand, counting how often it was started. */
function manualLoads<V>() {
  const pending: Array<{ resolve: (v: V) => void; reject: (e: unknown) => void }> = [];
  return {
    started: () => pending.length,
    load: () => new Promise<V>((resolve, reject) => pending.push({ resolve, reject })),
    finish: (i: number, v: V) => pending[i]?.resolve(v),
    fail: (i: number, e: unknown) => pending[i]?.reject(e),
  };
}

describe('createTtlCache', () => {
  it('shares one load between concurrent misses for a key', async () => {
    const cache = createTtlCache<string>({ ttlMs: 5_000, maxEntries: 10 });
    const loads = manualLoads<string>();
    const reads = Array.from({ length: 100 }, () => cache.get('p1', loads.load));
    expect(loads.started()).toBe(1);
    loads.finish(0, 'v1');
    expect(new Set(await Promise.all(reads))).toEqual(new Set(['v1']));
  });

  it('keeps a value for ttlMs from when its load began, then loads again', async () => {
    let clock = 0;
    const cache = createTtlCache<number>({ ttlMs: 5_000, maxEntries: 10, now: () => clock });
    let loads = 0;
    const load = async () => {
      loads += 1;
      clock += 1_000; // the load itself takes a second
      return loads;
    };
    expect(await cache.get('k', load)).toBe(1);
    clock = 4_999;
    expect(await cache.get('k', load)).toBe(1);
    clock = 5_000;
    expect(await cache.get('k', load)).toBe(2);
  });

  it('forget makes the next read load afresh, and a load begun before it is not stored', async () => {
    const cache = createTtlCache<string>({ ttlMs: 5_000, maxEntries: 10 });
    const loads = manualLoads<string>();
    const before = cache.get('k', loads.load);
    cache.forget('k');
    const after = cache.get('k', loads.load);
    expect(loads.started()).toBe(2);
    // The newer load finishes first: the older one must not overwrite its answer.
    loads.finish(1, 'fresh');
    expect(await after).toBe('fresh');
    loads.finish(0, 'stale');
    expect(await before).toBe('stale');
    expect(await cache.get('k', loads.load)).toBe('fresh');
    expect(loads.started()).toBe(2);
  });

  it('does not keep a failed load: its waiters see the error and the next read retries', async () => {
    const cache = createTtlCache<string>({ ttlMs: 5_000, maxEntries: 10 });
    const loads = manualLoads<string>();
    const first = cache.get('k', loads.load);
    const second = cache.get('k', loads.load);
    loads.fail(0, new Error('database down'));
    await expect(first).rejects.toThrow('database down');
    await expect(second).rejects.toThrow('database down');
    const retry = cache.get('k', loads.load);
    expect(loads.started()).toBe(2);
    loads.finish(1, 'ok');
    expect(await retry).toBe('ok');
  });

  it('holds at most maxEntries keys', async () => {
    const cache = createTtlCache<number>({ ttlMs: 5_000, maxEntries: 2 });
    let loads = 0;
    const load = async () => ++loads;
    await cache.get('a', load);
    await cache.get('b', load);
    await cache.get('c', load); // full: starts over
    await cache.get('c', load);
    expect(loads).toBe(3);
    await cache.get('a', load);
    expect(loads).toBe(4);
  });
});
