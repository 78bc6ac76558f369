import { type Kysely, sql } from 'kysely';

/**
 * TikTok ad deployments (modules/ads): the advertiser access token the partner gives with a
 * deployment, as envelope ciphertext (AAD org + deployment + `advertiser_access_token`; re-wrapped by
 * `layers keys rotate`), set to NULL once the deployment is cancelled and deleted with the row by
 * retention, partnership end and project purge; and the display name of the ad identity it runs as.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE ad_deployments
      ADD COLUMN encrypted_advertiser_token text CHECK (encrypted_advertiser_token LIKE 'lenc1:%'),
      ADD COLUMN display_name text CHECK (length(display_name) BETWEEN 1 AND 40),
      ADD CONSTRAINT ad_deployments_token_platform CHECK (platform = 'tiktok' OR encrypted_advertiser_token IS NULL),
      ADD CONSTRAINT ad_deployments_cancelled_token CHECK (status <> 'cancelled' OR encrypted_advertiser_token IS NULL)`.execute(
    db,
  );
}
