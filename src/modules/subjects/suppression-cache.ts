import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import { createTtlCache } from '../../lib/ttl-cache.ts';
import type { DataSubjectRequestsDal } from './data-subject-requests-dal.ts';
import { suppressionHash } from './subject-hashes.ts';

/**
 * Which users of a project are suppressed (erased with `suppress=true`), cached per process for at
 * most 5 seconds: a suppression (or its lifting) is honoured by every process within 5 seconds, and by
 * the process that made it at once.
 */
export function createSuppressionCache(deps: {
  db: Kysely<Database>;
  dal: DataSubjectRequestsDal;
  now?: () => number;
}) {
  const cache = createTtlCache<Set<string>>({
    ttlMs: 5_000,
    maxEntries: 10_000,
    ...(deps.now ? { now: deps.now } : {}),
  });

  return {
    async isSuppressed(orgId: string, projectId: string): Promise<(userId: string) => boolean> {
      const hashes = await cache.get(
        projectId,
        async () =>
          new Set(await withTenant(deps.db, orgId, (tx) => deps.dal.suppressedHashes(tx, orgId, projectId))),
      );
      if (hashes.size === 0) return () => false;
      return (userId) => hashes.has(suppressionHash(projectId, userId));
    },
    forget(projectId: string) {
      cache.forget(projectId);
    },
  };
}

export type SuppressionCache = ReturnType<typeof createSuppressionCache>;
