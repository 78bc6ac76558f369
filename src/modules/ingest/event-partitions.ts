import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { APP_ROLE, TENANT_SETTING } from '../../db/tenancy-sql.ts';

/**
 * `sdk_events` has one partition per month of receipt, so retention drops a month in one statement.
 * The keeper creates the current month and the next ones ahead of time, at boot and daily (the
 * `sdk_events.partitions` cron job); months it has not created yet fall into the default partition,
 * so an insert never fails for want of one. When it finds rows there (a keeper that did not run for
 * months), it moves them into their own month's partition in one transaction: none is lost, and the
 * month's partition can be created again.
 *
 * Runtime code owns this SQL: migrations are frozen once shipped, so nothing here imports them.
 */
export const MONTHS_AHEAD = 2;

const PARENT = 'sdk_events';
const DEFAULT_PARTITION = 'sdk_events_default';

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

type Db = Kysely<unknown> | Kysely<Database>;

/**
 * Moves any rows out of the default partition into their months' partitions, then creates the
 * partitions for `from`'s month and MONTHS_AHEAD after it; returns the partitions created.
 */
export async function ensureEventPartitions(db: Kysely<Database>, from: Date): Promise<string[]> {
  return db.transaction().execute(async (tx) => {
    // One keeper at a time across processes.
    await sql`SELECT pg_advisory_xact_lock(hashtext('layers:sdk_events:partitions'))`.execute(tx);
    const created = await moveDefaultRows(tx);
    for (let i = 0; i <= MONTHS_AHEAD; i++) {
      const month = addMonths(monthStart(from), i);
      const name = partitionName(month);
      if (await tableExists(tx, name)) continue;
      await createEventPartition(tx, month);
      created.push(name);
    }
    return created;
  });
}

/** The partition for `month`, with the parent's row-level security forced on it. */
export async function createEventPartition(db: Db, month: Date): Promise<void> {
  const name = partitionName(month);
  await sql`
    CREATE TABLE ${sql.table(name)} PARTITION OF ${sql.table(PARENT)}
    FOR VALUES FROM (${sql.lit(isoDate(month))}) TO (${sql.lit(isoDate(addMonths(month, 1)))})`.execute(db);
  await protectEventPartition(db, name);
}

/** Every partition gets the parent's RLS, forced, so that even direct access is tenant-scoped. */
export async function protectEventPartition(db: Db, partition: string): Promise<void> {
  await sql`ALTER TABLE ${sql.table(partition)} ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`ALTER TABLE ${sql.table(partition)} FORCE ROW LEVEL SECURITY`.execute(db);
  await sql`
    CREATE POLICY tenant_isolation ON ${sql.table(partition)}
    USING (org_id = current_setting(${sql.lit(TENANT_SETTING)}, true))
    WITH CHECK (org_id = current_setting(${sql.lit(TENANT_SETTING)}, true))`.execute(db);
  await sql`REVOKE ALL ON ${sql.table(partition)} FROM ${sql.id(APP_ROLE)}`.execute(db);
}

async function tableExists(db: Db, name: string): Promise<boolean> {
  const { rows } = await sql<{ exists: boolean }>`SELECT to_regclass(${name}) IS NOT NULL AS exists`.execute(
    db,
  );
  return rows[0]?.exists === true;
}

/**
 * Rows in the default partition block creating their month's partition. For each such month: a new
 * table shaped like the parent, the rows copied in and deleted from the default partition, then the
 * table attached as the month's partition (which builds the parent's indexes, the primary key with
 * them). All inside the caller's transaction, with the default partition locked against inserts, so
 * a row is either still in the default partition or in its month's, never in neither.
 * The system connection bypasses RLS (checked at boot), so every org's rows are seen.
 */
async function moveDefaultRows(db: Db): Promise<string[]> {
  const { rows: any } = await sql`SELECT 1 FROM ${sql.table(DEFAULT_PARTITION)} LIMIT 1`.execute(db);
  if (any.length === 0) return [];
  await sql`LOCK TABLE ${sql.table(DEFAULT_PARTITION)} IN ACCESS EXCLUSIVE MODE`.execute(db);
  const { rows: months } = await sql<{ month: string }>`
    SELECT DISTINCT to_char(received_month, 'YYYY-MM-01') AS month
    FROM ${sql.table(DEFAULT_PARTITION)} ORDER BY 1`.execute(db);
  const { rows: cols } = await sql<{ list: string }>`
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS list FROM pg_attribute
    WHERE attrelid = ${PARENT}::regclass AND attnum > 0 AND NOT attisdropped`.execute(db);
  const columns = sql.raw(cols[0]?.list ?? '*');
  const moved: string[] = [];
  for (const { month: raw } of months) {
    const month = new Date(`${raw}T00:00:00Z`);
    const name = partitionName(month);
    const from = sql.lit(isoDate(month));
    const to = sql.lit(isoDate(addMonths(month, 1)));
    await sql`CREATE TABLE ${sql.table(name)} (LIKE ${sql.table(PARENT)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`.execute(
      db,
    );
    await sql`
      WITH gone AS (
        DELETE FROM ${sql.table(DEFAULT_PARTITION)} WHERE received_month >= ${from} AND received_month < ${to}
        RETURNING ${columns})
      INSERT INTO ${sql.table(name)} (${columns}) SELECT ${columns} FROM gone`.execute(db);
    await sql`ALTER TABLE ${sql.table(PARENT)} ATTACH PARTITION ${sql.table(name)} FOR VALUES FROM (${from}) TO (${to})`.execute(
      db,
    );
    await protectEventPartition(db, name);
    moved.push(name);
  }
  return moved;
}
