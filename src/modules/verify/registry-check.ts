import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { DATA_CLASSES } from '../../privacy/data-classes.ts';
import type { Check } from './verify-types.ts';

/** Tables holding tenant data: a column `org_id`, not a partition (a partition belongs to its parent). */
export async function tenantDataTables(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped)
    ORDER BY 1`.execute(db);
  return rows.map((r) => r.name);
}

/** Every tenant table claimed by exactly one data class, and every claimed table present. */
export async function registryCoverage(db: Kysely<Database>) {
  const tables = await tenantDataTables(db);
  const claims = new Map<string, string[]>();
  for (const cls of DATA_CLASSES)
    for (const t of cls.tables) claims.set(t, [...(claims.get(t) ?? []), cls.name]);
  return {
    unclaimed: tables.filter((t) => !claims.has(t)),
    claimedTwice: [...claims]
      .filter(([, classes]) => classes.length > 1)
      .map(([t, classes]) => ({ table: t, classes })),
    missing: [...claims.keys()].filter((t) => !tables.includes(t)),
  };
}

export const registryCheck: Check = {
  name: 'registry',
  description: 'every table holding tenant data belongs to exactly one data class',
  async run({ db }) {
    const { unclaimed, claimedTwice, missing } = await registryCoverage(db);
    return [
      ...unclaimed.map((table) => ({
        message: `${table}: holds tenant data (org_id) but no data class claims it, so nothing purges it`,
        table,
      })),
      ...claimedTwice.map(({ table, classes }) => ({
        message: `${table}: claimed by several data classes (${classes.join(', ')})`,
        table,
      })),
      ...missing.map((table) => ({
        message: `${table}: named in the registry but not in the database`,
        table,
      })),
    ];
  },
};
