import { type Kysely, sql } from 'kysely';

/**
 * When a Meta login's long-lived user token (0026, for the Marketing API) expires: `expires_in` of
 * the `fb_exchange_token` answer (about 60 days), so an expired token fails an ad deployment at once
 * and the partner can see it coming (`ads_access_expires_at`) instead of meeting a 190 at deploy
 * time. NULL: Meta gave no `expires_in` (unknown), or there is no user token. Never set without the
 * token, so every path that deletes the token (revoke, needs_reconnect, partnership end) clears it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE social_accounts
      ADD COLUMN user_token_expires_at timestamptz,
      ADD CONSTRAINT social_accounts_user_token_expiry CHECK (user_token_expires_at IS NULL OR encrypted_user_access_token IS NOT NULL)`.execute(
    db,
  );
}
