import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import { createTtlCache } from '../../lib/ttl-cache.ts';
import type { IngestDal } from './ingest-dal.ts';

/**
 * What ingest needs to know about a project (is it active, hash or reject side-door PII), cached per
 * process for at most 5 seconds so that SDK traffic does not query the project on every request. A
 * project deleted or re-configured is therefore honoured by every process within 5 seconds.
 */
export type ProjectPolicy = { active: boolean; piiPolicy: 'hash' | 'reject' };

export function createProjectPolicyCache(deps: { db: Kysely<Database>; dal: IngestDal; now?: () => number }) {
  const cache = createTtlCache<ProjectPolicy | null>({
    ttlMs: 5_000,
    maxEntries: 10_000,
    ...(deps.now ? { now: deps.now } : {}),
  });
  return {
    get(orgId: string, projectId: string): Promise<ProjectPolicy | null> {
      return cache.get(projectId, async () => {
        const rows = await withTenant(deps.db, orgId, (tx) =>
          deps.dal.projectPolicies(tx, orgId, [projectId]),
        );
        const row = rows[0];
        return row ? { active: row.status === 'active', piiPolicy: row.pii_policy } : null;
      });
    },
  };
}

export type ProjectPolicyCache = ReturnType<typeof createProjectPolicyCache>;
