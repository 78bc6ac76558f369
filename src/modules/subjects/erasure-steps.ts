import { sql } from 'kysely';
import type { TenantDb } from '../../db/tenant-transaction.ts';
import { createIdempotencyDal } from '../../http/idempotency-dal.ts';

const idempotencyDal = createIdempotencyDal();

/**
 * What an erasure deletes, data class by data class. Each step deletes at most `limit` rows per call
 * and returns how many it deleted; the executor repeats a step until it deletes fewer than `limit`,
 * committing the count with each batch, so a crash loses neither rows nor receipt figures.
 *
 * Not listed, because they never hold a user id: the request log (route patterns only), the audit
 * log (request ids and hashes only), webhook payloads (ids and counts only).
 */
export type ErasureTarget = { orgId: string; projectId: string; userId: string };

export type ErasureStep = {
  dataClass: string;
  run(tx: TenantDb, target: ErasureTarget, limit: number): Promise<number>;
};

export const ERASURE_STEPS: readonly ErasureStep[] = [
  {
    // Events, with the hashed identifiers they carry.
    dataClass: 'sdk_events',
    async run(tx, t, limit) {
      const result = await sql`
        DELETE FROM sdk_events WHERE (project_id, event_id, received_month) IN (
          SELECT project_id, event_id, received_month FROM sdk_events
          WHERE org_id = ${t.orgId} AND project_id = ${t.projectId} AND user_id = ${t.userId} LIMIT ${limit})`.execute(
        tx,
      );
      return Number(result.numAffectedRows ?? 0);
    },
  },
  {
    // The current-state profile: merged traits and hashed identifiers.
    dataClass: 'user_profiles',
    async run(tx, t) {
      const result = await sql`
        DELETE FROM user_profiles WHERE org_id = ${t.orgId} AND project_id = ${t.projectId} AND user_id = ${t.userId}`.execute(
        tx,
      );
      return Number(result.numAffectedRows ?? 0);
    },
  },
  {
    // Replayable responses that name the user (e.g. a lookup's answer): the replay is given up.
    dataClass: 'idempotency_cache',
    // The idempotency cache's own DAL decides which envelopes name the user.
    run: (tx, t, limit) => idempotencyDal.deleteNamingSubject(tx, t, limit),
  },
];
