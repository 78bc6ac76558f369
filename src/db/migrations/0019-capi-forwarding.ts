import { type Kysely, sql } from 'kysely';
import { APP_ROLE, enableTenantRls } from '../tenancy-sql.ts';

/**
 * Conversions API forwarding (API.md "Conversions API forwarding").
 *
 * - `destinations` (class capi_destinations): a project's Meta CAPI / TikTok Events targets. The
 *   access token is envelope ciphertext (`encrypted_access_token`, AAD org + destination + field) and
 *   is never selected for a response.
 * - `capi_forward_queue` (class capi_forward_queue): one row per (event, destination) waiting to be
 *   forwarded. Everything about the end customer (platform hashes, device ids, device fields) is in
 *   `encrypted_payload`; in the clear only ids, the event time, a subject hash for erasure
 *   (SHA-256 of `project_id:user_id`, as suppressions) and the retry state. Rows are deleted in the
 *   transaction that records the platform's success, by the sweeper after 72 h, with their
 *   destination (ON DELETE CASCADE), by a DSR erasure and at partnership end.
 * - `capi_forward_stats` (class capi_forward_stats): counts per destination and hour, no personal data.
 * - `layers_enqueue_capi_forward(org, destination ids)`: lets the app role's ingest statement wake
 *   the forwarder (one pending job per destination, its run time kept so batches can fill).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE destinations (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      type text NOT NULL CHECK (type IN ('meta_capi', 'tiktok_events')),
      platform_id text NOT NULL CHECK (length(platform_id) BETWEEN 1 AND 64),
      encrypted_access_token text NOT NULL,
      event_map jsonb NOT NULL,
      test_event_code text,
      default_phone_country text CHECK (default_phone_country ~ '^[A-Z]{2}$'),
      enabled boolean NOT NULL,
      status text NOT NULL CHECK (status IN ('active', 'paused')),
      paused_reason text CHECK (paused_reason IN ('invalid_token')),
      paused_at timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX destinations_org_project_idx ON destinations (org_id, project_id)`.execute(db);
  await sql`CREATE INDEX destinations_project_id_idx ON destinations (project_id)`.execute(db);
  await enableTenantRls(db, 'destinations', ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

  await sql`
    CREATE TABLE capi_forward_queue (
      id uuid PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      destination_id text NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
      event_id text NOT NULL,
      subject_hash text NOT NULL,
      event_time timestamptz NOT NULL,
      encrypted_payload text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL
    )`.execute(db);
  // The forwarder claims a destination's due rows oldest first; the sweeper deletes by age; erasure by subject.
  await sql`CREATE INDEX capi_forward_queue_due_idx ON capi_forward_queue (destination_id, next_attempt_at)`.execute(
    db,
  );
  await sql`CREATE INDEX capi_forward_queue_org_idx ON capi_forward_queue (org_id, created_at)`.execute(db);
  await sql`CREATE INDEX capi_forward_queue_created_idx ON capi_forward_queue (created_at)`.execute(db);
  await sql`CREATE INDEX capi_forward_queue_subject_idx ON capi_forward_queue (project_id, subject_hash)`.execute(
    db,
  );
  await enableTenantRls(db, 'capi_forward_queue', ['SELECT', 'INSERT', 'DELETE']);

  await sql`
    CREATE TABLE capi_forward_stats (
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      destination_id text NOT NULL,
      hour timestamptz NOT NULL,
      queued integer NOT NULL DEFAULT 0,
      sent integer NOT NULL DEFAULT 0,
      rejected jsonb NOT NULL DEFAULT '{}',
      dropped_too_old integer NOT NULL DEFAULT 0,
      dropped_not_consented integer NOT NULL DEFAULT 0,
      dropped_no_identifier integer NOT NULL DEFAULT 0,
      expired integer NOT NULL DEFAULT 0,
      erased integer NOT NULL DEFAULT 0,
      age_histogram integer[] NOT NULL DEFAULT '{}',
      PRIMARY KEY (destination_id, hour)
    )`.execute(db);
  await sql`CREATE INDEX capi_forward_stats_org_idx ON capi_forward_stats (org_id, hour)`.execute(db);
  await sql`CREATE INDEX capi_forward_stats_project_idx ON capi_forward_stats (project_id)`.execute(db);
  await sql`CREATE INDEX capi_forward_stats_hour_idx ON capi_forward_stats (hour)`.execute(db);
  await enableTenantRls(db, 'capi_forward_stats', ['SELECT', 'INSERT', 'UPDATE']);

  // plpgsql: graphile_worker's schema is created at start-up, after migrations.
  await sql`
    CREATE FUNCTION layers_enqueue_capi_forward(p_org text, p_destinations text[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE d text;
    BEGIN
      FOREACH d IN ARRAY p_destinations LOOP
        PERFORM graphile_worker.add_job('capi.forward',
          json_build_object('org_id', p_org, 'destination_id', d),
          job_key := 'capi.forward:' || d,
          run_at := now() + interval '200 milliseconds',
          max_attempts := 5,
          job_key_mode := 'preserve_run_at');
      END LOOP;
    END $$`.execute(db);
  await sql`REVOKE ALL ON FUNCTION layers_enqueue_capi_forward(text, text[]) FROM PUBLIC`.execute(db);
  await sql
    .raw(`GRANT EXECUTE ON FUNCTION layers_enqueue_capi_forward(text, text[]) TO ${APP_ROLE}`)
    .execute(db);
}
