import { type Kysely, sql } from 'kysely';
import { APP_ROLE, enableTenantRls } from '../tenancy-sql.ts';

/**
 * Customer SDK events and the current-state user profiles derived from them.
 *
 * - `sdk_events` is partitioned by the month the event was received (`received_month`), so retention
 *   drops whole partitions instead of deleting rows. Dedup on (project, event_id) is enforced by the
 *   unique key within a month and by a lookup into earlier months at insert.
 * - Events are immutable: the app role may INSERT and SELECT them, never UPDATE (rectification is a new
 *   event); erasure runs as the system role.
 * - `user_profiles` holds what identify events establish (merged traits, hashed identifiers); facts
 *   every event carries (first/last seen, latest geo) are read from the events themselves, so the
 *   common track event writes one row, not two.
 * - No column holds a raw email, phone, IP or device id: only SHA-256 hashes and the derived geo codes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE projects ADD COLUMN pii_policy text NOT NULL DEFAULT 'hash' CHECK (pii_policy IN ('hash', 'reject'))`.execute(
    db,
  );

  await sql`
    CREATE TABLE sdk_events (
      id text NOT NULL,
      org_id text NOT NULL,
      project_id text NOT NULL,
      event_id text NOT NULL,
      type text NOT NULL CHECK (type IN ('track', 'identify')),
      event text,
      user_id text NOT NULL,
      timestamp timestamptz NOT NULL,
      received_at timestamptz NOT NULL,
      received_month date NOT NULL,
      app_id text,
      properties jsonb NOT NULL DEFAULT '{}',
      traits jsonb NOT NULL DEFAULT '{}',
      email_sha256 text CHECK (email_sha256 ~ '^[0-9a-f]{64}$'),
      phone_sha256 text CHECK (phone_sha256 ~ '^[0-9a-f]{64}$'),
      geo_country text CHECK (geo_country ~ '^[A-Z]{2}$'),
      geo_region text,
      PRIMARY KEY (project_id, event_id, received_month)
    ) PARTITION BY RANGE (received_month)`.execute(db);
  await sql`CREATE INDEX sdk_events_org_id_idx ON sdk_events (org_id, project_id)`.execute(db);
  await sql`CREATE INDEX sdk_events_user_idx ON sdk_events (project_id, user_id, timestamp)`.execute(db);
  await sql`CREATE INDEX sdk_events_email_idx ON sdk_events (project_id, email_sha256) WHERE email_sha256 IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX sdk_events_phone_idx ON sdk_events (project_id, phone_sha256) WHERE phone_sha256 IS NOT NULL`.execute(
    db,
  );
  await enableTenantRls(db, 'sdk_events', ['SELECT', 'INSERT']);
  // Catches months without a partition yet, so an insert never fails for want of one; the partition
  // keeper creates months ahead so this stays empty.
  await sql`CREATE TABLE sdk_events_default PARTITION OF sdk_events DEFAULT`.execute(db);
  await protectPartition(db, 'sdk_events_default');

  await sql`
    CREATE TABLE user_profiles (
      org_id text NOT NULL,
      project_id text NOT NULL REFERENCES projects(id),
      user_id text NOT NULL,
      properties jsonb NOT NULL DEFAULT '{}',
      properties_at timestamptz,
      email_sha256 text[] NOT NULL DEFAULT '{}',
      phone_sha256 text[] NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (project_id, user_id)
    ) WITH (fillfactor = 80)`.execute(db);
  // Union of two hash arrays, newest first, at most `keep` of them.
  await sql`
    CREATE FUNCTION merge_hashes(existing text[], incoming text[], keep int) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT COALESCE(array_agg(h ORDER BY pos DESC), '{}') FROM (
        SELECT h, max(pos) AS pos FROM unnest(existing || incoming) WITH ORDINALITY AS t(h, pos)
        GROUP BY h ORDER BY max(pos) DESC LIMIT keep) newest
    $$`.execute(db);
  await sql`CREATE INDEX user_profiles_org_id_idx ON user_profiles (org_id, project_id)`.execute(db);
  await sql`CREATE INDEX user_profiles_email_idx ON user_profiles USING gin (email_sha256)`.execute(db);
  await sql`CREATE INDEX user_profiles_phone_idx ON user_profiles USING gin (phone_sha256)`.execute(db);
  await enableTenantRls(db, 'user_profiles', ['SELECT', 'INSERT', 'UPDATE']);
  await createIngestBatchFunction(db);
}

/**
 * One SDK batch in one statement, so a group commit costs a single round trip: set the tenant for
 * this (implicit) transaction, fold profile updates in, insert the events not already held, return
 * the ones inserted. SECURITY INVOKER: it runs as the app role, so row-level security applies to
 * every row it writes, exactly as if the statements were sent one by one inside a tenant transaction.
 *
 * Duplicates: within a month the primary key catches them (ON CONFLICT DO NOTHING); earlier months
 * are probed explicitly. Profile updates are idempotent (same traits, same time, set union of
 * hashes), so folding a retried batch in again changes nothing.
 */
