import { type Kysely, sql } from 'kysely';

/**
 * Meta ad deployments (platforms/meta/meta-ads.ts): the Marketing API's ad-account endpoints
 * (`act_{id}/…`) take a user access token (Facebook Login with `ads_management`) or a system-user
 * token, never a Page token. A Meta login's long-lived user token (the `fb_exchange_token` one,
 * about 60 days) is kept on each Facebook Page and Instagram account it granted, as envelope
 * ciphertext (AAD org + account + `user_access_token`; re-wrapped by `layers keys rotate`), deleted
 * with the Page token (revoke, needs_reconnect, partnership end). Accounts connected before this
 * migration have none: their ad deployments fail with account_needs_reconnect until reconnected.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE social_accounts
      ADD COLUMN encrypted_user_access_token text CHECK (encrypted_user_access_token LIKE 'lenc1:%'),
      ADD CONSTRAINT social_accounts_user_token_meta CHECK (platform IN ('facebook', 'instagram') OR encrypted_user_access_token IS NULL),
      ADD CONSTRAINT social_accounts_revoked_user_token CHECK (status <> 'revoked' OR encrypted_user_access_token IS NULL)`.execute(
    db,
  );
}
