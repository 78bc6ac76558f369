import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { TenantScope } from '../../lib/scope.ts';
import { DATA_CLASSES, type DataClass } from '../../privacy/data-classes.ts';
import { type OrgOverrides, partnershipEndDelayMs } from '../../privacy/retention-policy.ts';
import type { PurgeDal } from './purge-dal.ts';
import { deletionOrder } from './purge-order.ts';
import type { PurgeScheduleDal, PurgeScheduleRow } from './purge-schedule-dal.ts';
import type { RetentionOverridesDal } from './retention-overrides-dal.ts';

/**
 * What happens to an org's data when its partnership ends, class by class, as the registry says:
 * classes marked `immediately` (OAuth tokens, device ids waiting to be forwarded) are deleted in the
 * offboarding transaction itself; every other class gets a scheduled purge date, which the sweeper
 * honours; `kept` classes (deletion records) stay. Because this walks every class and every table of
 * each, a table added to a class later (the social-accounts table, say) is covered without new code.
 */
export type PartnershipEndSummary = {
  deleted_now: Record<string, number>;
  scheduled: Record<string, string>;
};

export type PurgeStatusEntry = {
  data_class: string;
  status: 'purged' | 'scheduled' | 'kept';
  purge_at: string | null;
  purged_at: string | null;
  rows_purged: number | null;
};

export type PurgeStatus = {
  partnership_ended_at: string;
  complete: boolean;
  data_classes: PurgeStatusEntry[];
};

export function createPartnershipEnd(deps: {
  overridesDal: RetentionOverridesDal;
  scheduleDal: PurgeScheduleDal;
  purgeDal: PurgeDal;
  /** The registry (tests pass one with a class whose table does not exist in production yet). */
  classes?: readonly DataClass[];
  /**
   * Run in the offboarding transaction before the `immediately` classes are deleted: modules whose
   * rows need more than a delete (social accounts revoke their grants at the platforms) do it here.
   */
  beforeImmediateDelete?: (scope: TenantScope) => Promise<void>;
}) {
  const { overridesDal, scheduleDal, purgeDal } = deps;
  const classes = deps.classes ?? DATA_CLASSES;

  /** Deletes every row of `classes` for one org, in foreign-key order, in the caller's transaction. */
  async function deleteNow(tx: Kysely<Database>, orgId: string, cls: DataClass): Promise<number> {
    let rows = 0;
    for (const table of deletionOrder(await purgeDal.foreignKeys(tx), cls.tables))
      rows += await purgeDal.deleteAll(tx, table, { orgId });
    return rows;
  }

  async function schedule(
    tx: Kysely<Database>,
    orgId: string,
    endedAt: Date,
    overrides: OrgOverrides,
    deleteImmediately: boolean,
  ): Promise<PartnershipEndSummary> {
    const summary: PartnershipEndSummary = { deleted_now: {}, scheduled: {} };
    const rows: Parameters<PurgeScheduleDal['insert']>[1] = [];
    for (const cls of classes) {
      const delay = partnershipEndDelayMs(cls, overrides);
      if (delay === null) continue;
      if (delay === 0 && deleteImmediately) {
        const n = await deleteNow(tx, orgId, cls);
        summary.deleted_now[cls.name] = n;
        rows.push({
          org_id: orgId,
          data_class: cls.name,
          purge_at: endedAt,
          purged_at: endedAt,
          rows_purged: n,
        });
        continue;
      }
      const purgeAt = new Date(endedAt.getTime() + delay);
      summary.scheduled[cls.name] = purgeAt.toISOString();
      rows.push({ org_id: orgId, data_class: cls.name, purge_at: purgeAt });
    }
    await scheduleDal.insert(tx, rows);
    return summary;
  }

  return {
    /** Called inside the offboarding transaction (system connection, tenant scope of the org). */
    async onOffboard(scope: TenantScope): Promise<PartnershipEndSummary> {
      const overrides = await overridesDal.forOrg(scope.tx, scope.orgId);
      await deps.beforeImmediateDelete?.(scope);
      return schedule(scope.tx, scope.orgId, scope.now, overrides, true);
    },

    /**
     * For an org offboarded without a schedule (before this existed): schedules every class from the
     * original end date; what was due at once is due now and the sweeper purges it on this run.
     */
    async ensureSchedule(db: Kysely<Database>, orgId: string, endedAt: Date): Promise<void> {
      const overrides = await overridesDal.forOrg(db, orgId);
      await schedule(db, orgId, endedAt, overrides, false);
    },

    /** What is pending and when, for the operator. Null while the partnership runs. */
    async status(
      db: Kysely<Database>,
      org: { id: string; status: string; offboarded_at: Date | null },
    ): Promise<PurgeStatus | null> {
      if (org.status !== 'offboarded' || !org.offboarded_at) return null;
      const rows = await scheduleDal.forOrg(db, org.id);
      const byClass = new Map<string, PurgeScheduleRow>(rows.map((r) => [r.data_class, r]));
      const entries: PurgeStatusEntry[] = classes.map((cls) => {
        const row = byClass.get(cls.name);
        if (!row)
          return { data_class: cls.name, status: 'kept', purge_at: null, purged_at: null, rows_purged: null };
        return {
          data_class: cls.name,
          status: row.purged_at ? 'purged' : 'scheduled',
          purge_at: row.purge_at.toISOString(),
          purged_at: row.purged_at ? row.purged_at.toISOString() : null,
          rows_purged: row.rows_purged === null ? null : Number(row.rows_purged),
        };
      });
      return {
        partnership_ended_at: org.offboarded_at.toISOString(),
        complete: entries.every((e) => e.status !== 'scheduled'),
        data_classes: entries,
      };
    },
  };
}

export type PartnershipEnd = ReturnType<typeof createPartnershipEnd>;
