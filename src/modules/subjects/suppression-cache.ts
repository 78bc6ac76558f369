import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { DataSubjectRequestsDal } from './data-subject-requests-dal.ts';
import { suppressionHash } from './subject-hashes.ts';

/**
 * Which users of a project are suppressed (erased with `suppress=true`), cached per process for at
 * most TTL_MS: a suppression (or its lifting) is honoured by every process within 5 seconds, and by
 * the process that made it at once.
 */
const TTL_MS = 5_000;
const MAX_PROJECTS = 10_000;

export function createSuppressionCache(deps: {
  db: Kysely<Database>;
  dal: DataSubjectRequestsDal;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { hashes: Set<string>; at: number }>();

  async function hashesOf(orgId: string, projectId: string): Promise<Set<string>> {
    const hit = cache.get(projectId);
    if (hit && now() - hit.at < TTL_MS) return hit.hashes;
    const hashes = new Set(
      await withTenant(deps.db, orgId, (tx) => deps.dal.suppressedHashes(tx, orgId, projectId)),
    );
    if (cache.size >= MAX_PROJECTS) cache.clear();
    cache.set(projectId, { hashes, at: now() });
    return hashes;
  }

  return {
    async isSuppressed(orgId: string, projectId: string): Promise<(userId: string) => boolean> {
      const hashes = await hashesOf(orgId, projectId);
      if (hashes.size === 0) return () => false;
      return (userId) => hashes.has(suppressionHash(projectId, userId));
    },
    forget(projectId: string) {
      cache.delete(projectId);
    },
  };
}

export type SuppressionCache = ReturnType<typeof createSuppressionCache>;
