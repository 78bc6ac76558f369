import { sql } from 'kysely';
import { ageCutoff, monthCutoff } from '../../privacy/retention-clock.ts';
import {
  countWhere,
  deleteInBatches,
  deleteLeafInBatches,
  leafTables,
  orgFilter,
  type Where,
} from './batched-delete.ts';
import { dropPartition, listPartitions, type Partition } from './partitions.ts';
import {
  type ClassPurger,
  NOTHING_PURGED,
  type OverdueRows,
  type PurgeContext,
  type RetentionGroup,
} from './purge-types.ts';

/**
 * The purge code of each kind of retention clock (see RetentionClock in the registry). Each works on
 * every table of its class, so a table added to a class is purged without new code.
 */

function clockColumn(ctx: PurgeContext): string {
  const clock = ctx.cls.clock;
  if (!('column' in clock)) throw new Error(`data class ${ctx.cls.name} has no clock column`);
  return clock.column;
}

/**
 * One filter per org group. A group of several orgs is addressed org by org, so that every statement
 * can use the index that starts with org_id (every tenant table has one) instead of scanning.
 */
function groupFilters(group: RetentionGroup): Where[] {
  if (group.orgIds === null) return [sql`TRUE`];
  return group.orgIds.map((id) => orgFilter([id]));
}

/** Purges rows whose clock column is before a per-group cutoff; the overdue count mirrors it. */
function cutoffPurger(cutoffOf: (now: Date, ms: number) => Date): ClassPurger {
  const wheres = (ctx: PurgeContext): Where[] => {
    const column = sql.ref(clockColumn(ctx));
    return ctx.groups.flatMap((g) => {
      const cutoff = cutoffOf(ctx.now, g.ms);
      return groupFilters(g).map((f) => sql`${column} < ${cutoff} AND ${f}`);
    });
  };
  return {
    async purge(ctx) {
      let rows = 0;
      for (const table of ctx.cls.tables)
        for (const where of wheres(ctx)) rows += await deleteInBatches(ctx.db, table, where, ctx.batchSize);
      return { rows, partitions: [] };
    },
    async overdue(ctx) {
      const out: OverdueRows[] = [];
      for (const table of ctx.cls.tables) {
        let rows = 0;
        for (const where of wheres(ctx)) rows += await countWhere(ctx.db, table, where);
        out.push({ table, rows });
      }
      return out;
    },
  };
}

/** record_age: rows older than the org's retention. */
export const recordAgePurger = cutoffPurger(ageCutoff);

/** month_of_record: rows whose month ended more than the retention ago. */
export const monthOfRecordPurger = cutoffPurger(monthCutoff);

/** expiry: the row carries the end of its own retention (written from the org's effective value). */
export const expiryPurger: ClassPurger = {
  async purge(ctx) {
    const where = sql`${sql.ref(clockColumn(ctx))} <= ${ctx.now}`;
    let rows = 0;
    for (const table of ctx.cls.tables) rows += await deleteInBatches(ctx.db, table, where, ctx.batchSize);
    return { rows, partitions: [] };
  },
  async overdue(ctx) {
    const where = sql`${sql.ref(clockColumn(ctx))} <= ${ctx.now}`;
    const out: OverdueRows[] = [];
    for (const table of ctx.cls.tables) out.push({ table, rows: await countWhere(ctx.db, table, where) });
    return out;
  },
};

/** Classes purged only through their project or the end of the partnership, not by a clock. */
export const noClockPurger: ClassPurger = {
  purge: async () => NOTHING_PURGED,
  overdue: async () => [],
};

/**
 * month_of_receipt on a table partitioned by month: a partition every org's retention has passed is
 * dropped whole (no row is read); in the partitions that remain, the rows of orgs whose (shorter)
 * contract retention has passed them are deleted in batches. The default partition (months that had
 * no partition of their own) is always handled row by row.
 */
export const monthlyPartitionPurger: ClassPurger = {
  async purge(ctx) {
    const column = sql.ref(clockColumn(ctx));
    let rows = 0;
    const dropped: { name: string; estimatedRows: number }[] = [];
    for (const table of ctx.cls.tables) {
      const partitions = await listPartitions(ctx.db, table);
      if (partitions.length === 0) {
        // Not partitioned (yet): the same rule, row by row.
        for (const leaf of await leafTables(ctx.db, table))
          rows += await deleteRowsPastMonth(ctx, leaf, column, null);
        continue;
      }
      const dropBefore = dropCutoff(ctx);
      for (const p of partitions) {
        if (p.to !== null && dropBefore !== null && p.to.getTime() <= dropBefore.getTime()) {
          // Never deleted row by row: if the drop has to wait (busy parent), the next sweep drops it.
          const result = await dropPartition(ctx.db, p.name);
          if (result.dropped) dropped.push({ name: p.name, estimatedRows: result.estimatedRows });
          continue;
        }
        rows += await deleteRowsPastMonth(ctx, p.name, column, p);
      }
    }
    return { rows, partitions: dropped };
  },

  async overdue(ctx) {
    const column = sql.ref(clockColumn(ctx));
    const out: OverdueRows[] = [];
    for (const table of ctx.cls.tables) {
      // Counted through the parent: the month condition lets PostgreSQL skip the partitions it rules out.
      let rows = 0;
      for (const where of monthWheres(ctx, column, null)) rows += await countWhere(ctx.db, table, where);
      out.push({ table, rows });
    }
    return out;
  },
};

/** Partitions ending at or before this instant have passed every org's retention. */
function dropCutoff(ctx: PurgeContext): Date | null {
  if (ctx.groups.length === 0) return null;
  const longest = Math.max(...ctx.groups.map((g) => g.ms));
  return monthCutoff(ctx.now, longest);
}

function monthWheres(ctx: PurgeContext, column: ReturnType<typeof sql.ref>, p: Partition | null): Where[] {
  return ctx.groups.flatMap((g) => {
    const cutoff = monthCutoff(ctx.now, g.ms);
    // A partition that starts at or after the cutoff cannot hold a row before it: skip it unread.
    if (p?.from && p.from.getTime() >= cutoff.getTime()) return [];
    return groupFilters(g).map((f) => sql`${column} < ${cutoff} AND ${f}`);
  });
}

async function deleteRowsPastMonth(
  ctx: PurgeContext,
  leaf: string,
  column: ReturnType<typeof sql.ref>,
  p: Partition | null,
): Promise<number> {
  let rows = 0;
  for (const where of monthWheres(ctx, column, p))
    rows += await deleteLeafInBatches(ctx.db, leaf, where, ctx.batchSize);
  return rows;
}
