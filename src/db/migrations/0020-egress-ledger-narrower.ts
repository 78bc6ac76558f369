import { type Kysely, sql } from 'kysely';

/**
 * The egress ledger keeps one index fewer: `egress_ledger_created_at_idx` goes. Every index costs
 * each appended row (~0.8 µs of PostgreSQL CPU per row on the bench box, next to ~10 µs for the
 * whole binary COPY of a row), and the ledger gets a row per vendor call.
 *
 * What still serves each reader: the roll-up and the page read one org's days through
 * `egress_ledger_org_id_idx (org_id, created_at)`; the sweeper's per-org cutoffs use the same index;
 * its default cutoff (`created_at < …` over every org) finds the oldest rows at the start of the
 * heap of this append-only table (a sequential scan stops at its batch's LIMIT) or through a skip
 * scan of the org index, which is also how `layers verify` counts overdue rows; a project purge
 * keeps `egress_ledger_project_id_idx`. The primary key (time-ordered ids) stays: a retried batch
 * skips the rows already written through it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS egress_ledger_created_at_idx`.execute(db);
}
