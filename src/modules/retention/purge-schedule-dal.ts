import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, OrgPurgeScheduleTable } from '../../db/schema.ts';

export type PurgeScheduleRow = Selectable<OrgPurgeScheduleTable>;

/**
 * When each data class of an offboarded org is (or was) purged. Rows are written at offboarding and
 * completed by the sweeper; they are the record that the deletion happened.
 */
export function createPurgeScheduleDal() {
  return {
    async insert(
      tx: Kysely<Database>,
      rows: { org_id: string; data_class: string; purge_at: Date; purged_at?: Date; rows_purged?: number }[],
    ): Promise<void> {
      if (rows.length === 0) return;
      await tx
        .insertInto('org_purge_schedule')
        .values(
          rows.map((r) => ({
            org_id: r.org_id,
            data_class: r.data_class,
            purge_at: r.purge_at,
            purged_at: r.purged_at ?? null,
            rows_purged: r.rows_purged ?? null,
          })),
        )
        .onConflict((oc) => oc.columns(['org_id', 'data_class']).doNothing())
        .execute();
    },

    async forOrg(db: Kysely<Database>, orgId: string): Promise<PurgeScheduleRow[]> {
      return db
        .selectFrom('org_purge_schedule')
        .selectAll()
        .where('org_id', '=', orgId)
        .orderBy('purge_at')
        .orderBy('data_class')
        .execute();
    },

    /** Entries whose time has come and that are not done yet. */
    async due(db: Kysely<Database>, now: Date): Promise<PurgeScheduleRow[]> {
      return db
        .selectFrom('org_purge_schedule')
        .selectAll()
        .where('purged_at', 'is', null)
        .where('purge_at', '<', now)
        .orderBy('purge_at')
        .execute();
    },

    async markPurged(db: Kysely<Database>, orgId: string, dataClass: string, at: Date, rows: number) {
      await db
        .updateTable('org_purge_schedule')
        .set({ purged_at: at, rows_purged: rows })
        .where('org_id', '=', orgId)
        .where('data_class', '=', dataClass)
        .where('purged_at', 'is', null)
        .execute();
    },

    /** Offboarded orgs with no schedule yet (offboarded before schedules existed, or by hand). */
    async offboardedWithoutSchedule(db: Kysely<Database>): Promise<{ id: string; offboarded_at: Date }[]> {
      const { rows } = await sql<{ id: string; offboarded_at: Date }>`
        SELECT o.id, o.offboarded_at FROM orgs o
        WHERE o.status = 'offboarded' AND o.offboarded_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM org_purge_schedule s WHERE s.org_id = o.id)`.execute(db);
      return rows;
    },
  };
}

export type PurgeScheduleDal = ReturnType<typeof createPurgeScheduleDal>;
