import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';

/**
 * The SQL of retention: bounded batched deletes, counts, the catalog reads that order them, and the
 * drop of a month's partition. Callers describe rows with a RowFilter; every statement is here.
 *
 * Batched deletes: each batch is its own short transaction (no long locks, no huge WAL bursts,
 * progress survives a crash), and rows another sweeper has already locked are skipped
 * (FOR UPDATE SKIP LOCKED), so two sweepers running at once delete each row exactly once. Batches
 * address rows by `ctid` within one leaf table, which PostgreSQL answers with a TID scan: a
 * partitioned table is therefore purged leaf by leaf (a ctid is only unique inside one partition).
 */

/** Which rows: every condition given must hold; none given means every row. */
export type RowFilter = {
  /** One org's rows. */
  orgId?: string;
  /** One project's rows. */
  projectId?: string;
  /** Rows whose `column` is before `at` (or at it, with `inclusive`). */
  before?: { column: string; at: Date; inclusive?: boolean };
};

export type Partition = {
  name: string;
  /** Inclusive lower bound; null for the default partition. */
  from: Date | null;
  /** Exclusive upper bound; null for the default partition. */
  to: Date | null;
};

function whereOf(filter: RowFilter): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  if (filter.orgId !== undefined) parts.push(sql`org_id = ${filter.orgId}`);
  if (filter.projectId !== undefined) parts.push(sql`project_id = ${filter.projectId}`);
  if (filter.before) {
    const column = sql.ref(filter.before.column);
    parts.push(
      filter.before.inclusive ? sql`${column} <= ${filter.before.at}` : sql`${column} < ${filter.before.at}`,
    );
  }
  return parts.length === 0 ? sql`TRUE` : sql.join(parts, sql` AND `);
}

const RANGE = /^FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)$/;

function parseBound(value: string): Date {
  const date = new Date(`${value.slice(0, 10)}T00:00:00.000Z`);
  if (Number.isNaN(date.getTime())) throw new Error('unexpected partition bound');
  return date;
}

/** How long a partition drop may wait for the parent's lock before it gives up until the next sweep. */
const LOCK_TIMEOUT = '2s';
const DROP_ATTEMPTS = 3;

export function createPurgeDal() {
  /** The leaf tables holding `table`'s rows: the table itself, or its partitions when partitioned. */
  async function leafTables(db: Kysely<Database>, table: string): Promise<string[]> {
    const { rows } = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_partition_tree(${table}::regclass) t
      JOIN pg_class c ON c.oid = t.relid
      WHERE t.isleaf ORDER BY c.relname`.execute(db);
    // pg_partition_tree answers nothing for a table that is not partitioned: it is its own leaf.
    return rows.length === 0 ? [table] : rows.map((r) => r.name);
  }

  /** Deletes the rows of one leaf table matching `filter`, a batch at a time; returns how many. */
  async function deleteLeafInBatches(
    db: Kysely<Database>,
    leaf: string,
    filter: RowFilter,
    batchSize: number,
  ): Promise<number> {
    const where = whereOf(filter);
    let total = 0;
    for (;;) {
      const result = await sql`
        DELETE FROM ${sql.table(leaf)} WHERE ctid = ANY(ARRAY(
          SELECT ctid FROM ${sql.table(leaf)} WHERE ${where} LIMIT ${batchSize} FOR UPDATE SKIP LOCKED))`.execute(
        db,
      );
      const n = Number(result.numAffectedRows ?? 0);
      total += n;
      // A short batch means nothing is left that this sweeper may take: what remains (if anything) is
      // locked by another sweeper, which deletes it.
      if (n < batchSize) return total;
    }
  }

  return {
    leafTables,
    deleteLeafInBatches,

    /**
     * Runs `fn` under a session-level advisory lock per sweep phase (a data class, project purges,
     * partnership-end purges). A second sweeper that finds a phase locked skips it: the holder is
     * purging those rows, so each row is purged once, and neither waits on the other. The lock lives
     * on a connection of its own and is released when the phase ends or, if the process dies, when
     * its connection closes.
     */
    async withSweepLock<T>(
      db: Kysely<Database>,
      phase: string,
      fn: () => Promise<T>,
    ): Promise<{ ran: true; value: T } | { ran: false }> {
      return db.connection().execute(async (conn) => {
        const key = `layers:retention:${phase}`;
        const { rows } = await sql<{ locked: boolean }>`
          SELECT pg_try_advisory_lock(hashtextextended(${key}, 0)) AS locked`.execute(conn);
        if (rows[0]?.locked !== true) return { ran: false as const };
        try {
          return { ran: true as const, value: await fn() };
        } finally {
          await sql`SELECT pg_advisory_unlock(hashtextextended(${key}, 0))`.execute(conn);
        }
      });
    },

    /** Deletes the rows of `table` (every leaf of it) matching `filter`, in batches. */
    async deleteInBatches(
      db: Kysely<Database>,
      table: string,
      filter: RowFilter,
      batchSize: number,
    ): Promise<number> {
      let total = 0;
      for (const leaf of await leafTables(db, table))
        total += await deleteLeafInBatches(db, leaf, filter, batchSize);
      return total;
    },

    /** Deletes every matching row of `table` in one statement, inside the caller's transaction. */
    async deleteAll(tx: Kysely<Database>, table: string, filter: RowFilter): Promise<number> {
      const result = await sql`DELETE FROM ${sql.table(table)} WHERE ${whereOf(filter)}`.execute(tx);
      return Number(result.numAffectedRows ?? 0);
    },

    async count(db: Kysely<Database>, table: string, filter: RowFilter): Promise<number> {
      const { rows } = await sql<{
        n: string;
      }>`SELECT count(*) AS n FROM ${sql.table(table)} WHERE ${whereOf(filter)}`.execute(db);
      return Number(rows[0]?.n ?? 0);
    },

    /** Foreign keys between public tables, as (referencing child, referenced parent) pairs. */
    async foreignKeys(db: Kysely<Database>): Promise<{ child: string; parent: string }[]> {
      const { rows } = await sql<{ child: string; parent: string }>`
        SELECT DISTINCT ch.relname AS child, pa.relname AS parent
        FROM pg_constraint k
        JOIN pg_class ch ON ch.oid = k.conrelid
        JOIN pg_class pa ON pa.oid = k.confrelid
        JOIN pg_namespace n ON n.oid = ch.relnamespace
        WHERE k.contype = 'f' AND n.nspname = 'public' AND ch.relname <> pa.relname`.execute(db);
      return rows;
    },

    /** Tables of the public schema that have `column`. */
    async tablesWithColumn(db: Kysely<Database>, column: string): Promise<Set<string>> {
      const { rows } = await sql<{ name: string }>`
        SELECT c.relname AS name FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND a.attname = ${column} AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
          AND NOT c.relispartition`.execute(db);
      return new Set(rows.map((r) => r.name));
    },

    /** The partitions of a range-partitioned table with their bounds, read from the catalog. */
    async listPartitions(db: Kysely<Database>, table: string): Promise<Partition[]> {
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
    },

    /**
     * Drops one partition: a catalog change that frees the month's files without reading a row.
     * Dropping needs a brief exclusive lock on the parent, so it waits at most LOCK_TIMEOUT (never
     * stalling ingest behind a long query) and retries; if the lock stays busy the partition is left
     * for the next sweep. A per-partition advisory lock and an existence check make a concurrent
     * drop count once.
     */
    async dropPartition(
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
          if (attempt >= DROP_ATTEMPTS) return { dropped: false, estimatedRows: 0 };
        }
      }
    },
  };
}

export type PurgeDal = ReturnType<typeof createPurgeDal>;
