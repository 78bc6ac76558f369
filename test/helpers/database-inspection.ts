import type pg from 'pg';

/**
 * Tables of the app's schema that hold tenant data: every table with an `org_id` column (partitions
 * included), plus orgs.
 */
export async function tenantTables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ table_name: string }>(`
    SELECT DISTINCT c.table_name FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = 'public' AND c.column_name = 'org_id' AND t.table_type = 'BASE TABLE'
    ORDER BY 1`);
  return ['orgs', ...rows.map((r) => r.table_name)];
}

/**
 * Every row of every table in every schema the app writes (public, graphile_worker), as text:
 * what a dump of the database would contain, for canary searches.
 */
export async function dumpDatabase(pool: pg.Pool): Promise<string> {
  const { rows: tables } = await pool.query<{ schema: string; name: string }>(`
    SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`);
  const parts: string[] = [];
  for (const { schema, name } of tables) {
    const { rows } = await pool.query(`SELECT t::text AS row FROM ${schema}.${JSON.stringify(name)} t`);
    for (const r of rows) parts.push(`${schema}.${name}: ${r.row}`);
  }
  return parts.join('\n');
}

/** Partitions among the given tables (the app role may not touch them directly at all). */
export async function partitionsAmong(pool: pg.Pool, tables: string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ relname: string }>(
    `SELECT relname FROM pg_class WHERE relispartition AND relname = ANY($1)`,
    [tables],
  );
  return new Set(rows.map((r) => r.relname));
}
