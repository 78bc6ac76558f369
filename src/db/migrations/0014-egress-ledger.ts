import { type Kysely, sql } from 'kysely';
import { enableTenantRls } from '../tenancy-sql.ts';

/**
 * The egress ledger (registry class egress_ledger): one row per call that left for a third party
 * through the egress gateway: who for (org, project), to whom (vendor id and the real host), why
 * (purpose), what (the egress data classes declared and a record count), how much (bytes out and
 * in), how it went (attempts, last status, outcome, latency) and when. Never a body, a header value,
 * a token, a URL path or query.
 *
 * The app role only reads it (the roll-up API, RLS by org); the ledger writer appends on the system
 * connection, like the request log. `id` is the writer's own key, so a batch retried after an
 * ambiguous failure (committed, but the answer was lost) inserts nothing twice.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE egress_ledger (
      id uuid PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text,
      vendor text NOT NULL CHECK (vendor ~ '^[a-z][a-z0-9_]{1,39}$'),
      host text NOT NULL CHECK (length(host) BETWEEN 1 AND 253),
      purpose text NOT NULL CHECK (purpose IN ('oauth', 'publishing', 'metrics', 'ads', 'capi', 'llm', 'media_store')),
      data_classes text[] NOT NULL,
      records integer NOT NULL CHECK (records >= 0),
      bytes_out bigint NOT NULL CHECK (bytes_out >= 0),
      bytes_in bigint NOT NULL CHECK (bytes_in >= 0),
      attempts smallint NOT NULL CHECK (attempts >= 1),
      status smallint,
      outcome text NOT NULL CHECK (outcome IN ('ok', 'http_error', 'rate_limited', 'timeout', 'network_error', 'response_too_large')),
      latency_ms real NOT NULL CHECK (latency_ms >= 0),
      created_at timestamptz NOT NULL
    )`.execute(db);
  // The roll-up reads one org's days; the sweeper deletes by age; a project purge deletes by project.
  await sql`CREATE INDEX egress_ledger_org_id_idx ON egress_ledger (org_id, created_at)`.execute(db);
  await sql`CREATE INDEX egress_ledger_created_at_idx ON egress_ledger (created_at)`.execute(db);
  await sql`CREATE INDEX egress_ledger_project_id_idx ON egress_ledger (project_id) WHERE project_id IS NOT NULL`.execute(
    db,
  );
  await enableTenantRls(db, 'egress_ledger', ['SELECT']);
}
