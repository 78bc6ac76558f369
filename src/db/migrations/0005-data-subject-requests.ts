import { type Kysely, sql } from 'kysely';
import { enableTenantRls } from '../tenancy-sql.ts';

/**
 * Data-subject requests (the page's "You ask us, we execute") and suppressions.
 *
 * - `data_subject_requests` holds the raw `user_id` only while the erasure is pending or running (the
 *   job needs it); completion clears it and keeps a per-request hash for the receipt.
 * - `suppressions` refuse future events for an erased user; they hold a hash of (project, user_id),
 *   never the user_id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE data_subject_requests (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      type text NOT NULL CHECK (type IN ('erasure')),
      status text NOT NULL CHECK (status IN ('pending', 'running', 'completed')),
      user_id text,
      subject_sha256 text NOT NULL,
      suppress boolean NOT NULL,
      erased jsonb NOT NULL DEFAULT '{}',
      requested_by text,
      request_id text,
      created_at timestamptz NOT NULL,
      started_at timestamptz,
      completed_at timestamptz,
      CHECK ((status = 'completed') = (user_id IS NULL))
    )`.execute(db);
  await sql`CREATE INDEX data_subject_requests_org_id_idx ON data_subject_requests (org_id, id)`.execute(db);
  await sql`CREATE INDEX data_subject_requests_project_idx ON data_subject_requests (project_id)`.execute(db);
  await enableTenantRls(db, 'data_subject_requests', ['SELECT', 'INSERT']);

  await sql`
    CREATE TABLE suppressions (
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      subject_sha256 text NOT NULL,
      dsr_id text REFERENCES data_subject_requests(id),
      created_at timestamptz NOT NULL,
      PRIMARY KEY (project_id, subject_sha256)
    )`.execute(db);
  await sql`CREATE INDEX suppressions_org_id_idx ON suppressions (org_id, project_id)`.execute(db);
  await sql`CREATE INDEX suppressions_dsr_idx ON suppressions (dsr_id)`.execute(db);
  await enableTenantRls(db, 'suppressions', ['SELECT', 'INSERT', 'DELETE']);
}
