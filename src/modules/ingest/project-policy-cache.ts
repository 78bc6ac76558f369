import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { IngestDal } from './ingest-dal.ts';

/**
 * What ingest needs to know about a project (is it active, hash or reject side-door PII), cached per
 * process for at most TTL_MS so that SDK traffic does not query the project on every request. A
 * project deleted or re-configured is therefore honoured by every process within 5 seconds.
 */
export type ProjectPolicy = { active: boolean; piiPolicy: 'hash' | 'reject' };

const TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

export function createProjectPolicyCache(deps: { db: Kysely<Database>; dal: IngestDal; now?: () => number }) {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { policy: ProjectPolicy | null; at: number }>();
  return {
    async get(orgId: string, projectId: string): Promise<ProjectPolicy | null> {
      const hit = cache.get(projectId);
      if (hit && now() - hit.at < TTL_MS) return hit.policy;
      const rows = await withTenant(deps.db, orgId, (tx) => deps.dal.projectPolicies(tx, orgId, [projectId]));
      const row = rows[0];
      const policy = row ? { active: row.status === 'active', piiPolicy: row.pii_policy } : null;
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(projectId, { policy, at: now() });
      return policy;
    },
    /** The process that changed a project forgets its cached policy at once. */
    forget(projectId: string) {
      cache.delete(projectId);
    },
  };
}

export type ProjectPolicyCache = ReturnType<typeof createProjectPolicyCache>;
