import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { KeyType } from './api-key-format.ts';

/**
 * Resolves a key hash to its key, with a per-process cache so that authenticated requests cost no
 * query. Staleness is bounded: every REVOCATION_POLL_MS one query asks which cached keys were revoked
 * (or whose org was offboarded) and evicts them, so a key revoked in any process is refused by every
 * process within ~2 s (the promise is 5 s). The process that revokes evicts at once.
 *
 * Keys that do not exist cost no lookup: each process holds the set of every stored key hash (its
 * first 64 bits, ~100 bytes a key), loaded once and then extended from a commit-ordered feed
 * (`auth_api_key_prefixes_since`, migration 0009: the keys committed since the snapshot of the last
 * read, exactly). A well-formed key outside the set waits for the next refresh of the set — at most one
 * in flight, at most one per REFRESH_MIN_INTERVAL_MS, shared by every request waiting — and is refused
 * if it is still outside, so a flood of random keys costs a few small queries a second, not one each.
 * A key created a moment ago in another process is found by that refresh (it began after the key had
 * committed). Unknown keys are remembered in their own bounded cache, so they never evict real keys.
 *
 * `last_used_at` is kept without a write per request: used key ids are collected and written in one
 * statement every TOUCH_FLUSH_MS (and at shutdown).
 */
export type AuthenticatedKey = {
  id: string;
  orgId: string;
  projectId: string | null;
  type: KeyType;
};

type Lookup = { key: AuthenticatedKey | null; revoked: boolean; fetchedAt: number };

export const REVOCATION_POLL_MS = 2_000;
const POSITIVE_TTL_MS = 10 * 60_000;
const NEGATIVE_TTL_MS = 60_000;
const MAX_ENTRIES = 50_000;
const MAX_NEGATIVE_ENTRIES = 10_000;
const REFRESH_MIN_INTERVAL_MS = 25;
const PREFIX_CHARS = 16;
const TOUCH_FLUSH_MS = 30_000;

export type KeyCheck =
  | { status: 'ok'; key: AuthenticatedKey }
  | { status: 'unknown' }
  | { status: 'revoked' };

