import { ageCutoff, monthCutoff } from '../../privacy/retention-clock.ts';
import type { ProfilesDal } from '../profiles/profiles-dal.ts';
import type { Partition, PurgeDal, RowFilter } from './purge-dal.ts';
import {
  type ClassPurger,
  type ClassPurgers,
  NOTHING_PURGED,
  type OverdueRows,
  type PurgeContext,
  type RetentionGroup,
} from './purge-types.ts';

/**
 * The purger of each purge kind the registry names (`DataClass.purge`). Each works on every table of
 * its class, so a table added to a class is purged without new code. All SQL is in the DALs.
 */
export function createClassPurgers(deps: { purgeDal: PurgeDal; profilesDal: ProfilesDal }): ClassPurgers {
  const { purgeDal, profilesDal } = deps;

  /** Purges rows whose clock column is before a per-group cutoff; the overdue count mirrors it. */
  function cutoffPurger(cutoffOf: (now: Date, ms: number) => Date): ClassPurger {
    const filters = (ctx: PurgeContext): RowFilter[] => {
      const column = clockColumn(ctx);
      return ctx.groups.flatMap((g) => {
        const at = cutoffOf(ctx.now, g.ms);
        return groupOrgs(g).map((orgId) => ({ ...orgId, before: { column, at } }));
      });
    };
    return {
      async purge(ctx) {
        let rows = 0;
        for (const table of ctx.cls.tables)
          for (const f of filters(ctx))
            rows += await purgeDal.deleteInBatches(ctx.db, table, f, ctx.batchSize);
        return { rows, partitions: [] };
      },
      async overdue(ctx) {
        const out: OverdueRows[] = [];
        for (const table of ctx.cls.tables) {
          let rows = 0;
          for (const f of filters(ctx)) rows += await purgeDal.count(ctx.db, table, f);
          out.push({ table, rows });
        }
        return out;
      },
    };
  }

  const deleteByMonth = cutoffPurger(monthCutoff);

  const expired = (ctx: PurgeContext): RowFilter => ({
    before: { column: clockColumn(ctx), at: ctx.now, inclusive: true },
  });

  /** Partitions ending at or before this instant have passed every org's retention. */
  function dropCutoff(ctx: PurgeContext): Date | null {
    if (ctx.groups.length === 0) return null;
    const longest = Math.max(...ctx.groups.map((g) => g.ms));
    return monthCutoff(ctx.now, longest);
  }

  function monthFilters(ctx: PurgeContext, p: Partition | null): RowFilter[] {
    const column = clockColumn(ctx);
    return ctx.groups.flatMap((g) => {
      const at = monthCutoff(ctx.now, g.ms);
      // A partition that starts at or after the cutoff cannot hold a row before it: skip it unread.
      if (p?.from && p.from.getTime() >= at.getTime()) return [];
      return groupOrgs(g).map((orgId) => ({ ...orgId, before: { column, at } }));
    });
  }

  async function deleteRowsPastMonth(ctx: PurgeContext, leaf: string, p: Partition | null) {
    let rows = 0;
    for (const f of monthFilters(ctx, p))
      rows += await purgeDal.deleteLeafInBatches(ctx.db, leaf, f, ctx.batchSize);
    return rows;
  }

  return {
    delete_by_age: cutoffPurger(ageCutoff),

    delete_by_month: deleteByMonth,

    /** The row carries the end of its own retention (written from the org's effective value). */
    delete_expired: {
      async purge(ctx) {
        let rows = 0;
        for (const table of ctx.cls.tables)
          rows += await purgeDal.deleteInBatches(ctx.db, table, expired(ctx), ctx.batchSize);
        return { rows, partitions: [] };
      },
      async overdue(ctx) {
        const out: OverdueRows[] = [];
        for (const table of ctx.cls.tables)
          out.push({ table, rows: await purgeDal.count(ctx.db, table, expired(ctx)) });
        return out;
      },
    },

    /**
     * A table partitioned by month: a partition every org's retention has passed is dropped whole (no
     * row is read); in the partitions that remain, the rows of orgs whose (shorter) contract retention
     * has passed them are deleted in batches. The default partition (months that had no partition of
     * their own) is always handled row by row.
     */
    drop_monthly_partitions: {
      async purge(ctx) {
        let rows = 0;
        const dropped: { name: string; estimatedRows: number }[] = [];
        for (const table of ctx.cls.tables) {
          const partitions = await purgeDal.listPartitions(ctx.db, table);
          if (partitions.length === 0) {
            // Not partitioned (yet): the same rule, row by row.
            for (const leaf of await purgeDal.leafTables(ctx.db, table))
              rows += await deleteRowsPastMonth(ctx, leaf, null);
            continue;
          }
          const dropBefore = dropCutoff(ctx);
          for (const p of partitions) {
            if (p.to !== null && dropBefore !== null && p.to.getTime() <= dropBefore.getTime()) {
              // Never deleted row by row: if the drop has to wait (busy parent), the next sweep drops it.
              const result = await purgeDal.dropPartition(ctx.db, p.name);
              if (result.dropped) dropped.push({ name: p.name, estimatedRows: result.estimatedRows });
              continue;
            }
            rows += await deleteRowsPastMonth(ctx, p.name, p);
          }
        }
        return { rows, partitions: dropped };
      },

      async overdue(ctx) {
        const out: OverdueRows[] = [];
        for (const table of ctx.cls.tables) {
          // Counted through the parent: the month condition lets PostgreSQL skip the partitions it rules out.
          let rows = 0;
          for (const f of monthFilters(ctx, null)) rows += await purgeDal.count(ctx.db, table, f);
          out.push({ table, rows });
        }
        return out;
      },
    },

    /**
     * Profiles whose last update is past retention are deleted (as delete_by_month); in the others,
     * each hashed identifier goes once the month of the latest event that carried it is past the same
     * cutoff that deletes that event (or drops its partition): "same as the event it rides on".
     */
    profiles_by_month: {
      async purge(ctx) {
        const deleted = await deleteByMonth.purge(ctx);
        for (const f of identifierFilters(ctx))
          await profilesDal.removeIdentifiersBefore(ctx.db, f, ctx.batchSize);
        return deleted;
      },
      async overdue(ctx) {
        let rows = 0;
        for (const f of identifierFilters(ctx)) rows += await profilesDal.countIdentifiersBefore(ctx.db, f);
        return [...(await deleteByMonth.overdue(ctx)), { table: 'user_profiles (hashed identifiers)', rows }];
      },
    },

    /** Purged only through its project or the end of the partnership, not by a clock. */
    none: {
      purge: async () => NOTHING_PURGED,
      overdue: async () => [],
    },
  };
}

function clockColumn(ctx: PurgeContext): string {
  const clock = ctx.cls.clock;
  if (!('column' in clock)) throw new Error(`data class ${ctx.cls.name} has no clock column`);
  return clock.column;
}

/**
 * One filter per org of a group (a group of several orgs is addressed org by org, so that every
 * statement can use the index that starts with org_id), or one for every org.
 */
function groupOrgs(group: RetentionGroup): { orgId?: string }[] {
  if (group.orgIds === null) return [{}];
  return group.orgIds.map((orgId) => ({ orgId }));
}

function identifierFilters(ctx: PurgeContext): { before: Date; orgId?: string }[] {
  return ctx.groups.flatMap((g) => {
    const before = monthCutoff(ctx.now, g.ms);
    return groupOrgs(g).map((o) => ({ ...o, before }));
  });
}
