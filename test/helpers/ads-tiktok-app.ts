import { newId } from '../../src/lib/ids.ts';
import { startTikTokAdsFake, type TikTokAdsFake } from '../fakes/tiktok/tiktok-ads-fake.ts';
import { mediaDir } from './generation-helpers.ts';
import { startSocialApp } from './social-app.ts';
import type { TestApp, TestOrg } from './test-app.ts';

export const ADVERTISER_ID = '7100000000000000111';
/** A live advertiser token at the fake, and a canary: it must never appear in plaintext anywhere. */
export const ADVERTISER_TOKEN = 'ttads-canary-9f1c2e7d4b6a8c0e1f3a5b7d9c2e4f6a';
/** The token of a second authorization of the same advertiser (after the first was revoked). */
export const RENEWED_TOKEN = 'ttads-renewed-canary-3b5d7f9a1c2e4f6a8b0d';
export const TIKTOK_ADS_HOST = 'business-api.tiktok.com';

export type TikTokAdsApp = {
  fake: TikTokAdsFake;
  t: TestApp;
  org: TestOrg;
  projectId: string;
  accountId: string;
  env: Record<string, string>;
};

/**
 * An app against the TikTok Marketing API fake, one org and project, and one connected TikTok
 * account (an active Login Kit account row with its handle: the Marketing API calls carry the
 * advertiser token of each deployment, never this account's token).
 */
export async function startTikTokAdsApp(extraEnv: Record<string, string> = {}): Promise<TikTokAdsApp> {
  const fake = await startTikTokAdsFake({
    advertisers: [ADVERTISER_ID],
    tokens: [ADVERTISER_TOKEN, RENEWED_TOKEN],
    videoPollsUntilReady: 2,
  });
  const env = { LAYERS_MEDIA_DIR: mediaDir(), LAYERS_VIDEO_DURATION_MS: '6000', ...extraEnv };
  const { t, org, projectId } = await startSocialApp(fake, [TIKTOK_ADS_HOST], env);
  const { rows } = await t.db.systemPool.query(
    `INSERT INTO social_accounts (id, org_id, project_id, platform, platform_user_id, handle, status, scopes, connected_at, created_at, updated_at)
     VALUES ($1, $2, $3, 'tiktok', 'open_ads_brand', 'acme_brand', 'active', '{user.info.basic,video.publish}', now(), now(), now())
     RETURNING id`,
    [newId('socialAccount'), org.id, projectId],
  );
  return {
    fake,
    t,
    org,
    projectId,
    accountId: rows[0].id as string,
    env: { ...env, LAYERS_EGRESS_REDIRECT: `${TIKTOK_ADS_HOST}=${fake.url}` },
  };
}

export const tiktokDeploymentBody = (
  a: TikTokAdsApp,
  mediaId: string,
  over: Record<string, unknown> = {},
) => ({
  platform: 'tiktok',
  social_account_id: a.accountId,
  ad_account_id: ADVERTISER_ID,
  advertiser_access_token: ADVERTISER_TOKEN,
  media_id: mediaId,
  headline: 'Cold brew, bold mornings',
  body: 'Try the boldest cold brew in town.',
  daily_budget_cents: 2500,
  status: 'paused',
  ...over,
});
