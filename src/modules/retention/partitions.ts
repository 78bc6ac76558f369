import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';

/**
 * The partitions of a range-partitioned table with their bounds, read from the catalog, and the drop
 * of one partition: a catalog change that frees the month's files without reading a single row.
 */
export type Partition = {
  name: string;
  /** Inclusive lower bound; null for the default partition. */
  from: Date | null;
  /** Exclusive upper bound; null for the default partition. */
  to: Date | null;
};

const RANGE = /^FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)$/;

export async function listPartitions(db: Kysely<Database>, table: string): Promise<Partition[]> {
  const { rows } = await sql<{ name: string; bound: string }>`
    SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = ${table}::regclass
    ORDER BY c.relname`.execute(db);
  return rows.map(({ name, bound }) => {
    const range = RANGE.exec(bound);
    if (!range) return { name, from: null, to: null };
    return { name, from: parseBound(range[1] as string), to: parseBound(range[2] as string) };
  });
}

function parseBound(value: string): Date {
  const date = new Date(`${value.slice(0, 10)}T00:00:00.000Z`);
  if (Number.isNaN(date.getTime())) throw new Error('unexpected partition bound');
  return date;
}

/** How long a drop may wait for the parent's lock before it gives up until the next sweep. */
const LOCK_TIMEOUT = '2s';
const ATTEMPTS = 3;

/**
 * Drops one partition. Dropping needs a brief exclusive lock on the parent, so it waits at most
 * LOCK_TIMEOUT (never stalling ingest behind a long query) and retries; if the lock stays busy the
 * partition is left for the next sweep. A per-partition advisory lock and an existence check make a
 * concurrent drop count once.
 */
export async function dropPartition(
  db: Kysely<Database>,
  name: string,
): Promise<{ dropped: boolean; estimatedRows: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(async (tx) => {
        await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`layers:retention:drop:${name}`}, 0))`.execute(
          tx,
        );
        const { rows } = await sql<{ reltuples: number | null }>`
          SELECT c.reltuples FROM pg_class c WHERE c.oid = to_regclass(${name})`.execute(tx);
        const found = rows[0];
        if (!found) return { dropped: false, estimatedRows: 0 };
        await sql.raw(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`).execute(tx);
        await sql`DROP TABLE ${sql.table(name)}`.execute(tx);
        return { dropped: true, estimatedRows: Math.max(0, Math.round(Number(found.reltuples ?? 0))) };
      });
    } catch (error) {
      // 55P03 lock_not_available: the parent is busy; try again, then leave it for the next sweep.
      if ((error as { code?: string }).code !== '55P03') throw error;
      if (attempt >= ATTEMPTS) return { dropped: false, estimatedRows: 0 };
    }
  }
}
