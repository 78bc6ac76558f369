import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import { createTtlCache } from '../../lib/ttl-cache.ts';
import type { ForwardTarget } from '../destinations/forward-builder.ts';
import type { IngestDal } from './ingest-dal.ts';

/**
 * What ingest needs to know about a project (is it active, hash or reject side-door PII), cached per
 * process for at most 5 seconds so that SDK traffic does not query the project on every request. A
 * project deleted or re-configured is therefore honoured by every process within 5 seconds.
 */
export type ProjectPolicy = {
  active: boolean;
  piiPolicy: 'hash' | 'reject';
  /**
   * The project's enabled Conversions API destinations (empty for most projects: then ingest builds
   * no forward rows and writes as before). Read with the policy, so it costs no query per request;
   * a destination enabled, disabled or paused is honoured by every process within the same 5 s.
   */
  destinations: readonly ForwardTarget[];
};

export function createProjectPolicyCache(deps: {
  db: Kysely<Database>;
  dal: IngestDal;
  now?: () => number;
  /** The project's enabled destinations, read in the same tenant transaction as the policy. */
  forwardTargets?: (tx: Kysely<Database>, orgId: string, projectId: string) => Promise<ForwardTarget[]>;
}) {
  const cache = createTtlCache<ProjectPolicy | null>({
    ttlMs: 5_000,
    maxEntries: 10_000,
    ...(deps.now ? { now: deps.now } : {}),
  });
  return {
    get(orgId: string, projectId: string): Promise<ProjectPolicy | null> {
      return cache.get(projectId, async () => {
        const [rows, destinations] = await withTenant(deps.db, orgId, async (tx) => [
          await deps.dal.projectPolicies(tx, orgId, [projectId]),
          deps.forwardTargets ? await deps.forwardTargets(tx, orgId, projectId) : [],
        ]);
        const row = rows[0];
        return row ? { active: row.status === 'active', piiPolicy: row.pii_policy, destinations } : null;
      });
    },
  };
}

export type ProjectPolicyCache = ReturnType<typeof createProjectPolicyCache>;
