import { type Kysely, sql } from 'kysely';
import { enableTenantRls } from '../tenancy-sql.ts';

/**
 * The console's accounts (registry class console_accounts: Layers is the controller of this data).
 *
 * - console_accounts: one partner representative in one org. The email is kept only as SHA-256 of
 *   its normalized form (`email_sha256`, for sign-in lookups) and as envelope ciphertext
 *   (`encrypted_email`, AAD org + account + field, for the members list and "download my data").
 *   The password is a scrypt hash (N = 2^17, r = 8, p = 1, parameters in the stored string); the TOTP
 *   secret is ciphertext; `totp_last_step` makes each code usable once (a conditional UPDATE).
 * - console_sessions: the SHA-256 of a 256-bit random token (the cookie holds the token), an absolute
 *   expiry (12 h) and the last time it was used (30-minute idle timeout).
 * - console_invitations: SHA-256 of a 256-bit one-time token, 24 h.
 * - console_recovery_codes: SHA-256 of 125-bit one-time codes (ASVS 6.5.2: a plain hash suffices
 *   at ≥ 112 bits); a used code's row is deleted.
 * - console_org_settings: whether the org requires TOTP of every member.
 * - console_login_throttle: failed sign-ins per account (bucket = SHA-256 of the email hash, also for
 *   emails without an account) and per address (SHA-256 of the address), in 15-minute windows; in
 *   PostgreSQL so every process sees the same counts. org_id is set for a known account's bucket and
 *   NULL otherwise. Reached only by the system connection (sign-in happens before any tenant is known).
 *
 * Every table carries `expires_at` (the registry's clock: NULL = for the account's lifetime), so the
 * retention sweeper's delete_expired purger removes dead sessions, invitations and throttle windows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE console_accounts (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      email_sha256 text NOT NULL UNIQUE CHECK (email_sha256 ~ '^[0-9a-f]{64}$'),
      encrypted_email text NOT NULL,
      role text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
      password_hash text NOT NULL,
      encrypted_totp_secret text,
      totp_enabled_at timestamptz,
      totp_last_step bigint,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      expires_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX console_accounts_org_id_idx ON console_accounts (org_id, id)`.execute(db);

  await sql`
    CREATE TABLE console_sessions (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      account_id text NOT NULL REFERENCES console_accounts(id) ON DELETE CASCADE,
      token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
      user_agent text CHECK (length(user_agent) <= 200),
      created_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX console_sessions_org_id_idx ON console_sessions (org_id, account_id)`.execute(db);
  await sql`CREATE INDEX console_sessions_account_id_idx ON console_sessions (account_id)`.execute(db);
  await sql`CREATE INDEX console_sessions_expires_at_idx ON console_sessions (expires_at)`.execute(db);

  await sql`
    CREATE TABLE console_invitations (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id),
      email_sha256 text NOT NULL CHECK (email_sha256 ~ '^[0-9a-f]{64}$'),
      encrypted_email text NOT NULL,
      role text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
      token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
      invited_by text,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX console_invitations_org_id_idx ON console_invitations (org_id, id)`.execute(db);
  await sql`CREATE INDEX console_invitations_expires_at_idx ON console_invitations (expires_at)`.execute(db);

  await sql`
    CREATE TABLE console_recovery_codes (
      org_id text NOT NULL REFERENCES orgs(id),
      account_id text NOT NULL REFERENCES console_accounts(id) ON DELETE CASCADE,
      code_sha256 text NOT NULL CHECK (code_sha256 ~ '^[0-9a-f]{64}$'),
      created_at timestamptz NOT NULL,
      expires_at timestamptz,
      PRIMARY KEY (account_id, code_sha256)
    )`.execute(db);
  await sql`CREATE INDEX console_recovery_codes_org_id_idx ON console_recovery_codes (org_id)`.execute(db);

  await sql`
    CREATE TABLE console_org_settings (
      org_id text PRIMARY KEY REFERENCES orgs(id),
      mfa_required boolean NOT NULL DEFAULT false,
      updated_at timestamptz NOT NULL,
      expires_at timestamptz
    )`.execute(db);

  await sql`
    CREATE TABLE console_login_throttle (
      bucket text PRIMARY KEY CHECK (bucket ~ '^(account|address):[0-9a-f]{64}$'),
      org_id text REFERENCES orgs(id),
      failures integer NOT NULL CHECK (failures >= 0),
      window_ends_at timestamptz NOT NULL,
      locked_until timestamptz,
      expires_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX console_login_throttle_org_id_idx ON console_login_throttle (org_id) WHERE org_id IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX console_login_throttle_expires_at_idx ON console_login_throttle (expires_at)`.execute(
    db,
  );

  for (const table of [
    'console_accounts',
    'console_sessions',
    'console_invitations',
    'console_recovery_codes',
  ])
    await enableTenantRls(db, table, ['SELECT', 'INSERT', 'UPDATE', 'DELETE']);
  await enableTenantRls(db, 'console_org_settings', ['SELECT', 'INSERT', 'UPDATE']);
  // Sign-in throttling runs before any tenant is known, on the system connection; the app role may
  // only read an org's own account buckets (address buckets have no org and are never visible).
  await enableTenantRls(db, 'console_login_throttle', ['SELECT']);
}
