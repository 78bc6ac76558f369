import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { EncryptionContext, Envelope } from '../lib/envelope-crypto.ts';

/**
 * Re-wraps every envelope ciphertext in the database with the first key of LAYERS_ENCRYPTION_KEY
 * (`layers keys rotate`). Each ciphertext column is listed here with the AAD its owner binds it to
 * (org + record + field); a `*encrypted_*` column in the catalog that is not listed is reported and
 * makes the run fail, so a new column cannot be skipped silently.
 *
 * A value is re-wrapped when its key id is not the active one: decrypted (any configured key) and
 * encrypted again (the active key, a new data key), in batches of 200 rows, each batch one
 * transaction (`FOR UPDATE SKIP LOCKED`, so the running platform keeps writing). Rows already on
 * the active key are never read again, so an interrupted run resumes where it stopped by running it
 * again. Keep the old key configured (second in the list) until the run reports nothing left.
 *
 * Not covered: the token a failed platform revoke keeps in its retry job's payload (at most 24 h):
 * keep the old key listed for a day after rotating.
 */
type Column = {
  table: string;
  column: string;
  /** Primary-key columns (text), in order. */
  key: string[];
  context(row: Record<string, string>): EncryptionContext;
};

const byId = (field: string) => (r: Record<string, string>) => ({
  orgId: r.org_id as string,
  recordId: r.id as string,
  field,
});

export const CIPHERTEXT_COLUMNS: readonly Column[] = [
  { table: 'webhook_endpoints', column: 'encrypted_secret', key: ['id'], context: byId('signing_secret') },
  {
    table: 'webhook_endpoints',
    column: 'previous_encrypted_secret',
    key: ['id'],
    context: byId('previous_signing_secret'),
  },
  {
    table: 'idempotency_keys',
    column: 'encrypted_response_body',
    key: ['org_id', 'key'],
    context: (r) => ({ orgId: r.org_id as string, recordId: r.key as string, field: 'response_body' }),
  },
  { table: 'social_accounts', column: 'encrypted_access_token', key: ['id'], context: byId('access_token') },
  {
    table: 'social_accounts',
    column: 'encrypted_refresh_token',
    key: ['id'],
    context: byId('refresh_token'),
  },
  {
    table: 'social_accounts',
    column: 'encrypted_user_access_token',
    key: ['id'],
    context: byId('user_access_token'),
  },
  {
    table: 'social_oauth_states',
    column: 'encrypted_code_verifier',
    key: ['state_hash'],
    context: (r) => ({ orgId: r.org_id as string, recordId: r.state_hash as string, field: 'code_verifier' }),
  },
  { table: 'console_accounts', column: 'encrypted_email', key: ['id'], context: byId('email') },
  { table: 'console_accounts', column: 'encrypted_totp_secret', key: ['id'], context: byId('totp_secret') },
  { table: 'console_invitations', column: 'encrypted_email', key: ['id'], context: byId('email') },
  { table: 'destinations', column: 'encrypted_access_token', key: ['id'], context: byId('access_token') },
  { table: 'capi_forward_queue', column: 'encrypted_payload', key: ['id'], context: byId('capi_payload') },
  {
    table: 'ad_deployments',
    column: 'encrypted_advertiser_token',
    key: ['id'],
    context: byId('advertiser_access_token'),
  },
];

const BATCH = 200;

export type RotationProgress = { table: string; column: string; done: number; total: number };
export type RotationReport = {
  active_key: string;
  columns: { table: string; column: string; rewrapped: number; remaining: number }[];
  unknown_columns: string[];
  ok: boolean;
};

const keyIdOf = (ciphertext: string) => ciphertext.split(':')[1] ?? '';

export async function rotateKeys(
  db: Kysely<Database>,
  envelope: Envelope,
  onProgress: (p: RotationProgress) => void = () => undefined,
): Promise<RotationReport> {
  const active = keyIdOf(envelope.encrypt('probe', { orgId: 'x', recordId: 'x', field: 'x' }));
  const { rows: catalog } = await sql<{ table: string; column: string }>`
    SELECT c.relname AS table, a.attname AS column
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND a.attname LIKE '%encrypted\\_%' AND a.attnum > 0 AND NOT a.attisdropped`.execute(db);
  const present = new Set(catalog.map((c) => `${c.table}.${c.column}`));
  const known = new Set(CIPHERTEXT_COLUMNS.map((c) => `${c.table}.${c.column}`));
  const report: RotationReport = {
    active_key: active,
    columns: [],
    unknown_columns: [...present].filter((c) => !known.has(c)).sort(),
    ok: true,
  };
  const stale = (c: Column) =>
    sql`${sql.ref(c.column)} IS NOT NULL AND ${sql.ref(c.column)} NOT LIKE ${`lenc1:${active}:%`}`;

  for (const c of CIPHERTEXT_COLUMNS) {
    if (!present.has(`${c.table}.${c.column}`)) continue;
    const { rows: countRows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM ${sql.table(c.table)} WHERE ${stale(c)}`.execute(db);
    const total = Number(countRows[0]?.n ?? 0);
    let done = 0;
    onProgress({ table: c.table, column: c.column, done, total });
    const keyCols = sql.join(c.key.map((k) => sql.ref(k)));
    for (;;) {
      const n = await db.transaction().execute(async (tx) => {
        const { rows } = await sql<Record<string, string>>`
          SELECT ${keyCols}, org_id, ${sql.ref(c.column)} AS value FROM ${sql.table(c.table)}
          WHERE ${stale(c)} ORDER BY ${keyCols} LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`.execute(tx);
        for (const r of rows) {
          const ctx = c.context(r);
          // As bytes: a plaintext need not be text (the forward queue's is compressed).
          const next = envelope.encrypt(envelope.decryptBytes(r.value as string, ctx), ctx);
          const where = sql.join(
            c.key.map((k) => sql`${sql.ref(k)} = ${r[k]}`),
            sql` AND `,
          );
          await sql`UPDATE ${sql.table(c.table)} SET ${sql.ref(c.column)} = ${next} WHERE ${where}`.execute(
            tx,
          );
        }
        return rows.length;
      });
      done += n;
      if (n > 0) onProgress({ table: c.table, column: c.column, done, total });
      if (n < BATCH) break;
    }
    const { rows: left } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM ${sql.table(c.table)} WHERE ${stale(c)}`.execute(db);
    const remaining = Number(left[0]?.n ?? 0);
    report.columns.push({ table: c.table, column: c.column, rewrapped: done, remaining });
    if (remaining > 0) report.ok = false;
  }
  if (report.unknown_columns.length > 0) report.ok = false;
  return report;
}
