import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.ts';
import type { TikTokFake } from '../fakes/tiktok/tiktok-fake.ts';
import { createSecondInstance } from '../helpers/second-instance.ts';
import { callbackUri, followCallback, startConnect } from '../helpers/social-accounts.ts';
import { closeSocialApp, startTikTokApp } from '../helpers/social-app.ts';
import { bearer, createProject, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/**
 * TikTok end to end against the fake: connect through the callback, tokens stored only as
 * ciphertext, refresh with rotation single-flight across two app instances, invalid_grant →
 * needs_reconnect, revoke, post sync with a 429.
 */
describe('social accounts: TikTok', () => {
  let fake: TikTokFake;
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  const KEY = 'tt_client_key_1';
  const SECRET = 'tt_client_secret_canary_1';

  beforeAll(async () => {
    ({ fake, t, org, projectId } = await startTikTokApp(KEY, SECRET));
  });
  afterAll(() => closeSocialApp(t, fake));

  async function connect(openId: string): Promise<string> {
    const authUrl = await startConnect(t, org, projectId, 'tiktok');
    const back = await followCallback(t, fake.authorize(authUrl, openId));
    expect(back.status).toBe(303);
    expect(back.location?.origin).toBe('https://app.example.com');
    const ids = back.location?.searchParams.get('social_account_ids');
    expect(ids, back.location?.href).toMatch(/^sa_[0-9a-z]{26}$/);
    return ids as string;
  }

  const account = async (id: string) =>
    (
      await t.app.inject({ method: 'GET', url: `/v1/social-accounts/${id}`, headers: bearer(org.secret) })
    ).json();
  const row = async (id: string) =>
    (await t.db.systemPool.query('SELECT * FROM social_accounts WHERE id = $1', [id])).rows[0];
  const eventTypes = async (id: string) =>
    (
      await t.db.systemPool.query(
        `SELECT type FROM webhook_events WHERE org_id = $1 AND data->>'id' = $2 ORDER BY id`,
        [org.id, id],
      )
    ).rows.map((r) => r.type);

  it('connects through the callback: one sa_, tokens as ciphertext, handle and scopes from TikTok', async () => {
    const id = await connect('open_tt_connect');
    const body = await account(id);
    expect(body).toMatchObject({
      id,
      platform: 'tiktok',
      platform_user_id: 'open_tt_connect',
      handle: 'brand',
      status: 'active',
      scopes: ['user.info.basic', 'user.info.profile', 'video.list', 'video.publish'],
    });
    expect(JSON.stringify(body)).not.toMatch(/act\.|rft\./);
    const r = await row(id);
    expect(r.encrypted_access_token).toMatch(/^lenc1:/);
    expect(r.encrypted_refresh_token).toMatch(/^lenc1:/);
    // Lifetimes from the response (7200 s), not hard-coded.
    expect(new Date(r.token_expires_at).getTime() - Date.now()).toBeGreaterThan(7000_000);
    expect(new Date(r.token_expires_at).getTime() - Date.now()).toBeLessThan(7300_000);
    expect(await eventTypes(id)).toEqual(['social_account.connected']);
    // The exchange was form-encoded with client_key, the exact redirect URI and a matching verifier.
    const exchange = fake.requests.find((q) => q.form?.get('grant_type') === 'authorization_code');
    expect(exchange?.form?.get('redirect_uri')).toBe(callbackUri('tiktok'));
  });

  it('lists the platforms with their configuration and scopes; an unconfigured one cannot be connected', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/social-platforms',
      headers: bearer(org.secret),
    });
    expect(res.json()).toEqual([
      {
        platform: 'tiktok',
        configured: true,
        scopes: ['user.info.basic', 'user.info.profile', 'video.list', 'video.publish'],
      },
      expect.objectContaining({ platform: 'instagram', configured: false }),
      expect.objectContaining({ platform: 'facebook', configured: false }),
      expect.objectContaining({ platform: 'youtube', configured: false }),
    ]);
    const refused = await t.app.inject({
      method: 'POST',
      url: `/v1/projects/${projectId}/social-accounts/connect`,
      headers: bearer(org.secret),
      payload: { platform: 'youtube', return_url: 'https://app.example.com/' },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.param).toBe('platform');
  });

  it('the refresh cron refreshes a token inside the margin before anyone needs it, and deletes expired states', async () => {
    const id = await connect('open_tt_cron');
    await t.db.systemPool.query(
      `UPDATE social_accounts SET token_expires_at = now() + interval '5 minutes' WHERE id = $1`,
      [id],
    );
    await startConnect(t, org, projectId, 'tiktok');
    await t.db.systemPool.query(`UPDATE social_oauth_states SET expires_at = now() - interval '1 minute'`);
    const before = fake.counts.refresh;
    const r = await t.container.socialAccounts.sync.refreshDue();
    expect(fake.counts.refresh - before).toBe(1);
    expect(r.states_deleted).toBeGreaterThan(0);
    expect(new Date((await row(id)).token_expires_at).getTime()).toBeGreaterThan(Date.now() + 7000_000);
  });

  it('reconnecting the same identity updates the account instead of adding one', async () => {
    const first = await connect('open_tt_re');
    const second = await connect('open_tt_re');
    expect(second).toBe(first);
    const list = await t.app.inject({
      method: 'GET',
      url: `/v1/projects/${projectId}/social-accounts?limit=100`,
      headers: bearer(org.secret),
    });
    expect(
      list.json().data.filter((a: { platform_user_id: string }) => a.platform_user_id === 'open_tt_re'),
    ).toHaveLength(1);
    const audit = await t.db.systemPool.query(
      `SELECT action FROM audit_log WHERE org_id = $1 AND resource_id = $2 ORDER BY seq`,
      [org.id, first],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'social_account.connected',
      'social_account.reconnected',
    ]);
  });

  it('refreshes ahead of expiry once for 20 concurrent callers in two app instances, storing the rotated refresh token', async () => {
    const id = await connect('open_tt_refresh');
    const before = await row(id);
    // Inside the refresh margin: every caller wants a refresh.
    await t.db.systemPool.query(
      `UPDATE social_accounts SET token_expires_at = now() + interval '1 minute' WHERE id = $1`,
      [id],
    );
    const second = await createSecondInstance(t);
    try {
      fake.counts.refresh = 0;
      fake.control.refreshDelayMs = 150;
      const callers = Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? t.container : second.container).socialAccounts.tokens.credentials(org.id, id),
      );
      const results = await Promise.all(callers);
      expect(fake.counts.refresh).toBe(1);
      const tokens = new Set(results.map((c) => c.accessToken));
      expect(tokens.size).toBe(1);
      const after = await row(id);
      expect(after.encrypted_refresh_token).not.toBe(before.encrypted_refresh_token);
      expect(after.refresh_lease_id).toBeNull();
      // The stored refresh token is the rotated one: the next refresh works (the old one would be invalid_grant).
      await t.db.systemPool.query(`UPDATE social_accounts SET token_expires_at = now() WHERE id = $1`, [id]);
      await t.container.socialAccounts.tokens.credentials(org.id, id);
      expect(fake.counts.refresh).toBe(2);
      expect((await row(id)).status).toBe('active');
      const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(
        /layers_social_token_refreshes_total\{platform="tiktok",outcome="refreshed"\} [1-9]/,
      );
    } finally {
      fake.control.refreshDelayMs = 0;
      await second.close();
    }
  });

  it('invalid_grant → needs_reconnect, tokens deleted, one webhook, and no further refresh attempts', async () => {
    const id = await connect('open_tt_dead');
    fake.killRefreshTokens();
    await t.db.systemPool.query(`UPDATE social_accounts SET token_expires_at = now() WHERE id = $1`, [id]);
    fake.counts.refresh = 0;
    await expect(t.container.socialAccounts.tokens.credentials(org.id, id)).rejects.toMatchObject({
      kind: 'reauth',
    });
    await expect(t.container.socialAccounts.tokens.credentials(org.id, id)).rejects.toMatchObject({
      kind: 'reauth',
    });
    await t.container.socialAccounts.sync.refreshDue();
    expect(fake.counts.refresh).toBe(1);
    expect((await account(id)).status).toBe('needs_reconnect');
    const r = await row(id);
    expect(r.encrypted_access_token).toBeNull();
    expect(r.encrypted_refresh_token).toBeNull();
    expect((await eventTypes(id)).filter((e) => e === 'social_account.needs_reconnect')).toHaveLength(1);
  });

  it('DELETE revokes at TikTok and leaves no ciphertext; a failed revoke is queued with the token encrypted', async () => {
    const id = await connect('open_tt_revoke');
    const live = fake.liveAccessTokens().length;
    fake.counts.revoke = 0;
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1/social-accounts/${id}`,
      headers: bearer(org.secret),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'revoked' });
    expect(fake.counts.revoke).toBe(1);
    expect(fake.liveAccessTokens().length).toBe(live - 1);
    const r = await row(id);
    expect([r.encrypted_access_token, r.encrypted_refresh_token]).toEqual([null, null]);
    expect(await eventTypes(id)).toContain('social_account.revoked');
    const audit = await t.db.systemPool.query(
      `SELECT action, changes FROM audit_log WHERE org_id = $1 AND resource_id = $2 AND action = 'social_account.revoked'`,
      [org.id, id],
    );
    expect(audit.rows[0].changes).toMatchObject({
      status: { before: 'active', after: 'revoked' },
      tokens: { after: '[deleted]' },
      platform_revoke: { after: 'done' },
    });

    const failing = await connect('open_tt_revoke_fail');
    fake.control.failRevoke = true;
    try {
      const res2 = await t.app.inject({
        method: 'DELETE',
        url: `/v1/social-accounts/${failing}`,
        headers: bearer(org.secret),
      });
      expect(res2.json().status).toBe('revoked');
      expect((await row(failing)).encrypted_access_token).toBeNull();
      const { rows } = await t.db.systemPool.query(
        `SELECT j.payload FROM graphile_worker._private_jobs j
         JOIN graphile_worker._private_tasks k ON k.id = j.task_id WHERE k.identifier = 'social_accounts.revoke'`,
      );
      const payload = rows.map((x) => x.payload).find((p) => p.social_account_id === failing);
      expect(payload.encrypted_token).toMatch(/^lenc1:/);
      // The job retries the call with the token from its payload.
      fake.control.failRevoke = false;
      fake.counts.revoke = 0;
      await t.container.socialAccounts.revocation.runRevokeJob(payload, t.app.log);
      expect(fake.counts.revoke).toBe(1);
      // At 24 h the retry leaves the queue with its token, whether or not it ran.
      const queued = async (key: string) =>
        (
          await t.db.systemPool.query(`SELECT run_at FROM graphile_worker._private_jobs WHERE key = $1`, [
            key,
          ])
        ).rows;
      const key = `social-revoke:${failing}`;
      expect(await queued(key)).toHaveLength(1);
      const [expiry] = await queued(`${key}:expire`);
      expect(new Date(expiry.run_at).toISOString()).toBe(payload.expires_at);
      await t.container.socialAccounts.revocation.expireRevokeJob(key);
      expect(await queued(key)).toHaveLength(0);
    } finally {
      fake.control.failRevoke = false;
    }
  });

  it("a project's deletion revokes its accounts at TikTok (the cron), without waiting out the grace period", async () => {
    const project = await createProject(t.app, org, 'Doomed');
    const back = await followCallback(
      t,
      fake.authorize(await startConnect(t, org, project.id, 'tiktok'), 'open_tt_doomed'),
    );
    const id = back.location?.searchParams.get('social_account_ids') as string;
    await t.app.inject({ method: 'DELETE', url: `/v1/projects/${project.id}`, headers: bearer(org.secret) });
    fake.counts.revoke = 0;
    const r = await t.container.socialAccounts.sync.refreshDue();
    expect(r.revoked).toBe(1);
    expect(fake.counts.revoke).toBe(1);
    expect(await row(id)).toMatchObject({
      status: 'revoked',
      encrypted_access_token: null,
      encrypted_refresh_token: null,
    });
    const { rows } = await t.db.systemPool.query(
      `SELECT data->>'reason' AS reason FROM webhook_events WHERE data->>'id' = $1 AND type = 'social_account.revoked'`,
      [id],
    );
    expect(rows).toEqual([{ reason: 'project_deleted' }]);
    expect((await t.container.socialAccounts.sync.refreshDue()).revoked).toBe(0);
  });

  it('syncs recent posts into post_metadata, and backs off after a 429', async () => {
    const id = await connect('open_tt_posts');
    fake.control.videos = [
      {
        id: 'v1',
        video_description: 'Summer drop',
        share_url: 'https://www.tiktok.com/@brand/video/v1',
        create_time: 1_764_000_000,
        view_count: 1200,
        like_count: 80,
        comment_count: 5,
        share_count: 3,
      },
    ];
    expect(await t.container.socialAccounts.sync.syncAccount(org.id, id)).toBe('synced');
    const posts = await t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${id}/posts`,
      headers: bearer(org.secret),
    });
    expect(posts.statusCode, posts.body).toBe(200);
    expect(posts.json().data).toEqual([
      expect.objectContaining({
        platform_post_id: 'v1',
        caption: 'Summer drop',
        permalink: 'https://www.tiktok.com/@brand/video/v1',
        published_at: new Date(1_764_000_000_000).toISOString(),
        metrics: { views: 1200, likes: 80, comments: 5, shares: 3 },
      }),
    ]);
    fake.control.rateLimitVideoList = 10;
    try {
      const calls = fake.counts.videoList;
      expect(await t.container.socialAccounts.sync.syncAccount(org.id, id)).toBe('rate_limited');
      // The gateway retried within its budget, then the sync moved the account's next run past the window.
      expect(fake.counts.videoList - calls).toBeLessThanOrEqual(3);
      const r = await row(id);
      expect(new Date(r.sync_not_before).getTime()).toBeGreaterThan(
        systemClock.now().getTime() + 14 * 60_000,
      );
      // A cron run right after does not call TikTok for this account again (the others are not due).
      await t.db.systemPool.query(
        `UPDATE social_accounts SET sync_not_before = now() + interval '1 hour' WHERE id <> $1`,
        [id],
      );
      const before = fake.counts.videoList;
      await t.container.socialAccounts.sync.syncDue();
      expect(fake.counts.videoList).toBe(before);
      // Once its slot has come, the cron syncs it (and schedules its next slot about an hour out).
      fake.control.rateLimitVideoList = 0;
      await t.db.systemPool.query(
        `UPDATE social_accounts SET sync_not_before = now() - interval '1 second', last_synced_at = now() - interval '1 hour' WHERE id = $1`,
        [id],
      );
      expect(await t.container.socialAccounts.sync.syncDue()).toEqual({ synced: 1 });
      expect(new Date((await row(id)).sync_not_before).getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    } finally {
      fake.control.rateLimitVideoList = 0;
    }
  });
});
