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
      geo_country text,
      geo_region text,
      geo_at timestamptz,
      first_seen_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      PRIMARY KEY (project_id, user_id)
    )`.execute(db);
  await sql`CREATE INDEX user_profiles_org_id_idx ON user_profiles (org_id, project_id)`.execute(db);
  await sql`CREATE INDEX user_profiles_email_idx ON user_profiles USING gin (email_sha256)`.execute(db);
  await sql`CREATE INDEX user_profiles_phone_idx ON user_profiles USING gin (phone_sha256)`.execute(db);
  await enableTenantRls(db, 'user_profiles', ['SELECT', 'INSERT', 'UPDATE']);
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
