import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateKeys } from '../../src/cli/key-rotation.ts';
import {
  createEnvelope,
  generateKeyEncryptionKey,
  parseKeyEncryptionKeys,
} from '../../src/lib/envelope-crypto.ts';
import { newId } from '../../src/lib/ids.ts';
import { createDeployment, generateVideo, getDeployment, runUntilSettled } from '../helpers/ads-app.ts';
import {
  ADVERTISER_ID,
  ADVERTISER_TOKEN,
  RENEWED_TOKEN,
  startTikTokAdsApp,
  type TikTokAdsApp,
  tiktokDeploymentBody,
} from '../helpers/ads-tiktok-app.ts';
import { dumpDatabase } from '../helpers/database-inspection.ts';
import { identifyEvent, sendEvents } from '../helpers/sdk-events.ts';
import { closeSocialApp } from '../helpers/social-app.ts';
import { bearer, createKey } from '../helpers/test-app.ts';

/**
 * TikTok ad deployments end to end through the API: the job's runner against the TikTok Marketing
 * API fake through the real egress gateway, with the advertiser token given in the request. Created
 * disabled, the ids in GET, one object per kind after refusals, retries and rate limits; cancel
 * deletes at TikTok and forgets the token; a token revoked mid-flow fails with
 * account_needs_reconnect; the token is never stored, shown or logged in plaintext.
 */
