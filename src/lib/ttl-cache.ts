/**
 * A per-process cache of values read from the database, each kept for at most `ttlMs`, so that hot
 * paths (SDK ingest) do not query on every request while every process still sees a change within
 * `ttlMs`.
 *
 * Concurrent misses for one key share a single load: when a hot entry expires under load, hundreds
 * of requests would otherwise each open a tenant transaction for the same answer and hold pool
 * connections that the group commit needs. `forget` makes the next read load afresh, even while an
 * older load is still under way (its answer is then handed to its waiters but not stored).
 */
export function createTtlCache<V>(opts: { ttlMs: number; maxEntries: number; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { value: V; loadedAt: number }>();
  const loads = new Map<string, Promise<V>>();

  return {
    get(key: string, load: () => Promise<V>): Promise<V> {
      const hit = entries.get(key);
      if (hit && now() - hit.loadedAt < opts.ttlMs) return Promise.resolve(hit.value);
      const running = loads.get(key);
      if (running) return running;
      // Aged from when the load began: the answer reflects the database at that moment, not later.
      const startedAt = now();
      const loading: Promise<V> = load().then(
        (value) => {
          if (loads.get(key) === loading) {
            loads.delete(key);
            if (entries.size >= opts.maxEntries) entries.clear();
            entries.set(key, { value, loadedAt: startedAt });
          }
          return value;
        },
        (error: unknown) => {
          if (loads.get(key) === loading) loads.delete(key);
          throw error;
        },
      );
      loads.set(key, loading);
      return loading;
    },

    /** The next `get` for this key loads afresh (the process that changed it must see it at once). */
    forget(key: string): void {
      entries.delete(key);
      loads.delete(key);
    },
  };
}

export type TtlCache<V> = ReturnType<typeof createTtlCache<V>>;
