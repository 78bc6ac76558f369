import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { OrgOverrides, OverrideRow } from '../../privacy/retention-policy.ts';

/** Per-org contract retention values (partner tier), one row per adjusted data class. */
export function createRetentionOverridesDal() {
  return {
    /** One org's values (tenant transaction or system connection). */
    async forOrg(tx: Kysely<Database>, orgId: string): Promise<OrgOverrides> {
      const rows = await tx
        .selectFrom('retention_overrides')
        .select(['data_class', 'retention_ms'])
        .where('org_id', '=', orgId)
        .execute();
      return new Map(rows.map((r) => [r.data_class, Number(r.retention_ms)]));
    },

    /** Every org's values (system connection: the sweeper). */
    async all(db: Kysely<Database>): Promise<OverrideRow[]> {
      const rows = await db
        .selectFrom('retention_overrides')
        .select(['org_id', 'data_class', 'retention_ms'])
        .execute();
      return rows.map((r) => ({
        org_id: r.org_id,
        data_class: r.data_class,
        retention_ms: Number(r.retention_ms),
      }));
    },

    /** Replaces an org's whole set of values (PUT semantics). */
    async replace(tx: Kysely<Database>, orgId: string, values: OrgOverrides, at: Date): Promise<void> {
      await tx.deleteFrom('retention_overrides').where('org_id', '=', orgId).execute();
      if (values.size === 0) return;
      await tx
        .insertInto('retention_overrides')
        .values(
          [...values].map(([data_class, ms]) => ({
            org_id: orgId,
            data_class,
            retention_ms: ms,
            updated_at: at,
          })),
        )
        .execute();
    },
  };
}

export type RetentionOverridesDal = ReturnType<typeof createRetentionOverridesDal>;
