import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.ts';
import {
  AD_ACCOUNT,
  type AdsApp,
  createDeployment,
  deploymentBody,
  generateVideo,
  getDeployment,
  META_APP_SECRET,
  runUntilSettled,
  startAdsApp,
} from '../helpers/ads-app.ts';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import { identifyEvent, sendEvents } from '../helpers/sdk-events.ts';
import { followCallback, startConnect } from '../helpers/social-accounts.ts';
import { closeSocialApp } from '../helpers/social-app.ts';
import { bearer, createKey, createOrg, createProject } from '../helpers/test-app.ts';

/**
 * Meta ad deployments end to end through the API: the job's runner against the Meta fake's Marketing
 * API through the real egress gateway. Everything paused, the ids in GET, one object per kind after
 * failures, retries and rate limits; cancel deletes at the platform; a revoked token mid-flow
 * fails with account_needs_reconnect; nothing of end customers reaches the platform. The Marketing
 * API calls carry the login's user token (the fake refuses a Page token there, as Meta does); an
 * account connected before that token was kept fails with account_needs_reconnect until reconnected.
 */
describe('ad deployments: Meta', () => {
  let a: AdsApp;
  let videoId: string;
  const CANARY_EMAIL = 'ads-canary-person@example.com';

  beforeAll(async () => {
    a = await startAdsApp();
    videoId = await generateVideo(a);
    // End-customer data in the project (an identified user with an email trait): it must never leave.
    const key = await createKey(a.t.app, a.org, { type: 'publishable', project_id: a.projectId });
    await sendEvents(a.t.app, key.secret, [identifyEvent('u_ads_canary', { email: CANARY_EMAIL })]);
    await a.t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(a.org.secret),
      payload: {
        url: 'https://hooks.example.com/ads',
        events: ['ad_deployment.created', 'ad_deployment.failed'],
      },
    });
  }, 120_000);
  afterAll(() => closeSocialApp(a.t, a.fake));

  const mine = (id: string, kind: Parameters<AdsApp['ads']['ofKind']>[0]) =>
    a.ads.ofKind(kind).filter((o) => o.name === `layers ${id} ${kind}`);
  const everCreated = (id: string, kind: Parameters<AdsApp['ads']['ofKind']>[0]) =>
    [...a.ads.objects.values(), ...a.ads.deleted].filter(
      (o) => o.kind === kind && o.name === `layers ${id} ${kind}`,
    ).length;

  async function deploy(over: Record<string, unknown> = {}) {
    const res = await createDeployment(a, deploymentBody(a, videoId, over));
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({
      status: 'queued',
      platform: 'meta',
      ad_account_id: `act_${AD_ACCOUNT}`,
    });
    return res.json().id as string;
  }

  /** The fake's Marketing API routes: the ad account's edges and the ad objects (numeric ids). */
  const adsCalls = () =>
    a.fake.requests.filter((r) => /^\/v25\.0\/(act_\d+\/\w+|\d+(\/(adsets|ads))?)$/.test(r.path));

  /** A deployment refused before any Marketing API call (what only a reconnect fixes): its id and message. */
  async function deployNeedingReconnect() {
    const id = await deploy();
    const before = adsCalls().length;
    const failed = await runUntilSettled(a, id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'account_needs_reconnect', platform_code: null },
    });
    expect(adsCalls().length).toBe(before);
    return { id, message: failed.error.message as string };
  }

  /** The partner reconnects the same Facebook login (the same account comes back). */
  async function reconnect() {
    const back = await followCallback(
      a.t,
      a.fake.authorize(await startConnect(a.t, a.org, a.projectId, 'facebook'), 'fbads'),
    );
    expect(back.location?.searchParams.get('social_account_ids')).toBe(a.accountId);
  }

  /** Retries the deployment; it runs to `created`. */
  async function retryToCreated(id: string) {
    const retry = await a.t.app.inject({
      method: 'POST',
      url: `/v1/ad-deployments/${id}/retry`,
      headers: bearer(a.org.secret),
    });
    expect(retry.statusCode).toBe(202);
    expect((await runUntilSettled(a, id)).status).toBe('created');
  }

  it('creates video, campaign, ad set, creative and ad, all paused, and shows their ids', async () => {
    const id = await deploy();
    expect(id).toMatch(/^ad_[0-9a-z]{26}$/);
    const done = await runUntilSettled(a, id);
    expect(done.status, JSON.stringify(done)).toBe('created');
    const ids = done.platform_ids;
    for (const kind of ['video', 'campaign', 'ad_set', 'creative', 'ad'] as const) {
      const live = mine(id, kind);
      expect(live, kind).toHaveLength(1);
      expect(ids[`${kind}_id`]).toBe(live[0]?.id);
    }
    const [campaign] = mine(id, 'campaign');
    const [adSet] = mine(id, 'ad_set');
    const [creative] = mine(id, 'creative');
    const [ad] = mine(id, 'ad');
    expect([campaign?.fields.status, adSet?.fields.status, ad?.fields.status]).toEqual([
      'PAUSED',
      'PAUSED',
      'PAUSED',
    ]);
    expect(JSON.parse(campaign?.fields.special_ad_categories ?? 'null')).toEqual([]);
    expect(adSet?.fields.daily_budget).toBe('2500');
    expect(adSet?.fields.campaign_id).toBe(campaign?.id);
    const spec = JSON.parse(creative?.fields.object_story_spec ?? '{}');
    expect(spec).toMatchObject({
      page_id: a.pageId,
      video_data: { video_id: ids.video_id, title: 'Cold brew, bold mornings' },
    });
    expect(JSON.parse(ad?.fields.creative ?? '{}')).toEqual({ creative_id: creative?.id });
    expect(a.ads.control.refused).toEqual([]);
    // Listed with its project; audited; the webhook event recorded with ids only.
    const list = await a.t.app.inject({
      method: 'GET',
      url: `/v1/projects/${a.projectId}/ad-deployments`,
      headers: bearer(a.org.secret),
    });
    expect(list.json().data.map((d: { id: string }) => d.id)).toContain(id);
    const audit = await a.t.db.systemPool.query(
      `SELECT action FROM audit_log WHERE resource_id = $1 ORDER BY seq`,
      [id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['ad_deployment.requested', 'ad_deployment.created']);
    const events = await a.t.db.systemPool.query(
      `SELECT data FROM webhook_events WHERE type = 'ad_deployment.created'`,
    );
    expect(events.rows.map((r) => r.data)).toContainEqual({
      id,
      object: 'ad_deployment',
      project_id: a.projectId,
      platform: 'meta',
      status: 'created',
    });
    // The checkpoint holds platform ids only: no token, no URL.
    const row = await a.t.db.systemPool.query(
      `SELECT checkpoint::text AS cp FROM ad_deployments WHERE id = $1`,
      [id],
    );
    expect(row.rows[0].cp).not.toMatch(/EAA|http|sig=/);
  }, 60_000);

  it('refuses every bad input with a clear 4xx before anything is queued', async () => {
    const other = await createProject(a.t.app, a.org);
    const otherOrg = await createOrg(a.t.app, 'Other ads org');
    const imageId = newId('media');
    await a.t.db.systemPool.query(
      `INSERT INTO media_assets (id, org_id, project_id, kind, content_type, width, height, bytes, sha256, store, storage_key, created_at)
       SELECT $2, org_id, project_id, 'image', 'image/png', 10, 10, 1, sha256, store, storage_key, created_at
       FROM media_assets WHERE id = $1`,
      [videoId, imageId],
    );
    const noScope = await a.t.db.systemPool.query(
      `INSERT INTO social_accounts (id, org_id, project_id, platform, platform_user_id, status, scopes, connected_at, created_at, updated_at)
       VALUES ($1, $2, $3, 'facebook', 'page_noscope', 'active', '{pages_show_list}', now(), now(), now()) RETURNING id`,
      [newId('socialAccount'), a.org.id, a.projectId],
    );
    const cases: [Record<string, unknown>, number, string | undefined][] = [
      [{ platform: 'snapchat' }, 400, undefined],
      [{ platform: 'tiktok', ad_account_id: '123' }, 400, 'social_account_id'],
      [{ ad_account_id: 'act_12ab' }, 400, 'ad_account_id'],
      [{ ad_account_id: 'acct_123' }, 400, 'ad_account_id'],
      [{ daily_budget_cents: 99 }, 400, undefined],
      [{ daily_budget_cents: 10_000_001 }, 400, undefined],
      [{ daily_budget_cents: 25.5 }, 400, undefined],
      [{ headline: 'x'.repeat(101) }, 400, undefined],
      [{ headline: '   ' }, 400, undefined],
      [{ body: 'y'.repeat(1001) }, 400, undefined],
      [{ status: 'active' }, 400, undefined],
      [{ countries: ['usa'] }, 400, undefined],
      [{ media_id: 'med_nope' }, 404, 'media_id'],
      [{ media_id: imageId }, 400, 'media_id'],
      [{ social_account_id: noScope.rows[0].id }, 400, 'social_account_id'],
      [{ social_account_id: 'sa_doesnotexist' }, 404, 'social_account_id'],
    ];
    for (const [over, status, param] of cases) {
      const res = await createDeployment(a, deploymentBody(a, videoId, over));
      expect(res.statusCode, `${JSON.stringify(over)}: ${res.body}`).toBe(status);
      if (param) expect(res.json().error.param, JSON.stringify(over)).toBe(param);
    }
    // The media and the account must be of the same project: another project's answer 404.
    const res = await a.t.app.inject({
      method: 'POST',
      url: `/v1/projects/${other.id}/ad-deployments`,
      headers: bearer(a.org.secret),
      payload: deploymentBody(a, videoId),
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.param).toBe('social_account_id');
    // Another org sees nothing of this one.
    const foreign = await a.t.app.inject({
      method: 'POST',
      url: `/v1/projects/${a.projectId}/ad-deployments`,
      headers: bearer(otherOrg.secret),
      payload: deploymentBody(a, videoId),
    });
    expect(foreign.statusCode).toBe(404);
    const n = await a.t.db.systemPool.query(
      `SELECT count(*)::int AS n FROM ad_deployments WHERE project_id <> $1`,
      [a.projectId],
    );
    expect(n.rows[0].n).toBe(0);
  });

  it('a refused ad set fails with what exists; retry resumes without duplicates; cancel deletes it all', async () => {
    a.ads.control.failNext.set('ad_set', a.ads.refusal());
    const id = await deploy();
    const failed = await runUntilSettled(a, id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'platform_refused', platform_code: '100.1885272' });
    expect(Object.keys(failed.platform_ids).sort()).toEqual(['campaign_id', 'video_id']);
    const events = await a.t.db.systemPool.query(
      `SELECT data FROM webhook_events WHERE type = 'ad_deployment.failed' AND data->>'id' = $1`,
      [id],
    );
    expect(events.rows[0].data).toMatchObject({ status: 'failed', error_code: 'platform_refused' });
    // A second retry while it runs is refused (409): only a failed deployment is retried.
    const retry = await a.t.app.inject({
      method: 'POST',
      url: `/v1/ad-deployments/${id}/retry`,
      headers: bearer(a.org.secret),
    });
    expect(retry.statusCode).toBe(202);
    expect(retry.json().status).toBe('queued');
    const again = await a.t.app.inject({
      method: 'POST',
      url: `/v1/ad-deployments/${id}/retry`,
      headers: bearer(a.org.secret),
    });
    expect(again.statusCode).toBe(409);
    const done = await runUntilSettled(a, id);
    expect(done.status).toBe('created');
    expect(done.error).toBeUndefined();
    for (const kind of ['video', 'campaign', 'ad_set', 'creative', 'ad'] as const)
      expect(everCreated(id, kind), kind).toBe(1);

    const cancel = await a.t.app.inject({
      method: 'POST',
      url: `/v1/ad-deployments/${id}/cancel`,
      headers: bearer(a.org.secret),
    });
    expect(cancel.statusCode).toBe(202);
    expect(cancel.json().status).toBe('cancelling');
    const cancelled = await runUntilSettled(a, id);
    expect(cancelled.status).toBe('cancelled');
    for (const kind of ['video', 'campaign', 'ad_set', 'creative', 'ad'] as const)
      expect(mine(id, kind), kind).toEqual([]);
    // Cancelling again is refused; the deletes are not repeated.
    const twice = await a.t.app.inject({
      method: 'POST',
      url: `/v1/ad-deployments/${id}/cancel`,
      headers: bearer(a.org.secret),
    });
    expect(twice.statusCode).toBe(409);
  }, 60_000);

  it('cancel of a failed deployment deletes what exists, also what was created after the last store', async () => {
    a.ads.control.failNext.set('creative', a.ads.refusal());
    const id = await deploy();
    expect((await runUntilSettled(a, id)).status).toBe('failed');
    // The ad set exists at the platform but the checkpoint forgot it (as after a crash): found by name.
    await a.t.db.systemPool.query(
      `UPDATE ad_deployments SET checkpoint = checkpoint - 'ad_set_id' WHERE id = $1`,
      [id],
    );
    expect(mine(id, 'ad_set')).toHaveLength(1);
    await a.t.app.inject({
      method: 'POST',
      url: `/v1/ad-deployments/${id}/cancel`,
      headers: bearer(a.org.secret),
    });
    expect((await runUntilSettled(a, id)).status).toBe('cancelled');
    for (const kind of ['video', 'campaign', 'ad_set'] as const) expect(mine(id, kind), kind).toEqual([]);
  }, 60_000);

  it('waits out the ad-account rate limits (17, 80004) and creates each object once', async () => {
    a.ads.control.failNext.set('campaign', a.ads.rateLimit(17));
    a.ads.control.failNext.set('creative', a.ads.rateLimit(80004));
    const id = await deploy();
    await a.t.container.ads.runner.run(a.org.id, id);
    const waiting = await a.t.db.systemPool.query(
      `SELECT status, next_step_at > now() + interval '30 seconds' AS waits FROM ad_deployments WHERE id = $1`,
      [id],
    );
    expect(waiting.rows[0]).toEqual({ status: 'creating', waits: true });
    const done = await runUntilSettled(a, id);
    expect(done.status).toBe('created');
    for (const kind of ['campaign', 'ad_set', 'creative', 'ad'] as const)
      expect(everCreated(id, kind), kind).toBe(1);
  }, 60_000);

  /** Runs until the campaign exists, pausing before the ad set (a rate limit on its create). */
  async function runToCampaign(id: string) {
    for (let i = 0; i < 10 && mine(id, 'campaign').length === 0; i++) {
      await a.t.db.systemPool.query(`UPDATE ad_deployments SET next_step_at = NULL WHERE id = $1`, [id]);
      a.ads.control.failNext.set('ad_set', a.ads.rateLimit(17));
      await a.t.container.ads.runner.run(a.org.id, id);
    }
    a.ads.control.failNext.delete('ad_set');
    expect(mine(id, 'campaign')).toHaveLength(1);
  }

  it('a cancel that arrives while the deployment is being created deletes what exists', async () => {
    const id = await deploy();
    await runToCampaign(id);
    expect((await getDeployment(a, id)).status).toBe('creating');
    const cancel = await a.t.app.inject({
      method: 'POST',
      url: `/v1/ad-deployments/${id}/cancel`,
      headers: bearer(a.org.secret),
    });
    expect(cancel.json().status).toBe('cancelling');
    expect((await runUntilSettled(a, id)).status).toBe('cancelled');
    for (const kind of ['video', 'campaign', 'ad_set'] as const) expect(mine(id, kind), kind).toEqual([]);
    expect(everCreated(id, 'ad_set')).toBe(0);
  }, 60_000);

  it('gives up after five transient failures in a row with platform_unavailable, keeping what exists', async () => {
    const id = await deploy();
    for (let i = 0; i < 12 && (await getDeployment(a, id)).status !== 'failed'; i++) {
      a.ads.control.failNext.set('campaign', a.ads.transient());
      await a.t.db.systemPool.query(`UPDATE ad_deployments SET next_step_at = NULL WHERE id = $1`, [id]);
      await a.t.container.ads.runner.run(a.org.id, id);
    }
    a.ads.control.failNext.delete('campaign');
    const failed = await getDeployment(a, id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'platform_unavailable', platform_code: '2' },
    });
    expect(Object.keys(failed.platform_ids)).toEqual(['video_id']);
    expect(everCreated(id, 'campaign')).toBe(0);
  }, 60_000);

  it('every Marketing API call carries the login’s user token, never the Page token', async () => {
    const id = await deploy();
    const before = adsCalls().length;
    expect((await runUntilSettled(a, id)).status).toBe('created');
    const calls = adsCalls().slice(before);
    // advideos, campaigns, adsets, adcreatives, ads on act_, and the video polls on its node.
    expect(new Set(calls.map((r) => r.path.replace(/\/\d+/g, '/N')))).toEqual(
      new Set([
        `/v25.0/act_${AD_ACCOUNT}/advideos`,
        `/v25.0/act_${AD_ACCOUNT}/campaigns`,
        `/v25.0/act_${AD_ACCOUNT}/adsets`,
        `/v25.0/act_${AD_ACCOUNT}/adcreatives`,
        `/v25.0/act_${AD_ACCOUNT}/ads`,
        '/v25.0/N',
        '/v25.0/N/adsets',
        '/v25.0/N/ads',
      ]),
    );
    const { user, page } = a.fake.tokensOf('fbads');
    expect(user.length).toBeGreaterThan(0);
    for (const r of calls) {
      expect(user, r.path).toContain(r.query.get('access_token'));
      expect(page, r.path).not.toContain(r.query.get('access_token'));
    }
    // Cancel's deletes too.
    const mark = adsCalls().length;
    await a.t.app.inject({
      method: 'POST',
      url: `/v1/ad-deployments/${id}/cancel`,
      headers: bearer(a.org.secret),
    });
    expect((await runUntilSettled(a, id)).status).toBe('cancelled');
    const deletes = adsCalls()
      .slice(mark)
      .filter((r) => r.method === 'DELETE');
    expect(deletes).toHaveLength(5);
    for (const r of deletes) expect(user).toContain(r.query.get('access_token'));
  }, 60_000);

  it('the fake refuses a Page token on the ad account as Meta does (OAuthException 200) and takes the user token', async () => {
    const { user, page } = a.fake.tokensOf('fbads');
    const call = (token: string) =>
      fetch(
        `${a.fake.url}/v25.0/act_${AD_ACCOUNT}/campaigns?${new URLSearchParams({
          access_token: token,
          appsecret_proof: createHmac('sha256', META_APP_SECRET).update(token).digest('hex'),
          fields: 'id,name',
        })}`,
      );
    const refused = await call(page[0] as string);
    expect(refused.status).toBe(403);
    expect((await refused.json()).error).toMatchObject({ type: 'OAuthException', code: 200 });
    const taken = await call(user[0] as string);
    expect(taken.status).toBe(200);
  });

  it('an account connected before the user token was kept fails with account_needs_reconnect, calling nothing; a reconnect fixes it', async () => {
    // What migration 0026 leaves on an account connected earlier: a Page token and no user token.
    await a.t.db.systemPool.query(
      `UPDATE social_accounts SET encrypted_user_access_token = NULL, user_token_expires_at = NULL WHERE id = $1`,
      [a.accountId],
    );
    const { id, message } = await deployNeedingReconnect();
    expect(message).toMatch(/user token.*Reconnect the account to grant ads access/);
    // The Page token still publishes: the account is not marked, the partner reconnects it.
    const account = await a.t.db.systemPool.query(
      `SELECT status, encrypted_access_token IS NOT NULL AS page FROM social_accounts WHERE id = $1`,
      [a.accountId],
    );
    expect(account.rows[0]).toEqual({ status: 'active', page: true });
    await reconnect();
    await retryToCreated(id);
  }, 60_000);

  it('a user token past its expiry fails with account_needs_reconnect at once, calling nothing; a reconnect renews it', async () => {
    const expired = new Date(Date.now() - 60_000);
    await a.t.db.systemPool.query(`UPDATE social_accounts SET user_token_expires_at = $2 WHERE id = $1`, [
      a.accountId,
      expired,
    ]);
    const { id, message } = await deployNeedingReconnect();
    expect(message).toContain(`ads access expired on ${expired.toISOString()}`);
    expect(message).toMatch(/Reconnect the account to renew it/);
    // Nothing was refused by Meta: the account stays active with its tokens (its Page token still publishes).
    const account = await a.t.db.systemPool.query(
      `SELECT status, encrypted_user_access_token IS NOT NULL AS user_token FROM social_accounts WHERE id = $1`,
      [a.accountId],
    );
    expect(account.rows[0]).toEqual({ status: 'active', user_token: true });
    await reconnect();
    const renewed = await a.t.db.systemPool.query(
      `SELECT user_token_expires_at AS at FROM social_accounts WHERE id = $1`,
      [a.accountId],
    );
    expect(renewed.rows[0].at.getTime()).toBeGreaterThan(Date.now());
    await retryToCreated(id);
  }, 60_000);

  it('a user token whose expiry Meta did not give (null: unknown) is shown as null and still deploys', async () => {
    await a.t.db.systemPool.query(`UPDATE social_accounts SET user_token_expires_at = NULL WHERE id = $1`, [
      a.accountId,
    ]);
    const shown = await a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${a.accountId}`,
      headers: bearer(a.org.secret),
    });
    expect(shown.json()).toMatchObject({ status: 'active', ads_access_expires_at: null });
    const id = await deploy();
    expect((await runUntilSettled(a, id)).status).toBe('created');
  }, 60_000);

  it('a permission taken back (Graph 200) fails with account_needs_reconnect; a reconnect lets it resume', async () => {
    a.ads.control.failNext.set('campaign', a.ads.permissionGone());
    const id = await deploy();
    const failed = await runUntilSettled(a, id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'account_needs_reconnect', platform_code: '200' },
    });
    const account = await a.t.db.systemPool.query(
      `SELECT status, encrypted_user_access_token FROM social_accounts WHERE id = $1`,
      [a.accountId],
    );
    expect(account.rows[0]).toEqual({ status: 'needs_reconnect', encrypted_user_access_token: null });
    await reconnect();
    await retryToCreated(id);
    expect(everCreated(id, 'campaign')).toBe(1);
  }, 60_000);

  it('the user token is ciphertext in the database and nowhere in responses or logs', async () => {
    // Every user token the fake's logins issued (the reconnect above made a second one).
    const tokens = a.fake.tokensOf('fbads').user;
    const token = tokens.at(-1);
    expect(tokens.length).toBeGreaterThan(1);
    const row = await a.t.db.systemPool.query(
      `SELECT encrypted_user_access_token AS c FROM social_accounts WHERE id = $1`,
      [a.accountId],
    );
    expect(row.rows[0].c).toMatch(/^lenc1:/);
    expect(
      a.t.container.envelope.decrypt(row.rows[0].c, {
        orgId: a.org.id,
        recordId: a.accountId,
        field: 'user_access_token',
      }),
    ).toBe(token);
    const dump = await dumpDatabase(a.t.db.systemPool);
    const bodies = await Promise.all(
      [
        `/v1/social-accounts/${a.accountId}`,
        `/v1/projects/${a.projectId}/social-accounts`,
        `/v1/projects/${a.projectId}/ad-deployments`,
      ].map(
        async (url) => (await a.t.app.inject({ method: 'GET', url, headers: bearer(a.org.secret) })).body,
      ),
    );
    expect(bodies.join('\n')).toContain(a.accountId);
    const logs = a.t.logs.join('');
    for (const t of tokens) {
      expect(t).toMatch(/^EAAL/);
      expect(dump).not.toContain(t);
      expect(bodies.join('\n')).not.toContain(t);
      expect(logs).not.toContain(t);
    }
  });

  it('sends nothing of end customers to Meta', () => {
    const all = a.fake.requests.map((r) => `${r.path}?${r.query.toString()}\n${r.body}`).join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(CANARY_EMAIL);
    expect(all).not.toContain('u_ads_canary');
  });

  it('a token revoked mid-flow fails with account_needs_reconnect', async () => {
    const id = await deploy();
    // Step until the campaign exists, then the user's password changes (every token of the login dies).
    await runToCampaign(id);
    a.fake.invalidateUser('fbads');
    const failed = await runUntilSettled(a, id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'account_needs_reconnect', platform_code: '190.460' });
    expect(failed.platform_ids.campaign_id).toBe(mine(id, 'campaign')[0]?.id);
    const account = await a.t.db.systemPool.query(`SELECT status FROM social_accounts WHERE id = $1`, [
      a.accountId,
    ]);
    expect(account.rows[0].status).toBe('needs_reconnect');
    expect(await getDeployment(a, id)).toMatchObject({ status: 'failed' });
  }, 60_000);
});
