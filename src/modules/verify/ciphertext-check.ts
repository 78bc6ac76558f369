import { sql } from 'kysely';
import { looksLikeCiphertext } from '../../lib/envelope-crypto.ts';
import type { Check, Violation } from './verify-types.ts';

/**
 * Columns named `*encrypted_*` hold envelope ciphertext only. The database narrows the rows with the
 * ciphertext pattern; `looksLikeCiphertext` (the one definition) has the last word. Values are never
 * reported, only where they are.
 */
export const ciphertextCheck: Check = {
  name: 'ciphertext',
  description: 'token and secret columns (encrypted_*) hold ciphertext only',
  async run({ db }) {
    const { rows: columns } = await sql<{ table: string; column: string; has_org: boolean }>`
      SELECT c.relname AS table, a.attname AS column,
             EXISTS (SELECT 1 FROM pg_attribute o WHERE o.attrelid = c.oid AND o.attname = 'org_id' AND NOT o.attisdropped) AS has_org
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND a.attname LIKE '%encrypted\\_%' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY 1, 2`.execute(db);
    const violations: Violation[] = [];
    for (const { table, column, has_org } of columns) {
      const { rows } = await sql<{ org_id: string | null; value: string }>`
        SELECT ${has_org ? sql.ref('org_id') : sql`NULL`} AS org_id, ${sql.ref(column)}::text AS value
        FROM ${sql.table(table)}
        WHERE ${sql.ref(column)} IS NOT NULL
          AND ${sql.ref(column)}::text !~ '^lenc1:[0-9a-f]{8}:[A-Za-z0-9_-]{80,}$'`.execute(db);
      const byOrg = new Map<string, number>();
      for (const r of rows) {
        if (looksLikeCiphertext(r.value)) continue;
        const key = r.org_id ?? '(none)';
        byOrg.set(key, (byOrg.get(key) ?? 0) + 1);
      }
      for (const [org, n] of byOrg)
        violations.push({
          message: `${table}.${column}: ${n} value(s) that are not ciphertext (org ${org})`,
          table,
          column,
          org_id: org,
          rows: n,
        });
    }
    return violations;
  },
};
