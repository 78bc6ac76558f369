import { type Kysely, sql } from 'kysely';
import { enableTenantRls } from '../tenancy-sql.ts';

/**
 * The data-protection page as code (registry classes partner_config, dpa_requests, deletion_records):
 *
 * - `retention_overrides`: a partner-tier org's contract retention per data class, within the
 *   registry's bounds. The app role reads it inside tenant transactions (replay window, deletion
 *   grace, the retention API); only the operator API writes it.
 * - `org_purge_schedule`: at the end of a partnership, one row per data class saying when the org's
 *   rows are purged and, once done, when and how many. It holds no personal data and is kept as the
 *   record that the deletion happened.
 * - `dpa_requests`: requests for a countersigned DPA, with the transfer mechanism that applies and the
 *   requirements flagged for legal review; the operator moves their status along.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE retention_overrides (
      org_id text NOT NULL REFERENCES orgs(id),
      data_class text NOT NULL,
      retention_ms bigint NOT NULL CHECK (retention_ms > 0),
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, data_class)
    )`.execute(db);
  await enableTenantRls(db, 'retention_overrides', ['SELECT']);

  await sql`
    CREATE TABLE org_purge_schedule (
      org_id text NOT NULL REFERENCES orgs(id),
      data_class text NOT NULL,
      purge_at timestamptz NOT NULL,
      purged_at timestamptz,
      rows_purged bigint,
      PRIMARY KEY (org_id, data_class)
    )`.execute(db);
  await sql`CREATE INDEX org_purge_schedule_due_idx ON org_purge_schedule (purge_at) WHERE purged_at IS NULL`.execute(
    db,
  );
  // Read-only for the app role (an org may see its own schedule); only the system role writes it.
  await enableTenantRls(db, 'org_purge_schedule', ['SELECT']);

  await sql`
    CREATE TABLE dpa_requests (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      status text NOT NULL CHECK (status IN ('received', 'in_review', 'sent_for_signature', 'countersigned', 'declined')),
      signatory_entity text NOT NULL,
      countries_of_processing text[] NOT NULL,
      governing_law text NOT NULL,
      special_requirements text[] NOT NULL,
      transfer_mechanisms jsonb NOT NULL,
      review_flags jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX dpa_requests_org_id_idx ON dpa_requests (org_id, id)`.execute(db);
  await sql`CREATE INDEX dpa_requests_status_idx ON dpa_requests (status, id)`.execute(db);
  await enableTenantRls(db, 'dpa_requests', ['SELECT', 'INSERT']);

  // The sweeper finds projects past their deletion grace period without scanning the live ones.
  await sql`CREATE INDEX projects_purge_due_idx ON projects (purge_after) WHERE status = 'pending_deletion'`.execute(
    db,
  );
}
