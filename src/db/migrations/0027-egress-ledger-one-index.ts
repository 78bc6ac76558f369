import { type Kysely, sql } from 'kysely';

/**
 * The egress ledger keeps one index instead of three: `(org_id, project_id, created_at)` replaces the
 * primary key on `id`, `egress_ledger_org_id_idx (org_id, created_at)` and the partial
 * `egress_ledger_project_id_idx (project_id)`. Every index costs each appended row, and the ledger
 * gets a row per vendor call: measured on the bench box (binary COPY of 1,000-row batches,
 * PostgreSQL 18), 5.1 µs of server CPU and 480 bytes of WAL per row before, 3.5 µs and 336 bytes after.
 *
 * What still serves each reader, through the one index:
 * - the roll-up and the page (one org's days), the sweeper's per-org cutoffs and a partnership end's
 *   purge read its `org_id` prefix, with a skip scan over the org's few projects for the time range;
 * - a project purge (`project_id = …`, no org) skips over the orgs (PostgreSQL 18 skip scan);
 * - the default cutoff over every org and `layers verify` read the oldest rows as 0020 says.
 * - The primary key only made a retried batch skip the rows an ambiguous failure had committed.
 *   Ids stay unique without it (the writer makes time-ordered random ones; a row planted with an id
 *   is skipped if that id is there), and the retry now skips a row whose org, time and id are already
 *   written, found through this index (egress-ledger-dal.ts, copyInSkippingWritten). A retry is rare;
 *   each append is not.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX egress_ledger_org_project_idx ON egress_ledger (org_id, project_id, created_at)`.execute(
    db,
  );
  await sql`ALTER TABLE egress_ledger ALTER COLUMN id SET NOT NULL`.execute(db);
  await sql`ALTER TABLE egress_ledger DROP CONSTRAINT egress_ledger_pkey`.execute(db);
  await sql`DROP INDEX egress_ledger_org_id_idx`.execute(db);
  await sql`DROP INDEX egress_ledger_project_id_idx`.execute(db);
}