export function createApiKeyAuthenticator({
  db,
  now = Date.now,
}: {
  db: Kysely<Database>;
  now?: () => number;
}) {
  const cache = new Map<string, Lookup>();
  const unknown = new Map<string, number>(); // hash → when it was found not to exist
  const known = new Set<string>(); // the first PREFIX_CHARS of every stored key hash
  let snapshot: string | null = null; // the set holds every key committed before this snapshot
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  let lastRefreshAt = Number.NEGATIVE_INFINITY;
  const touched = new Set<string>();
  let pollTimer: NodeJS.Timeout | undefined;
  let touchTimer: NodeJS.Timeout | undefined;

  async function fetch(hash: string): Promise<Lookup> {
    const { rows } = await sql<{
      id: string;
      org_id: string;
      project_id: string | null;
      type: KeyType;
      revoked: boolean;
      org_active: boolean;
    }>`SELECT * FROM auth_find_api_key(${hash})`.execute(db);
    const row = rows[0];
    if (!row) return { key: null, revoked: false, fetchedAt: now() };
    const revoked = row.revoked || !row.org_active;
    return {
      key: { id: row.id, orgId: row.org_id, projectId: row.project_id, type: row.type },
      revoked,
      fetchedAt: now(),
    };
  }

  function remember(hash: string, lookup: Lookup) {
    if (!lookup.key) {
      cache.delete(hash);
      if (unknown.size >= MAX_NEGATIVE_ENTRIES) {
        const oldest = unknown.keys().next().value;
        if (oldest !== undefined) unknown.delete(oldest);
      }
      unknown.set(hash, lookup.fetchedAt);
      return;
    }
    if (cache.size >= MAX_ENTRIES && !cache.has(hash)) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(hash, lookup);
  }

  async function refreshKnown(): Promise<void> {
    const { rows } = await sql<{ snapshot: string; prefixes: string[] }>`
      SELECT * FROM auth_api_key_prefixes_since(${snapshot})`.execute(db);
    const row = rows[0];
    if (!row) return;
    for (const prefix of row.prefixes) known.add(prefix);
    snapshot = row.snapshot;
  }

  /**
   * Resolves once a refresh of the known set that started after this call has finished. Callers
   * arriving together share one; the interval between starts is measured on the monotonic clock
   * (never the injected one, which tests may hold still).
   */
  function refreshAfterNow(): Promise<void> {
    next ??= (async () => {
      await running?.catch(() => undefined);
      const wait = lastRefreshAt + REFRESH_MIN_INTERVAL_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      next = undefined;
      lastRefreshAt = performance.now();
      running = refreshKnown();
      await running;
    })();
    return next;
  }

  async function mayExist(hash: string): Promise<boolean> {
    const prefix = hash.slice(0, PREFIX_CHARS);
    if (known.has(prefix)) return true;
    await refreshAfterNow();
    return known.has(prefix);
  }

  async function pollRevocations(): Promise<void> {
    const live = new Map<string, string>();
    for (const [hash, lookup] of cache) if (lookup.key && !lookup.revoked) live.set(lookup.key.id, hash);
    if (live.size === 0) return;
    const { rows } = await sql<{
      id: string;
    }>`SELECT auth_revoked_api_keys(${[...live.keys()]}) AS id`.execute(db);
    for (const { id } of rows) {
      const hash = live.get(id);
      const entry = hash === undefined ? undefined : cache.get(hash);
      if (entry) entry.revoked = true;
    }
  }

  async function flushTouched(): Promise<void> {
    if (touched.size === 0) return;
    const ids = [...touched];
    touched.clear();
    await sql`SELECT auth_touch_api_keys(${ids}, ${new Date(now())})`.execute(db);
  }

  return {
    async check(hash: string): Promise<KeyCheck> {
      let lookup = cache.get(hash);
      if (!lookup || now() - lookup.fetchedAt > POSITIVE_TTL_MS) {
        const missingSince = unknown.get(hash);
        if (missingSince !== undefined && now() - missingSince <= NEGATIVE_TTL_MS)
          return { status: 'unknown' };
        if (!lookup && !(await mayExist(hash))) {
          remember(hash, { key: null, revoked: false, fetchedAt: now() });
          return { status: 'unknown' };
        }
        lookup = await fetch(hash);
        remember(hash, lookup);
      }
      if (!lookup.key) return { status: 'unknown' };
      if (lookup.revoked) return { status: 'revoked' };
      touched.add(lookup.key.id);
      return { status: 'ok', key: lookup.key };
    },

    /** Called by the process that revokes, so it refuses the key at once. */
    evict(keyIds: string[]) {
      const ids = new Set(keyIds);
      for (const lookup of cache.values()) if (lookup.key && ids.has(lookup.key.id)) lookup.revoked = true;
    },

    start() {
      // Load the known set before the first request needs it (a failure here is retried on demand).
      void refreshAfterNow().catch(() => undefined);
      pollTimer = setInterval(() => void pollRevocations().catch(() => undefined), REVOCATION_POLL_MS);
      touchTimer = setInterval(() => void flushTouched().catch(() => undefined), TOUCH_FLUSH_MS);
      pollTimer.unref();
      touchTimer.unref();
    },

    async stop() {
      clearInterval(pollTimer);
      clearInterval(touchTimer);
      await flushTouched().catch(() => undefined);
    },

    pollRevocations,
    flushTouched,
    /** How many cached lookups: of keys that exist, and of keys found not to. */
    cacheSizes: () => ({ keys: cache.size, unknown: unknown.size }),
  };
}

export type ApiKeyAuthenticator = ReturnType<typeof createApiKeyAuthenticator>;
