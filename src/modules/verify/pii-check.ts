import { sql } from 'kysely';
import { DATA_CLASSES } from '../../privacy/data-classes.ts';
import { guardPii, guardText } from '../../privacy/pii-guard.ts';
import type { Check, VerifyContext, Violation } from './verify-types.ts';

/**
 * Stored events and profiles must hold no raw email, phone, IP address or device id: ingest hashes or
 * drops them (pii-guard.ts). This re-reads their JSON columns and runs the same guard over them:
 * anything the guard would hash or drop was stored in violation of the page. The database narrows the
 * rows with a coarse pattern first; the guard decides. Reports counts and event ids, never values.
 */
const EVENT_DERIVED_CLASSES = new Set(['sdk_events', 'user_profiles', 'post_metadata']);

// Anything that could be an address (also percent-encoded), a phone number (international, or
// national digit groups), an IP, or a key naming an IP, a device id or a phone.
const PREFILTER =
  '@|%40|\\+[0-9]|[0-9(][0-9 ().-]{7,}[0-9]|[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+|[0-9A-Fa-f]*:[0-9A-Fa-f]*:|"[^"]*(ip|idfa|gaid|adid|aaid|oaid|idfv|device|forwarded|remote|phone|mobile|tel|cell|msisdn)[^"]*"\\s*:';

const MAX_SAMPLES = 3;

export const piiCheck: Check = {
  name: 'pii',
  description: 'stored events and profiles hold no raw email, phone, IP address or device id',
  async run({ db }) {
    const tables = DATA_CLASSES.filter((c) => EVENT_DERIVED_CLASSES.has(c.name)).flatMap((c) => c.tables);
    if (tables.length === 0) return [];
    const { rows: columns } = await sql<{ table: string; column: string; has_id: boolean }>`
      SELECT c.relname AS table, a.attname AS column,
             EXISTS (SELECT 1 FROM pg_attribute i WHERE i.attrelid = c.oid AND i.attname = 'id' AND NOT i.attisdropped) AS has_id
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relname = ANY(${tables}::text[]) AND a.atttypid = 'jsonb'::regtype
        AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY 1, 2`.execute(db);
    const violations: Violation[] = [];
    for (const { table, column, has_id } of columns) {
      const { rows } = await sql<{ id: string | null; org_id: string; value: unknown }>`
        SELECT ${has_id ? sql.ref('id') : sql`NULL`} AS id, org_id, ${sql.ref(column)} AS value
        FROM ${sql.table(table)} WHERE ${sql.ref(column)}::text ~ ${PREFILTER}`.execute(db);
      violations.push(...tally(table, column, rows, (value) => offence(value)));
    }
    violations.push(...(await envelopeViolations(db, tables)));
    return violations;
  },
};

/** The envelope's text columns: ingest hashes an email or phone as user_id and refuses PII in the others. */
const ENVELOPE_COLUMNS = ['user_id', 'event', 'app_id'];
const TEXT_PREFILTER =
  '@|%40|\\+[0-9]|[0-9(][0-9 ().-]{7,}[0-9]|[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+|[0-9A-Fa-f]*:[0-9A-Fa-f]*:';

async function envelopeViolations(db: VerifyContext['db'], tables: string[]): Promise<Violation[]> {
  const { rows: columns } = await sql<{ table: string; column: string; has_id: boolean }>`
    SELECT c.relname AS table, a.attname AS column,
           EXISTS (SELECT 1 FROM pg_attribute i WHERE i.attrelid = c.oid AND i.attname = 'id' AND NOT i.attisdropped) AS has_id
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relname = ANY(${tables}::text[]) AND a.attname = ANY(${ENVELOPE_COLUMNS}::text[])
      AND a.atttypid = 'text'::regtype AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY 1, 2`.execute(db);
  const violations: Violation[] = [];
  for (const { table, column, has_id } of columns) {
    const { rows } = await sql<{ id: string | null; org_id: string; value: string }>`
      SELECT ${has_id ? sql.ref('id') : sql`NULL`} AS id, org_id, ${sql.ref(column)} AS value
      FROM ${sql.table(table)} WHERE ${sql.ref(column)} ~ ${TEXT_PREFILTER}`.execute(db);
    violations.push(
      ...tally(table, column, rows, (value) => {
        const r = guardText(value, { mode: 'hash', path: column, nationalPhones: column !== 'user_id' });
        return !r.ok
          ? undefined
          : r.report.hashed > 0
            ? 'email address or phone number'
            : r.report.dropped > 0
              ? 'IP address'
              : undefined;
      }),
    );
  }
  return violations;
}

/** One violation per org and kind of offence among a column's rows, with up to MAX_SAMPLES row ids. */
function tally<V>(
  table: string,
  column: string,
  rows: { id: string | null; org_id: string; value: V }[],
  kindOf: (value: V) => string | undefined,
): Violation[] {
  const found = new Map<string, { n: number; samples: string[] }>();
  for (const row of rows) {
    const kind = kindOf(row.value);
    if (!kind) continue;
    const key = `${row.org_id}\u0000${kind}`;
    const entry = found.get(key) ?? { n: 0, samples: [] };
    entry.n += 1;
    if (row.id && entry.samples.length < MAX_SAMPLES) entry.samples.push(row.id);
    found.set(key, entry);
  }
  const violations: Violation[] = [];
  for (const [key, { n, samples }] of found) {
    const [org, kind] = key.split('\u0000') as [string, string];
    violations.push({
      message: `${table}.${column}: ${n} row(s) hold a raw ${kind} (org ${org}${
        samples.length ? `, e.g. ${samples.join(', ')}` : ''
      })`,
      table,
      column,
      org_id: org,
      kind,
      rows: n,
    });
  }
  return violations;
}

/** What the ingest guard would have removed from this stored value, if anything. */
function offence(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const result = guardPii(value as Record<string, unknown>, { mode: 'hash' });
  if (!result.ok) return undefined;
  if (result.report.hashed > 0) return 'email address or phone number';
  if (result.report.dropped > 0) return 'IP address or device id';
  return undefined;
}
