import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';

/**
 * Row deletion in bounded batches: each batch is its own short transaction (no long locks, no huge
 * WAL bursts, progress survives a crash), and rows another sweeper has already locked are skipped
 * (FOR UPDATE SKIP LOCKED), so two sweepers running at once delete each row exactly once.
 *
 * Batches address rows by `ctid` within one leaf table, which PostgreSQL answers with a TID scan: a
 * partitioned table is therefore purged leaf by leaf (a ctid is only unique inside one partition).
 */
export const PURGE_BATCH = 5_000;

export type Where = RawBuilder<unknown>;

/** The leaf tables holding `table`'s rows: the table itself, or its partitions when partitioned. */
export async function leafTables(db: Kysely<Database>, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_partition_tree(${table}::regclass) t
    JOIN pg_class c ON c.oid = t.relid
    WHERE t.isleaf ORDER BY c.relname`.execute(db);
  // pg_partition_tree answers nothing for a table that is not partitioned: it is its own leaf.
  return rows.length === 0 ? [table] : rows.map((r) => r.name);
}

/** Deletes the rows of one leaf table matching `where`, a batch at a time; returns how many. */
export async function deleteLeafInBatches(
  db: Kysely<Database>,
  leaf: string,
  where: Where,
  batchSize: number,
): Promise<number> {
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

/** Deletes the rows of `table` (every leaf of it) matching `where`, in batches. */
export async function deleteInBatches(
  db: Kysely<Database>,
  table: string,
  where: Where,
  batchSize: number,
): Promise<number> {
  let total = 0;
  for (const leaf of await leafTables(db, table))
    total += await deleteLeafInBatches(db, leaf, where, batchSize);
  return total;
}

export async function countWhere(db: Kysely<Database>, table: string, where: Where): Promise<number> {
  const { rows } = await sql<{
    n: string;
  }>`SELECT count(*) AS n FROM ${sql.table(table)} WHERE ${where}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/** `org_id = X` for one org, `org_id = ANY(...)` for several, TRUE for every org. */
export function orgFilter(orgIds: readonly string[] | null): Where {
  if (orgIds === null) return sql`TRUE`;
  if (orgIds.length === 1) return sql`org_id = ${orgIds[0]}`;
  return sql`org_id = ANY(${[...orgIds]}::text[])`;
}

/**
 * Orders `tables` so that every table comes before the tables it references by foreign key: the
 * order in which rows can be deleted without violating a constraint. Read from the catalog, so a
 * table added later is ordered correctly without anyone editing this list.
 */
export async function deletionOrder(db: Kysely<Database>, tables: readonly string[]): Promise<string[]> {
  const references = await foreignKeys(db);
  return orderBefore(tables, (table) => references.filter((r) => r.parent === table).map((r) => r.child));
}

/** Foreign keys between public tables, as (referencing child, referenced parent) pairs. */
export async function foreignKeys(db: Kysely<Database>): Promise<{ child: string; parent: string }[]> {
  const { rows } = await sql<{ child: string; parent: string }>`
    SELECT DISTINCT ch.relname AS child, pa.relname AS parent
    FROM pg_constraint k
    JOIN pg_class ch ON ch.oid = k.conrelid
    JOIN pg_class pa ON pa.oid = k.confrelid
    JOIN pg_namespace n ON n.oid = ch.relnamespace
    WHERE k.contype = 'f' AND n.nspname = 'public' AND ch.relname <> pa.relname`.execute(db);
  return rows;
}

/**
 * Orders `items` so that every item comes after the items `mustPrecede(item)` names (those among
 * `items`); a depth-first topological sort that keeps the given order where nothing constrains it.
 */
export function orderBefore<T>(items: readonly T[], mustPrecede: (item: T) => readonly T[]): T[] {
  const wanted = new Set(items);
  const ordered: T[] = [];
  const visiting = new Set<T>();
  const done = new Set<T>();
  const visit = (item: T) => {
    if (done.has(item)) return;
    // A cycle cannot be ordered: the back edge is ignored, and a delete it blocks is retried later.
    if (visiting.has(item)) return;
    visiting.add(item);
    for (const before of mustPrecede(item)) if (wanted.has(before) && before !== item) visit(before);
    visiting.delete(item);
    done.add(item);
    ordered.push(item);
  };
  for (const item of items) visit(item);
  return ordered;
}

/** Tables of the public schema that have `column`. */
export async function tablesWithColumn(db: Kysely<Database>, column: string): Promise<Set<string>> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND a.attname = ${column} AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
      AND NOT c.relispartition`.execute(db);
  return new Set(rows.map((r) => r.name));
}
