import { type Kysely, sql } from 'kysely';
import { enableTenantRls } from '../tenancy-sql.ts';

/**
 * Social accounts (registry class social_accounts) and their public post metadata (class
 * post_metadata).
 *
 * - `social_accounts`: one row per platform identity connected to a project (a TikTok user, a
 *   Facebook Page, an Instagram professional account, a YouTube channel). Tokens only as envelope
 *   ciphertext (`encrypted_*`, AAD org + account + field), deleted (NULL) in the transaction that
 *   marks the account revoked. `grant_user_id` is the Meta user whose login granted a Page or an
 *   Instagram account (Meta's deauthorize callback names that user). `refresh_lease_*` is the
 *   cross-process single-flight of a token refresh.
 * - `social_oauth_states`: a connect flow in progress: SHA-256 of the one-time `state`, what it is
 *   bound to (org, project, platform, return URL), the PKCE verifier as ciphertext, 10 minutes.
 * - `post_metadata`: recent public posts of active accounts with their metrics, kept as product
 *   analytics (purged by the month of `collected_at`, the last sync that wrote the row).
 *
 * There is no foreign key from post_metadata to social_accounts: offboarding deletes the accounts at
 * once while their post rows follow their own (later) retention.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE social_accounts (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      platform text NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'facebook', 'youtube')),
      platform_user_id text NOT NULL CHECK (length(platform_user_id) BETWEEN 1 AND 200),
      handle text CHECK (length(handle) <= 200),
      grant_user_id text CHECK (length(grant_user_id) <= 200),
      status text NOT NULL CHECK (status IN ('active', 'needs_reconnect', 'revoked')),
      scopes text[] NOT NULL DEFAULT '{}',
      encrypted_access_token text,
      encrypted_refresh_token text,
      token_expires_at timestamptz,
      refresh_expires_at timestamptz,
      refresh_lease_id text,
      refresh_lease_until timestamptz,
      refresh_failures integer NOT NULL DEFAULT 0,
      refresh_retry_at timestamptz,
      sync_not_before timestamptz,
      last_synced_at timestamptz,
      connected_at timestamptz NOT NULL,
      revoked_at timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      UNIQUE (org_id, project_id, platform, platform_user_id),
      CHECK (status <> 'revoked' OR (encrypted_access_token IS NULL AND encrypted_refresh_token IS NULL))
    )`.execute(db);
  await sql`CREATE INDEX social_accounts_org_project_idx ON social_accounts (org_id, project_id, id)`.execute(
    db,
  );
  await sql`CREATE INDEX social_accounts_project_id_idx ON social_accounts (project_id)`.execute(db);
  await sql`CREATE INDEX social_accounts_identity_idx ON social_accounts (platform, platform_user_id)`.execute(
    db,
  );
  await sql`CREATE INDEX social_accounts_grant_idx ON social_accounts (grant_user_id) WHERE grant_user_id IS NOT NULL`.execute(
    db,
  );
  await enableTenantRls(db, 'social_accounts', ['SELECT', 'INSERT', 'UPDATE']);

  await sql`
    CREATE TABLE social_oauth_states (
      state_hash text PRIMARY KEY CHECK (state_hash ~ '^[0-9a-f]{64}$'),
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      platform text NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'facebook', 'youtube')),
      return_url text NOT NULL CHECK (length(return_url) <= 2048),
      encrypted_code_verifier text NOT NULL,
      expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX social_oauth_states_org_idx ON social_oauth_states (org_id, expires_at)`.execute(db);
  await sql`CREATE INDEX social_oauth_states_project_idx ON social_oauth_states (project_id)`.execute(db);
  await enableTenantRls(db, 'social_oauth_states', ['SELECT', 'INSERT', 'DELETE']);

  await sql`
    CREATE TABLE post_metadata (
      org_id text NOT NULL REFERENCES orgs(id),
      project_id text NOT NULL REFERENCES projects(id),
      social_account_id text NOT NULL,
      platform text NOT NULL,
      platform_post_id text NOT NULL CHECK (length(platform_post_id) BETWEEN 1 AND 200),
      caption text,
      permalink text,
      published_at timestamptz,
      views bigint,
      likes bigint,
      comments bigint,
      shares bigint,
      collected_at timestamptz NOT NULL,
      PRIMARY KEY (social_account_id, platform_post_id)
    )`.execute(db);
  await sql`CREATE INDEX post_metadata_org_idx ON post_metadata (org_id, social_account_id, published_at)`.execute(
    db,
  );
  await sql`CREATE INDEX post_metadata_project_id_idx ON post_metadata (project_id)`.execute(db);
  await sql`CREATE INDEX post_metadata_collected_at_idx ON post_metadata (collected_at)`.execute(db);
  await enableTenantRls(db, 'post_metadata', ['SELECT', 'INSERT', 'UPDATE']);
}
