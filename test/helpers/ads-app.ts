import { installMetaAdsFake, type MetaAdsFake } from '../fakes/meta/meta-ads-fake.ts';
import { type MetaFake, startMetaFake } from '../fakes/meta/meta-fake.ts';
import { mediaDir } from './generation-helpers.ts';
import { callbackUri, followCallback, startConnect } from './social-accounts.ts';
import { startSocialApp } from './social-app.ts';
import { bearer, type TestApp, type TestOrg } from './test-app.ts';

export const META_APP_ID = '5551234567';
export const META_APP_SECRET = 'meta_ads_app_secret_canary';
export const AD_ACCOUNT = '120000111';
export const META_HOSTS = ['graph.facebook.com', 'graph-video.facebook.com'];

export type AdsApp = {
  fake: MetaFake;
  ads: MetaAdsFake;
  t: TestApp;
  org: TestOrg;
  projectId: string;
  accountId: string;
  pageId: string;
  env: Record<string, string>;
};

/**
 * An app against the Meta fake with its Marketing API, one org and project, and one connected
 * Facebook Page (through the real connect flow, which asks for `ads_management`).
 */
export async function startAdsApp(extraEnv: Record<string, string> = {}): Promise<AdsApp> {
  const fake = await startMetaFake({
    appId: META_APP_ID,
    appSecret: META_APP_SECRET,
    redirectUris: [callbackUri('facebook'), callbackUri('instagram')],
  });
  const ads = installMetaAdsFake(fake, { accounts: [AD_ACCOUNT], videoPollsUntilReady: 2 });
  const env = {
    META_APP_ID,
    META_APP_SECRET,
    LAYERS_MEDIA_DIR: mediaDir(),
    LAYERS_VIDEO_DURATION_MS: '6000',
    ...extraEnv,
  };
  const { t, org, projectId } = await startSocialApp(fake, META_HOSTS, env);
  const pageId = 'fbads_page0';
  fake.control.pagesByUser.set('fbads', [{ id: pageId, name: 'Ads Page' }]);
  const back = await followCallback(
    t,
    fake.authorize(await startConnect(t, org, projectId, 'facebook'), 'fbads'),
  );
  const accountId = back.location?.searchParams.get('social_account_ids');
  if (!accountId) throw new Error(`connect failed: ${back.status} ${back.body}`);
  return {
    fake,
    ads,
    t,
    org,
    projectId,
    accountId,
    pageId,
    env: { ...env, LAYERS_EGRESS_REDIRECT: META_HOSTS.map((h) => `${h}=${fake.url}`).join(',') },
  };
}

/** What the helpers below need of an ads app (the Meta one here, the TikTok one in ads-tiktok-app.ts). */
export type AdsTarget = Pick<AdsApp, 't' | 'org' | 'projectId'>;

/** A generated video of the project (a real generation: copy and an MP4). */
export async function generateVideo(a: AdsTarget): Promise<string> {
  const res = await a.t.app.inject({
    method: 'POST',
    url: `/v1/projects/${a.projectId}/generations`,
    headers: bearer(a.org.secret),
    payload: { brief: { product: 'Acme Cold Brew', tone: 'bold' }, outputs: ['copy', 'video'] },
  });
  if (res.statusCode !== 202) throw new Error(`generation: ${res.statusCode} ${res.body}`);
  await a.t.container.generations.run(a.org.id, res.json().id, 1);
  const { rows } = await a.t.db.systemPool.query(
    `SELECT id FROM media_assets WHERE generation_id = $1 AND kind = 'video'`,
    [res.json().id],
  );
  if (!rows[0]) throw new Error('no video generated');
  return rows[0].id as string;
}

export const deploymentBody = (a: AdsApp, mediaId: string, over: Record<string, unknown> = {}) => ({
  platform: 'meta',
  social_account_id: a.accountId,
  ad_account_id: `act_${AD_ACCOUNT}`,
  media_id: mediaId,
  headline: 'Cold brew, bold mornings',
  body: 'Try the boldest cold brew in town.',
  daily_budget_cents: 2500,
  status: 'paused',
  ...over,
});

export async function createDeployment(a: AdsTarget, body: object) {
  return a.t.app.inject({
    method: 'POST',
    url: `/v1/projects/${a.projectId}/ad-deployments`,
    headers: bearer(a.org.secret),
    payload: body,
  });
}

export async function getDeployment(a: AdsTarget, id: string) {
  const res = await a.t.app.inject({
    method: 'GET',
    url: `/v1/ad-deployments/${id}`,
    headers: bearer(a.org.secret),
  });
  return res.json();
}

/** Runs the job's work in this process until the deployment leaves queued/creating/cancelling. */
export async function runUntilSettled(a: AdsTarget, id: string, maxRuns = 40) {
  for (let i = 0; i < maxRuns; i++) {
    const d = await getDeployment(a, id);
    if (!['queued', 'creating', 'cancelling'].includes(d.status)) return d;
    // A rate-limit wait or a video poll ends a run with next_step_at: the test does not wait for it.
    await a.t.db.systemPool.query(`UPDATE ad_deployments SET next_step_at = NULL WHERE id = $1`, [id]);
    await a.t.container.ads.runner.run(a.org.id, id);
  }
  return getDeployment(a, id);
}
