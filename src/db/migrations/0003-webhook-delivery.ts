import { type Kysely, sql } from 'kysely';
import { enableTenantRls } from '../tenancy-sql.ts';

/**
 * Webhook delivery: the events an org's changes produced, one delivery per (event, subscribed
 * endpoint), and the endpoint state that retries, secret rotation and automatic disabling need.
 *
 * - An event, its deliveries and their queue jobs are written in the transaction of the change they
 *   report (an outbox): a change that rolls back leaves nothing to deliver.
 * - `webhook_events.data` holds ids and non-personal fields only (see webhook-event-types.ts).
 * - `webhook_deliveries` is the source of truth for a delivery: the queue job only triggers attempts.
 *   `lease_until` marks an attempt in flight, so a second trigger (a watchdog, a manual retry) cannot
 *   run the same attempt twice while its worker lives; `attempts` keeps the per-attempt outcome
 *   (time, status code, latency, error code), never a request or response body.
 * - Both are purged by the retention sweeper under the `webhook_deliveries` data class.
 * - The app role may read and write its org's rows (RLS); it never deletes them (the sweeper does,
 *   and deleting an endpoint cascades to its deliveries).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Rotation keeps the previous secret signing for an overlap window; it is envelope ciphertext too.
  await sql`
    ALTER TABLE webhook_endpoints
      ADD COLUMN previous_encrypted_secret text,
      ADD COLUMN previous_secret_expires_at timestamptz,
      ADD COLUMN failing_since timestamptz,
      ADD COLUMN disabled_reason text CHECK (disabled_reason IN ('gone', 'failing')),
      ADD CHECK ((previous_encrypted_secret IS NULL) = (previous_secret_expires_at IS NULL))`.execute(db);

  await sql`
    CREATE TABLE webhook_events (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      type text NOT NULL,
      data jsonb NOT NULL,
      created_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX webhook_events_org_id_idx ON webhook_events (org_id, id)`.execute(db);
  await sql`CREATE INDEX webhook_events_created_at_idx ON webhook_events (created_at)`.execute(db);
  await enableTenantRls(db, 'webhook_events', ['SELECT', 'INSERT']);

  await sql`
    CREATE TABLE webhook_deliveries (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      endpoint_id text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
      event_id text NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
      attempt_count integer NOT NULL DEFAULT 0,
      attempts jsonb NOT NULL DEFAULT '[]',
      next_attempt_at timestamptz,
      lease_until timestamptz,
      created_at timestamptz NOT NULL,
      completed_at timestamptz,
      UNIQUE (event_id, endpoint_id),
      CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
    )`.execute(db);
  await sql`CREATE INDEX webhook_deliveries_org_id_idx ON webhook_deliveries (org_id, endpoint_id, id)`.execute(
    db,
  );
  await sql`CREATE INDEX webhook_deliveries_endpoint_id_idx ON webhook_deliveries (endpoint_id)`.execute(db);
  await sql`CREATE INDEX webhook_deliveries_created_at_idx ON webhook_deliveries (created_at)`.execute(db);
  // The recovery pass looks for pending deliveries that are overdue.
  await sql`CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`.execute(
    db,
  );
  await enableTenantRls(db, 'webhook_deliveries', ['SELECT', 'INSERT', 'UPDATE']);
}