describe('ad deployments: TikTok', () => {
  let a: TikTokAdsApp;
  let videoId: string;
  const responses: string[] = [];
  const CANARY_EMAIL = 'tiktok-ads-canary@example.com';

  beforeAll(async () => {
    a = await startTikTokAdsApp();
    videoId = await generateVideo(a);
    const key = await createKey(a.t.app, a.org, { type: 'publishable', project_id: a.projectId });
    await sendEvents(a.t.app, key.secret, [identifyEvent('u_tt_ads_canary', { email: CANARY_EMAIL })]);
  }, 120_000);
  afterAll(() => closeSocialApp(a.t, a.fake));

  const mine = (id: string, kind: 'campaign' | 'ad_group' | 'ad' | 'video') => {
    const suffix = kind === 'ad_group' ? 'ad_set' : kind;
    return a.fake.ofKind(kind).filter((o) => o.name === `layers ${id} ${suffix}`);
  };
  const live = (id: string, kind: 'campaign' | 'ad_group' | 'ad') =>
    mine(id, kind).filter((o) => o.status !== 'DELETE');
  const get = async (id: string) => {
    const d = await getDeployment(a, id);
    responses.push(JSON.stringify(d));
    return d;
  };
  const settle = async (id: string) => {
    const d = await runUntilSettled(a, id);
    responses.push(JSON.stringify(d));
    return d;
  };
  const post = async (url: string) => {
    const res = await a.t.app.inject({ method: 'POST', url, headers: bearer(a.org.secret) });
    responses.push(res.body);
    return res;
  };

  async function deploy(over: Record<string, unknown> = {}) {
    const res = await createDeployment(a, tiktokDeploymentBody(a, videoId, over));
    responses.push(res.body);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ status: 'queued', platform: 'tiktok', ad_account_id: ADVERTISER_ID });
    return res.json().id as string;
  }

  it('uploads the video and its cover, then creates campaign, ad group and ad, all disabled', async () => {
    const id = await deploy({ countries: ['US', 'GB'] });
    const done = await settle(id);
    expect(done.status, JSON.stringify(done)).toBe('created');
    const [campaign] = live(id, 'campaign');
    const [group] = live(id, 'ad_group');
    const [ad] = live(id, 'ad');
    expect([
      mine(id, 'video').length,
      live(id, 'campaign').length,
      live(id, 'ad_group').length,
      live(id, 'ad').length,
    ]).toEqual([1, 1, 1, 1]);
    expect(done.platform_ids).toMatchObject({
      video_id: mine(id, 'video')[0]?.id,
      campaign_id: campaign?.id,
      ad_set_id: group?.id,
      ad_id: ad?.id,
    });
    expect(a.fake.objects.get(done.platform_ids.creative_id)?.kind).toBe('image');
    // The campaign was created ENABLE (operation_status is allowlist-only) and then paused.
    expect([campaign?.status, group?.status, ad?.status]).toEqual(['DISABLE', 'DISABLE', 'DISABLE']);
    expect(group?.fields).toMatchObject({
      campaign_id: campaign?.id,
      budget: 25,
      budget_mode: 'BUDGET_MODE_DAY',
      location_ids: ['6252001', '2635167'],
    });
    const creative = ad?.fields as Record<string, unknown>;
    expect(creative).toMatchObject({
      identity_type: 'CUSTOMIZED_USER',
      ad_format: 'SINGLE_VIDEO',
      video_id: done.platform_ids.video_id,
      image_ids: [done.platform_ids.creative_id],
      ad_text: 'Try the boldest cold brew in town.',
    });
    expect(a.fake.objects.get(String(creative.identity_id))?.name).toBe('acme_brand');
    expect(a.fake.control.refused).toEqual([]);
    const row = await a.t.db.systemPool.query(
      `SELECT checkpoint::text AS cp, encrypted_advertiser_token AS tok FROM ad_deployments WHERE id = $1`,
      [id],
    );
    expect(row.rows[0].cp).not.toMatch(/http|sig|ttads/);
    expect(row.rows[0].tok).toMatch(/^lenc1:/);
    // A second deployment reuses the advertiser's identity instead of creating another.
    const second = await deploy({ countries: ['US'] });
    expect((await settle(second)).status).toBe('created');
    expect(a.fake.ofKind('identity')).toHaveLength(1);
  }, 60_000);

  it('refuses every bad input with a 400 naming the field before anything is queued', async () => {
    const before = await a.t.db.systemPool.query(`SELECT count(*)::int AS n FROM ad_deployments`);
    const fb = await a.t.db.systemPool.query(
      `INSERT INTO social_accounts (id, org_id, project_id, platform, platform_user_id, status, scopes, connected_at, created_at, updated_at)
       VALUES ($1, $2, $3, 'facebook', 'page_tt_case', 'active', '{ads_management}', now(), now(), now()) RETURNING id`,
      [newId('socialAccount'), a.org.id, a.projectId],
    );
    const stale = await a.t.db.systemPool.query(
      `INSERT INTO social_accounts (id, org_id, project_id, platform, platform_user_id, handle, status, scopes, connected_at, created_at, updated_at)
       VALUES ($1, $2, $3, 'tiktok', 'open_stale', 'stale', 'needs_reconnect', '{}', now(), now(), now()) RETURNING id`,
      [newId('socialAccount'), a.org.id, a.projectId],
    );
    const cases: [Record<string, unknown>, string | undefined][] = [
      [{ advertiser_access_token: undefined }, 'advertiser_access_token'],
      [{ advertiser_access_token: 'short' }, undefined],
      [{ advertiser_access_token: `${'a'.repeat(20)} b` }, undefined],
      [{ advertiser_access_token: `${'a'.repeat(20)}é` }, undefined],
      [{ advertiser_access_token: 'a'.repeat(513) }, undefined],
      [{ ad_account_id: 'act_123' }, 'ad_account_id'],
      [{ body: 'y'.repeat(101) }, 'body'],
      [{ countries: ['ZZ'] }, 'countries'],
      [{ display_name: 'd'.repeat(41) }, undefined],
      [{ display_name: ' ' }, undefined],
      [{ social_account_id: fb.rows[0].id }, 'social_account_id'],
      [{ social_account_id: stale.rows[0].id }, 'social_account_id'],
      [
        { platform: 'meta', ad_account_id: '123', social_account_id: fb.rows[0].id },
        'advertiser_access_token',
      ],
    ];
    for (const [over, param] of cases) {
      const res = await createDeployment(a, tiktokDeploymentBody(a, videoId, over));
      responses.push(res.body);
      expect(res.statusCode, `${JSON.stringify(over).slice(0, 80)}: ${res.body}`).toBe(400);
      if (param) expect(res.json().error.param, JSON.stringify(over).slice(0, 80)).toBe(param);
    }
    const after = await a.t.db.systemPool.query(`SELECT count(*)::int AS n FROM ad_deployments`);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('a refused ad group fails with what exists; retry resumes without duplicates; cancel deletes and forgets the token', async () => {
    a.fake.control.failNext.set(
      'ad_group',
      a.fake.tiktokError(40002, 'Budget is too low for this ad group.'),
    );
    const id = await deploy();
    const failed = await settle(id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'platform_refused', platform_code: '40002' },
    });
    expect(Object.keys(failed.platform_ids).sort()).toEqual(['campaign_id', 'creative_id', 'video_id']);
    expect((await post(`/v1/ad-deployments/${id}/retry`)).statusCode).toBe(202);
    const done = await settle(id);
    expect(done.status).toBe('created');
    for (const kind of ['campaign', 'ad_group', 'ad', 'video'] as const)
      expect(mine(id, kind), kind).toHaveLength(1);

    const cancel = await post(`/v1/ad-deployments/${id}/cancel`);
    expect(cancel.json().status).toBe('cancelling');
    expect((await settle(id)).status).toBe('cancelled');
    for (const kind of ['campaign', 'ad_group', 'ad'] as const) {
      expect(
        mine(id, kind).map((o) => o.status),
        kind,
      ).toEqual(['DELETE']);
    }
    const row = await a.t.db.systemPool.query(
      `SELECT encrypted_advertiser_token FROM ad_deployments WHERE id = $1`,
      [id],
    );
    expect(row.rows[0].encrypted_advertiser_token).toBeNull();
    expect((await post(`/v1/ad-deployments/${id}/cancel`)).statusCode).toBe(409);
  }, 60_000);

  it('cancel finds by name what a crash left out of the checkpoint; deleting twice is not needed', async () => {
    a.fake.control.failNext.set('ad', a.fake.tiktokError(40002, 'Invalid ad text.'));
    const id = await deploy();
    expect((await settle(id)).status).toBe('failed');
    await a.t.db.systemPool.query(
      `UPDATE ad_deployments SET checkpoint = checkpoint - 'ad_set_id' WHERE id = $1`,
      [id],
    );
    await post(`/v1/ad-deployments/${id}/cancel`);
    expect((await settle(id)).status).toBe('cancelled');
    expect(mine(id, 'ad_group').map((o) => o.status)).toEqual(['DELETE']);
    expect(mine(id, 'campaign').map((o) => o.status)).toEqual(['DELETE']);
  }, 60_000);

  it('waits out TikTok’s rate limit (40100) and creates each object once', async () => {
    a.fake.control.failNext.set('campaign', a.fake.tiktokError(40100, 'Too many requests.'));
    const id = await deploy();
    await runUntilRateLimited(id);
    const done = await settle(id);
    expect(done.status).toBe('created');
    for (const kind of ['campaign', 'ad_group', 'ad'] as const) expect(mine(id, kind), kind).toHaveLength(1);
  }, 60_000);

  /** Steps until the deployment waits on TikTok's rate limit (a minute ahead, not a video poll). */
  async function runUntilRateLimited(id: string) {
    for (let i = 0; i < 20; i++) {
      await a.t.db.systemPool.query(`UPDATE ad_deployments SET next_step_at = NULL WHERE id = $1`, [id]);
      await a.t.container.ads.runner.run(a.org.id, id);
      const { rows } = await a.t.db.systemPool.query(
        `SELECT status, next_step_at > now() + interval '30 seconds' AS waits FROM ad_deployments WHERE id = $1`,
        [id],
      );
      if (rows[0].waits) {
        expect(rows[0].status).toBe('creating');
        expect(mine(id, 'campaign')).toHaveLength(0);
        return;
      }
    }
    throw new Error('never waited on the rate limit');
  }

  it('gives up after five system errors in a row with platform_unavailable', async () => {
    const id = await deploy();
    for (let i = 0; i < 20 && (await get(id)).status !== 'failed'; i++) {
      a.fake.control.failNext.set('campaign', a.fake.tiktokError(50000, 'System error.'));
      await a.t.db.systemPool.query(`UPDATE ad_deployments SET next_step_at = NULL WHERE id = $1`, [id]);
      await a.t.container.ads.runner.run(a.org.id, id);
    }
    a.fake.control.failNext.delete('campaign');
    expect(await get(id)).toMatchObject({
      status: 'failed',
      error: { code: 'platform_unavailable', platform_code: '50000' },
    });
    expect(mine(id, 'campaign')).toHaveLength(0);
  }, 60_000);

  it('a token revoked mid-flow fails with account_needs_reconnect; the Login Kit account stays active', async () => {
    const id = await deploy();
    // Runs until the campaign exists, pausing before the ad group (a rate limit on its create).
    for (let i = 0; i < 20 && mine(id, 'campaign').length === 0; i++) {
      a.fake.control.failNext.set('ad_group', a.fake.tiktokError(40100, 'Too many requests.'));
      await a.t.db.systemPool.query(`UPDATE ad_deployments SET next_step_at = NULL WHERE id = $1`, [id]);
      await a.t.container.ads.runner.run(a.org.id, id);
    }
    a.fake.control.failNext.delete('ad_group');
    expect((await get(id)).status).toBe('creating');
    a.fake.revoke(ADVERTISER_TOKEN);
    const failed = await settle(id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'account_needs_reconnect', platform_code: '40105' },
    });
    expect(failed.platform_ids.campaign_id).toBe(mine(id, 'campaign')[0]?.id);
    expect(mine(id, 'ad_group')).toHaveLength(0);
    const account = await a.t.db.systemPool.query(`SELECT status FROM social_accounts WHERE id = $1`, [
      a.accountId,
    ]);
    expect(account.rows[0].status).toBe('active');
    // A retry with the advertiser's new token resumes from what exists; a malformed one is refused.
    const retry = (payload: object) =>
      a.t.app.inject({
        method: 'POST',
        url: `/v1/ad-deployments/${id}/retry`,
        headers: bearer(a.org.secret),
        payload,
      });
    const bad = await retry({ advertiser_access_token: 'not a token' });
    responses.push(bad.body);
    expect(bad.statusCode).toBe(400);
    const renewed = await retry({ advertiser_access_token: RENEWED_TOKEN });
    responses.push(renewed.body);
    expect(renewed.statusCode, renewed.body).toBe(202);
    expect((await settle(id)).status).toBe('created');
    for (const kind of ['campaign', 'ad_group', 'ad'] as const) expect(mine(id, kind), kind).toHaveLength(1);
    const audit = await a.t.db.systemPool.query(
      `SELECT changes::text AS c FROM audit_log WHERE resource_id = $1 AND action = 'ad_deployment.retried'`,
      [id],
    );
    expect(audit.rows[0].c).toContain('[replaced]');
    expect(audit.rows[0].c).not.toContain(RENEWED_TOKEN);
  }, 60_000);

  it('layers keys rotate re-wraps the advertiser tokens', async () => {
    const before = await a.t.db.systemPool.query(
      `SELECT id, encrypted_advertiser_token AS tok FROM ad_deployments WHERE encrypted_advertiser_token IS NOT NULL ORDER BY id LIMIT 1`,
    );
    const { id, tok } = before.rows[0];
    const newKey = generateKeyEncryptionKey();
    const report = await rotateKeys(
      a.t.db.system,
      createEnvelope(parseKeyEncryptionKeys(`${newKey},${a.t.config.encryptionKey}`)),
    );
    expect(report.unknown_columns).toEqual([]);
    expect(report.columns).toContainEqual(
      expect.objectContaining({
        table: 'ad_deployments',
        column: 'encrypted_advertiser_token',
        remaining: 0,
      }),
    );
    const after = await a.t.db.systemPool.query(
      `SELECT encrypted_advertiser_token AS tok FROM ad_deployments WHERE id = $1`,
      [id],
    );
    expect(after.rows[0].tok).not.toBe(tok);
    const onlyNew = createEnvelope(parseKeyEncryptionKeys(newKey));
    expect(
      onlyNew.decrypt(after.rows[0].tok, { orgId: a.org.id, recordId: id, field: 'advertiser_access_token' }),
    ).toBe(ADVERTISER_TOKEN);
  });

  it('sends nothing of end customers to TikTok, and the token only in the Access-Token header', () => {
    const sent = a.fake.requests.map((r) => `${r.path}?${r.query.toString()}\n${r.body}`).join('\n');
    expect(a.fake.requests.length).toBeGreaterThan(20);
    expect(sent).not.toContain(CANARY_EMAIL);
    expect(sent).not.toContain('u_tt_ads_canary');
    expect(sent).not.toContain(ADVERTISER_TOKEN);
    expect(sent).not.toContain(RENEWED_TOKEN);
  });

  it('keeps the token out of the database in plaintext, out of every response and every log line', async () => {
    expect(responses.length).toBeGreaterThan(10);
    for (const body of responses) expect(body).not.toMatch(/ttads-/);
    const dump = await dumpDatabase(a.t.db.systemPool);
    expect(dump).not.toContain(ADVERTISER_TOKEN);
    expect(dump).not.toContain(RENEWED_TOKEN);
    expect(a.t.logs.join('\n')).not.toMatch(/ttads-/);
  });
});
