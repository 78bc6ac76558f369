import { sql } from 'kysely';
import type { TenantDb } from '../../db/tenant-transaction.ts';

export type ErasureTarget = { orgId: string; projectId: string; userId: string };

/**
 * The deletes an erasure is made of, for the data this module erases itself (events and profiles):
 * each takes the erasure's tenant transaction and returns how many rows it deleted.
 */
export function createErasureDal() {
  return {
    /**
     * At most `limit` of the user's events, with the hashed identifiers they carry: those sent with the
     * user id, and the anonymous ones of every anonymous id linked to the user (deleted before the links).
     */
    async deleteUserEvents(tx: TenantDb, t: ErasureTarget, limit: number): Promise<number> {
      const result = await sql`
        DELETE FROM sdk_events WHERE (project_id, event_id, received_month) IN (
          SELECT * FROM (
            (SELECT project_id, event_id, received_month FROM sdk_events
             WHERE org_id = ${t.orgId} AND project_id = ${t.projectId} AND user_id = ${t.userId} LIMIT ${limit})
            UNION ALL
            (SELECT e.project_id, e.event_id, e.received_month FROM anonymous_ids a JOIN sdk_events e
               ON e.org_id = a.org_id AND e.project_id = a.project_id AND e.anonymous_id = a.anonymous_id
               AND e.user_id IS NULL
             WHERE a.org_id = ${t.orgId} AND a.project_id = ${t.projectId} AND a.user_id = ${t.userId} LIMIT ${limit})
          ) batch LIMIT ${limit})`.execute(tx);
      return Number(result.numAffectedRows ?? 0);
    },

    /** The anonymous ids linked to the user (for their suppression). */
    async linkedAnonymousIds(tx: TenantDb, t: ErasureTarget): Promise<string[]> {
      const rows = await tx
        .selectFrom('anonymous_ids')
        .select('anonymous_id')
        .where('org_id', '=', t.orgId)
        .where('project_id', '=', t.projectId)
        .where('user_id', '=', t.userId)
        .execute();
      return rows.map((r) => r.anonymous_id);
    },

    /** The anonymous ids linked to the user (after their events: the events are found through them). */
    async deleteAnonymousLinks(tx: TenantDb, t: ErasureTarget): Promise<number> {
      const result = await tx
        .deleteFrom('anonymous_ids')
        .where('org_id', '=', t.orgId)
        .where('project_id', '=', t.projectId)
        .where('user_id', '=', t.userId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    /** The user's current-state profile: merged traits and hashed identifiers. */
    async deleteUserProfile(tx: TenantDb, t: ErasureTarget): Promise<number> {
      const result = await tx
        .deleteFrom('user_profiles')
        .where('org_id', '=', t.orgId)
        .where('project_id', '=', t.projectId)
        .where('user_id', '=', t.userId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type ErasureDal = ReturnType<typeof createErasureDal>;
