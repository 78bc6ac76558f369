import { sql } from 'kysely';
import type { Check } from './verify-types.ts';

/**
 * Every tenant table (a column `org_id`, partitions included, and `orgs`) must have row-level
 * security enabled AND forced (so even the owner's connection is filtered unless it bypasses RLS
 * explicitly) and at least one policy.
 */
export const rlsCheck: Check = {
  name: 'rls',
  description: 'tenant tables have row-level security enabled, forced, with a policy',
  async run({ db }) {
    const { rows } = await sql<{ table: string; enabled: boolean; forced: boolean; policies: number }>`
      SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
             (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        AND (c.relname = 'orgs' OR EXISTS (
          SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped))
      ORDER BY c.relname`.execute(db);
    return rows
      .filter((r) => !r.enabled || !r.forced || r.policies === 0)
      .map((r) => ({
        message: `${r.table}: row-level security ${
          !r.enabled ? 'is not enabled' : !r.forced ? 'is not forced' : 'has no policy'
        }`,
        table: r.table,
      }));
  },
};
