import { type Kysely, sql } from 'kysely';
import { protectPartition } from '../../db/migrations/0002-sdk-events.ts';
import type { Database } from '../../db/schema.ts';

/**
 * `sdk_events` has one partition per month of receipt, so retention drops a month in one statement.
 * The keeper creates the current month and the next ones ahead of time (at boot and daily); months it
 * has not created yet fall into the default partition, so an insert never fails for want of one.
 */
export const MONTHS_AHEAD = 2;

export function monthStart(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

export function addMonths(d: Date, n: number): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
}

export function partitionName(month: Date): string {
  return `sdk_events_${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

const isoDate = (d: Date) => d.toISOString().slice(0, 10);

/** Creates the partitions for `from`'s month and MONTHS_AHEAD after it; returns the ones created. */
export async function ensureEventPartitions(db: Kysely<Database>, from: Date): Promise<string[]> {
  return db.transaction().execute(async (tx) => {
    // One keeper at a time across processes.
    await sql`SELECT pg_advisory_xact_lock(hashtext('layers:sdk_events:partitions'))`.execute(tx);
    const created: string[] = [];
    for (let i = 0; i <= MONTHS_AHEAD; i++) {
      const month = addMonths(monthStart(from), i);
      const name = partitionName(month);
      const { rows } = await sql<{
        exists: boolean;
      }>`SELECT to_regclass(${name}) IS NOT NULL AS exists`.execute(tx);
      if (rows[0]?.exists) continue;
      await createEventPartition(tx, month);
      created.push(name);
    }
    return created;
  });
}

/** The partition for `month`, with the parent's row-level security forced on it. */
export async function createEventPartition(
  db: Kysely<unknown> | Kysely<Database>,
  month: Date,
): Promise<void> {
  const name = partitionName(month);
  await sql`
    CREATE TABLE ${sql.table(name)} PARTITION OF sdk_events
    FOR VALUES FROM (${sql.lit(isoDate(month))}) TO (${sql.lit(isoDate(addMonths(month, 1)))})`.execute(db);
  await protectPartition(db as Kysely<unknown>, name);
}
