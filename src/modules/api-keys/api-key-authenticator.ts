import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { KeyType } from './api-key-format.ts';

/**
 * Resolves a key hash to its key, with a per-process cache so that authenticated requests cost no
 * query. Staleness is bounded: every REVOCATION_POLL_MS one query asks which cached keys were revoked
 * (or whose org was offboarded) and evicts them, so a key revoked in any process is refused by every
 * process within ~2 s (the promise is 5 s). The process that revokes evicts at once.
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
const NEGATIVE_TTL_MS = 4_000;
const MAX_ENTRIES = 50_000;
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
    if (cache.size >= MAX_ENTRIES) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(hash, lookup);
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
      const ttl = lookup?.key ? POSITIVE_TTL_MS : NEGATIVE_TTL_MS;
      if (!lookup || now() - lookup.fetchedAt > ttl) {
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
  };
}

export type ApiKeyAuthenticator = ReturnType<typeof createApiKeyAuthenticator>;