async function createIngestBatchFunction(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION ingest_batch(
      p_org text, p_received_at timestamptz, p_month date,
      e_id text[], e_project text[], e_event_id text[], e_type text[], e_event text[], e_user text[], e_ts timestamptz[],
      e_app text[], e_properties jsonb[], e_traits jsonb[], e_email text[], e_phone text[], e_country text[], e_region text[],
      p_project text[], p_user text[], p_properties jsonb[], p_properties_at timestamptz[], p_emails jsonb[], p_phones jsonb[],
      p_keep_hashes int)
    RETURNS TABLE (project_id text, event_id text)
    LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $fn$
    BEGIN
      PERFORM set_config('app.org_id', p_org, true);

      IF cardinality(p_project) > 0 THEN
        INSERT INTO user_profiles AS p (org_id, project_id, user_id, properties, properties_at, email_sha256, phone_sha256,
          created_at, updated_at)
        SELECT p_org, u.project_id, u.user_id, u.properties, u.properties_at,
          ARRAY(SELECT jsonb_array_elements_text(u.emails)), ARRAY(SELECT jsonb_array_elements_text(u.phones)),
          p_received_at, p_received_at
        FROM unnest(p_project, p_user, p_properties, p_properties_at, p_emails, p_phones)
          AS u(project_id, user_id, properties, properties_at, emails, phones)
        ON CONFLICT ON CONSTRAINT user_profiles_pkey DO UPDATE SET
          properties = CASE
            WHEN excluded.properties_at IS NULL THEN p.properties
            WHEN p.properties_at IS NULL OR excluded.properties_at >= p.properties_at THEN p.properties || excluded.properties
            ELSE excluded.properties || p.properties END,
          properties_at = GREATEST(p.properties_at, excluded.properties_at),
          email_sha256 = CASE WHEN cardinality(excluded.email_sha256) = 0 THEN p.email_sha256
            ELSE merge_hashes(p.email_sha256, excluded.email_sha256, p_keep_hashes) END,
          phone_sha256 = CASE WHEN cardinality(excluded.phone_sha256) = 0 THEN p.phone_sha256
            ELSE merge_hashes(p.phone_sha256, excluded.phone_sha256, p_keep_hashes) END,
          updated_at = excluded.updated_at;
      END IF;

      RETURN QUERY
      INSERT INTO sdk_events AS ev (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at,
        received_month, app_id, properties, traits, email_sha256, phone_sha256, geo_country, geo_region)
      SELECT u.id, p_org, u.project_id, u.event_id, u.type, u.event, u.user_id, u.ts, p_received_at,
        p_month, u.app_id, u.properties, u.traits, u.email, u.phone, u.country, u.region
      FROM unnest(e_id, e_project, e_event_id, e_type, e_event, e_user, e_ts, e_app, e_properties, e_traits, e_email, e_phone,
        e_country, e_region)
        AS u(id, project_id, event_id, type, event, user_id, ts, app_id, properties, traits, email, phone, country, region)
      WHERE NOT EXISTS (
        SELECT 1 FROM sdk_events e
        WHERE e.project_id = u.project_id AND e.event_id = u.event_id AND e.received_month < p_month)
      ON CONFLICT ON CONSTRAINT sdk_events_pkey DO NOTHING
      RETURNING ev.project_id, ev.event_id;
    END
    $fn$`.execute(db);
  await sql`REVOKE ALL ON FUNCTION ingest_batch FROM PUBLIC`.execute(db);
  await sql`GRANT EXECUTE ON FUNCTION ingest_batch TO ${sql.id(APP_ROLE)}`.execute(db);
}

/** Every partition gets the parent's RLS, forced, so that even direct access is tenant-scoped. */
export async function protectPartition(db: Kysely<unknown>, partition: string): Promise<void> {
  await sql`ALTER TABLE ${sql.table(partition)} ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`ALTER TABLE ${sql.table(partition)} FORCE ROW LEVEL SECURITY`.execute(db);
  await sql`
    CREATE POLICY tenant_isolation ON ${sql.table(partition)}
    USING (org_id = current_setting('app.org_id', true))
    WITH CHECK (org_id = current_setting('app.org_id', true))`.execute(db);
  await sql`REVOKE ALL ON ${sql.table(partition)} FROM ${sql.id(APP_ROLE)}`.execute(db);
}
