import { type Kysely, sql } from 'kysely';
import { APP_ROLE, enableTenantRls } from '../tenancy-sql.ts';

/**
 * The partner API's own state: orgs, API keys, projects, webhook endpoints, the audit log (a hash
 * chain per org), the request log and the idempotency cache. Every tenant table carries `org_id`,
 * an index that starts with it, and forced row-level security on the per-transaction tenant setting.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${sql.lit(APP_ROLE)}) THEN
        CREATE ROLE ${sql.id(APP_ROLE)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
      END IF;
    END $$`.execute(db);
  await sql`GRANT USAGE ON SCHEMA public TO ${sql.id(APP_ROLE)}`.execute(db);

  await sql`
    CREATE TABLE orgs (
      id text PRIMARY KEY,
      name text NOT NULL,
      tier text NOT NULL CHECK (tier IN ('standard', 'partner')),
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'offboarded')),
      created_at timestamptz NOT NULL,
      offboarded_at timestamptz
    )`.execute(db);
  // orgs is keyed by id rather than org_id; its policy lets a tenant see only itself.
  await sql`ALTER TABLE orgs ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`ALTER TABLE orgs FORCE ROW LEVEL SECURITY`.execute(db);
  await sql`CREATE POLICY tenant_isolation ON orgs USING (id = current_setting('app.org_id', true))`.execute(
    db,
  );
  await sql`GRANT SELECT ON orgs TO ${sql.id(APP_ROLE)}`.execute(db);

  await sql`
    CREATE TABLE projects (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      name text NOT NULL,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending_deletion')),
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      deleted_at timestamptz,
      purge_after timestamptz
    )`.execute(db);
  await sql`CREATE INDEX projects_org_id_idx ON projects (org_id, id)`.execute(db);
  await enableTenantRls(db, 'projects', ['SELECT', 'INSERT', 'UPDATE']);

  await sql`
    CREATE TABLE api_keys (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text REFERENCES projects(id),
      type text NOT NULL CHECK (type IN ('secret', 'publishable')),
      name text NOT NULL,
      key_hash text NOT NULL UNIQUE,
      last4 text NOT NULL,
      created_at timestamptz NOT NULL,
      revoked_at timestamptz,
      last_used_at timestamptz,
      CHECK ((type = 'publishable') = (project_id IS NOT NULL))
    )`.execute(db);
  await sql`CREATE INDEX api_keys_org_id_idx ON api_keys (org_id, id)`.execute(db);
  await sql`CREATE INDEX api_keys_project_id_idx ON api_keys (project_id)`.execute(db);
  await enableTenantRls(db, 'api_keys', ['SELECT', 'INSERT', 'UPDATE']);

  await sql`
    CREATE TABLE webhook_endpoints (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      url text NOT NULL,
      description text,
      events text[] NOT NULL,
      status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
      encrypted_secret text NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX webhook_endpoints_org_id_idx ON webhook_endpoints (org_id, id)`.execute(db);
  await enableTenantRls(db, 'webhook_endpoints', ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

  // The audit log is append-only for the app: INSERT and SELECT, never UPDATE or DELETE.
  await sql`
    CREATE TABLE audit_log (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      seq bigint NOT NULL,
      action text NOT NULL,
      actor_type text NOT NULL CHECK (actor_type IN ('api_key', 'user', 'system')),
      actor_id text,
      resource_type text NOT NULL,
      resource_id text NOT NULL,
      changes jsonb NOT NULL,
      request_id text,
      created_at timestamptz NOT NULL,
      prev_hash text NOT NULL,
      hash text NOT NULL,
      UNIQUE (org_id, seq)
    )`.execute(db);
  await sql`CREATE INDEX audit_log_org_id_idx ON audit_log (org_id, id)`.execute(db);
  await sql`CREATE INDEX audit_log_resource_idx ON audit_log (org_id, resource_type, resource_id)`.execute(
    db,
  );
  await enableTenantRls(db, 'audit_log', ['SELECT', 'INSERT']);

  // One row per org holding the head of its audit chain; updating it serialises appends per org.
  await sql`
    CREATE TABLE audit_chain_heads (
      org_id text PRIMARY KEY REFERENCES orgs(id),
      seq bigint NOT NULL,
      hash text NOT NULL
    )`.execute(db);
  await enableTenantRls(db, 'audit_chain_heads', ['SELECT', 'INSERT', 'UPDATE']);

  // Request metadata only: never a body, query string, IP or header value. Written in batches by the
  // system connection (one batch holds many orgs), so the app role only reads it.
  await sql`
    CREATE TABLE request_log (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      api_key_id text,
      method text NOT NULL,
      route text NOT NULL,
      status smallint NOT NULL,
      latency_ms real NOT NULL,
      created_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX request_log_org_id_idx ON request_log (org_id, created_at)`.execute(db);
  await sql`CREATE INDEX request_log_created_at_idx ON request_log (created_at)`.execute(db);
  await enableTenantRls(db, 'request_log', ['SELECT']);

  // The idempotency cache: written in the same transaction as the effect it replays.
  await sql`
    CREATE TABLE idempotency_keys (
      org_id text NOT NULL REFERENCES orgs(id),
      key text NOT NULL,
      request_hash text NOT NULL,
      status_code smallint NOT NULL,
      response_body text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, key)
    )`.execute(db);
  await sql`CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at)`.execute(db);
  await enableTenantRls(db, 'idempotency_keys', ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);

  // Authentication happens before the tenant is known, so key lookup goes through a narrow
  // SECURITY DEFINER function instead of giving the app role a view across tenants.
  await sql`
    CREATE FUNCTION auth_find_api_key(p_key_hash text)
    RETURNS TABLE (id text, org_id text, project_id text, type text, revoked boolean, org_active boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
      SELECT k.id, k.org_id, k.project_id, k.type, k.revoked_at IS NOT NULL, o.status = 'active'
      FROM api_keys k JOIN orgs o ON o.id = k.org_id
      WHERE k.key_hash = p_key_hash
    $$`.execute(db);
  await sql`
    CREATE FUNCTION auth_revoked_api_keys(p_ids text[])
    RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
      SELECT k.id FROM api_keys k JOIN orgs o ON o.id = k.org_id
      WHERE k.id = ANY(p_ids) AND (k.revoked_at IS NOT NULL OR o.status <> 'active')
    $$`.execute(db);
  await sql`
    CREATE FUNCTION auth_touch_api_keys(p_ids text[], p_at timestamptz)
    RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
      UPDATE api_keys SET last_used_at = p_at
      WHERE id = ANY(p_ids) AND (last_used_at IS NULL OR last_used_at < p_at)
    $$`.execute(db);
  for (const fn of [
    'auth_find_api_key(text)',
    'auth_revoked_api_keys(text[])',
    'auth_touch_api_keys(text[], timestamptz)',
  ]) {
    await sql.raw(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`).execute(db);
    await sql.raw(`GRANT EXECUTE ON FUNCTION ${fn} TO ${APP_ROLE}`).execute(db);
  }
}
