import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateKeys } from '../../src/cli/key-rotation.ts';
import {
  createEnvelope,
  generateKeyEncryptionKey,
  parseKeyEncryptionKeys,
} from '../../src/lib/envelope-crypto.ts';
import { type MetaFake, startMetaFake } from '../fakes/meta/meta-fake.ts';
import {
  callbackUri,
  followCallback,
  offboardSocialAccounts,
  PUBLIC_URL,
  startConnect,
} from '../helpers/social-accounts.ts';
import { closeSocialApp, startSocialApp } from '../helpers/social-app.ts';
import { bearer, createOrg, createProject, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/**
 * Meta end to end against the fake: one Facebook Login for Business that grants three Pages and two
 * Instagram professional accounts makes five accounts; the state is one-time, expires and cannot be
 * forged; signed_request callbacks (deauthorize, data deletion) with their signatures; revocation
 * of a grant's last account only; error 190 → needs_reconnect. The login's long-lived user token
 * (for the Marketing API) is kept as ciphertext on each account of the login, re-wrapped by
 * `layers keys rotate`, and deleted with the Page token on revoke, deauthorize and needs_reconnect.
 */
describe('social accounts: Meta (Facebook Pages and Instagram)', () => {
  let fake: MetaFake;
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  const APP_ID = '1234567890';
  const SECRET = 'meta_app_secret_canary';

  beforeAll(async () => {
    ({ fake, t, org, projectId } = await startSocialApp(
      await startMetaFake({
        appId: APP_ID,
        appSecret: SECRET,
        redirectUris: [callbackUri('instagram'), callbackUri('facebook')],
      }),
      ['graph.facebook.com'],
      { META_APP_ID: APP_ID, META_APP_SECRET: SECRET },
    ));
  });
  afterAll(() => closeSocialApp(t, fake));

  function grant(userId: string, pages: number, igs: number) {
    fake.control.pagesByUser.set(
      userId,
      Array.from({ length: pages }, (_, i) => ({
        id: `${userId}_page${i}`,
        name: `Page ${i}`,
        ...(i < igs ? { ig: { id: `${userId}_ig${i}`, username: `brand_ig_${i}` } } : {}),
      })),
    );
  }

  async function connect(userId: string, platform = 'instagram'): Promise<string[]> {
    const back = await followCallback(
      t,
      fake.authorize(await startConnect(t, org, projectId, platform), userId),
    );
    expect(back.status, back.body).toBe(303);
    const ids = back.location?.searchParams.get('social_account_ids');
    expect(ids, back.location?.href).toBeTruthy();
    return (ids as string).split(',');
  }

  const accounts = async (ids: string[]) =>
    (
      await t.db.systemPool.query(
        'SELECT * FROM social_accounts WHERE id = ANY($1) ORDER BY platform, platform_user_id',
        [ids],
      )
    ).rows;

  /** The user token an account keeps, decrypted with `envelope` (the app's own by default). */
  const userTokenOf = (row: Record<string, string>, envelope = t.container.envelope) =>
    envelope.decrypt(row.encrypted_user_access_token as string, {
      orgId: org.id,
      recordId: row.id as string,
      field: 'user_access_token',
    });

  it('a login granting three Pages and two Instagram accounts makes five accounts, each with its Page token encrypted', async () => {
    grant('fbuser1', 3, 2);
    const connectedFrom = Date.now();
    const ids = await connect('fbuser1');
    const connectedTo = Date.now();
    expect(ids).toHaveLength(5);
    const rows = await accounts(ids);
    expect(rows.map((r) => [r.platform, r.platform_user_id])).toEqual([
      ['facebook', 'fbuser1_page0'],
      ['facebook', 'fbuser1_page1'],
      ['facebook', 'fbuser1_page2'],
      ['instagram', 'fbuser1_ig0'],
      ['instagram', 'fbuser1_ig1'],
    ]);
    for (const r of rows) {
      expect(r.encrypted_access_token).toMatch(/^lenc1:/);
      expect(r.grant_user_id).toBe('fbuser1');
      expect(r.token_expires_at).toBeNull();
      // The login's long-lived user token beside it, bound to this account (the ads' token).
      expect(r.encrypted_user_access_token).toMatch(/^lenc1:/);
      expect(fake.tokensOf('fbuser1').user).toEqual([userTokenOf(r)]);
      expect(fake.tokensOf('fbuser1').page).not.toContain(userTokenOf(r));
      // Its expiry from the exchange's expires_in (the fake's 5,183,944 s), shown as ads_access_expires_at.
      const expiresAt = (r.user_token_expires_at as Date).getTime();
      expect(expiresAt).toBeGreaterThanOrEqual(connectedFrom + 5_183_944_000);
      expect(expiresAt).toBeLessThanOrEqual(connectedTo + 5_183_944_000);
      const shown = await t.app.inject({
        method: 'GET',
        url: `/v1/social-accounts/${r.id}`,
        headers: bearer(org.secret),
      });
      expect(shown.json().ads_access_expires_at).toBe(new Date(expiresAt).toISOString());
    }
    const ig = rows.find((r) => r.platform_user_id === 'fbuser1_ig0');
    expect(ig.handle).toBe('brand_ig_0');
    // Reconnecting brings the same five back.
    expect((await connect('fbuser1', 'facebook')).sort()).toEqual([...ids].sort());
  });

  it('a long-lived exchange without expires_in keeps the user token with its expiry unknown (null), not a guess', async () => {
    grant('fbuser_noexp', 1, 0);
    fake.control.longLivedExpiresIn = undefined;
    try {
      const ids = await connect('fbuser_noexp', 'facebook');
      const [row] = await accounts(ids);
      expect(row.status).toBe('active');
      expect(fake.tokensOf('fbuser_noexp').user).toEqual([userTokenOf(row)]);
      expect(row.user_token_expires_at).toBeNull();
      const shown = await t.app.inject({
        method: 'GET',
        url: `/v1/social-accounts/${row.id}`,
        headers: bearer(org.secret),
      });
      expect(shown.statusCode).toBe(200);
      expect(shown.json().ads_access_expires_at).toBeNull();
    } finally {
      fake.control.longLivedExpiresIn = 5_183_944;
    }
  });

  it('refuses a reused, a forged and an expired state', async () => {
    grant('fbuser2', 1, 0);
    const redirect = fake.authorize(await startConnect(t, org, projectId, 'facebook'), 'fbuser2');
    expect((await followCallback(t, redirect)).status).toBe(303);
    // Reused: the state was taken by the first callback.
    const reused = await followCallback(t, redirect);
    expect(reused.status).toBe(400);
    expect(JSON.parse(reused.body).error.param).toBe('state');
    // Forged: a state never issued.
    const forged = new URL(redirect);
    forged.searchParams.set('state', 'x'.repeat(43));
    expect((await followCallback(t, forged.href)).status).toBe(400);
    // A state issued for another platform's callback is refused too.
    const other = new URL(fake.authorize(await startConnect(t, org, projectId, 'facebook'), 'fbuser2'));
    other.pathname = '/v1/oauth/callback/instagram';
    expect((await followCallback(t, other.href)).status).toBe(400);
    // Expired: past its 10 minutes, the browser goes back with error=state_expired and no exchange happens.
    const late = fake.authorize(await startConnect(t, org, projectId, 'facebook'), 'fbuser2');
    await t.db.systemPool.query(`UPDATE social_oauth_states SET expires_at = now() - interval '1 second'`);
    const expired = await followCallback(t, late);
    expect(expired.status).toBe(303);
    expect(expired.location?.searchParams.get('error')).toBe('state_expired');
    // The state is stored hashed: the raw value is nowhere in the table.
    const fresh = new URL(fake.authorize(await startConnect(t, org, projectId, 'facebook'), 'fbuser2'));
    const { rows } = await t.db.systemPool.query('SELECT * FROM social_oauth_states');
    expect(JSON.stringify(rows)).not.toContain(fresh.searchParams.get('state'));
  });

  it('refuses return URLs that are not https (except localhost)', async () => {
    for (const bad of ['http://app.example.com/x', 'javascript:alert(1)', 'https://u:p@app.example.com/']) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/projects/${projectId}/social-accounts/connect`,
        headers: bearer(org.secret),
        payload: { platform: 'facebook', return_url: bad },
      });
      expect(res.statusCode, bad).toBe(400);
    }
    await startConnect(t, org, projectId, 'facebook', 'http://localhost:3000/done');
  });

  it('revoking one Page keeps the login for the others; the last one removes the app at Meta', async () => {
    grant('fbuser3', 2, 0);
    const [a, b] = await connect('fbuser3', 'facebook');
    fake.counts.deletePermissions = 0;
    await t.app.inject({ method: 'DELETE', url: `/v1/social-accounts/${a}`, headers: bearer(org.secret) });
    expect(fake.counts.deletePermissions).toBe(0);
    // The revoked Page's copy of the user token is gone; the other Page keeps the live login's.
    const [ra, rb] = await accounts([a as string, b as string]);
    expect([ra.encrypted_user_access_token, userTokenOf(rb)]).toEqual([
      null,
      fake.tokensOf('fbuser3').user[0],
    ]);
    // Its expiry goes with it (shown as null); the other Page keeps its own.
    expect([ra.user_token_expires_at, rb.user_token_expires_at]).toEqual([null, expect.any(Date)]);
    const shown = await t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${a}`,
      headers: bearer(org.secret),
    });
    expect(shown.json()).toMatchObject({ status: 'revoked', ads_access_expires_at: null });
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1/social-accounts/${b}`,
      headers: bearer(org.secret),
    });
    expect(res.json().status).toBe('revoked');
    expect(fake.counts.deletePermissions).toBe(1);
    const rows = await accounts([a as string, b as string]);
    expect(
      rows.map((r) => [
        r.status,
        r.encrypted_access_token,
        r.encrypted_user_access_token,
        r.user_token_expires_at,
      ]),
    ).toEqual([
      ['revoked', null, null, null],
      ['revoked', null, null, null],
    ]);
    // Removing the app at Meta ended the login: its user token is dead there too.
    expect(fake.tokensOf('fbuser3').user).toEqual([]);
  });

  it('a failed Meta revoke is retried from the queue without any user token (the app token suffices)', async () => {
    grant('fbuser7', 1, 0);
    const [id] = await connect('fbuser7', 'facebook');
    fake.control.failDeletePermissions = true;
    try {
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/v1/social-accounts/${id}`,
        headers: bearer(org.secret),
      });
      expect(res.json().status).toBe('revoked');
    } finally {
      fake.control.failDeletePermissions = false;
    }
    const { rows } = await t.db.systemPool.query(
      `SELECT j.payload FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks k ON k.id = j.task_id
       WHERE k.identifier = 'social_accounts.revoke' AND j.payload->>'social_account_id' = $1`,
      [id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].payload.encrypted_token).toBeNull();
    fake.counts.deletePermissions = 0;
    await t.container.socialAccounts.revocation.runRevokeJob(rows[0].payload, t.app.log);
    expect(fake.counts.deletePermissions).toBe(1);
    // Past its 24 hours a retry gives up without calling.
    await t.container.socialAccounts.revocation.runRevokeJob(
      { ...rows[0].payload, expires_at: new Date(Date.now() - 1000).toISOString() },
      t.app.log,
    );
    expect(fake.counts.deletePermissions).toBe(1);
  });

  it('deauthorize callback: a bad signature is 401; a good one revokes every account of that login', async () => {
    grant('fbuser4', 2, 1);
    const ids = await connect('fbuser4');
    const post = (signed: string, url = '/v1/platform-callbacks/meta/deauthorize') =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `signed_request=${encodeURIComponent(signed)}`,
      });
    expect((await post(fake.signedRequest('fbuser4', 'wrong-secret'))).statusCode).toBe(401);
    expect((await post('garbage')).statusCode).toBe(401);
    expect((await accounts(ids)).every((r) => r.status === 'active')).toBe(true);
    const ok = await post(fake.signedRequest('fbuser4'));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ revoked: 3 });
    expect(
      (await accounts(ids)).map((r) => [r.status, r.encrypted_access_token, r.encrypted_user_access_token]),
    ).toEqual(ids.map(() => ['revoked', null, null]));
  });

  it('data-deletion callback: revokes, deletes the synced posts and answers {url, confirmation_code}', async () => {
    grant('fbuser5', 1, 1);
    const ids = await connect('fbuser5');
    const ig = (await accounts(ids)).find((r) => r.platform === 'instagram');
    fake.control.posts.set('fbuser5_ig0', [
      {
        id: 'm1',
        caption: 'Hello',
        permalink: 'https://www.instagram.com/p/m1/',
        timestamp: '2026-11-30T10:00:00+0000',
        like_count: 9,
        comments_count: 2,
      },
    ]);
    expect(await t.container.socialAccounts.sync.syncAccount(org.id, ig.id)).toBe('synced');
    const posts = await t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${ig.id}/posts`,
      headers: bearer(org.secret),
    });
    expect(posts.json().data[0]).toMatchObject({
      platform_post_id: 'm1',
      metrics: { likes: 9, comments: 2, views: null },
    });
    const bad = await t.app.inject({
      method: 'POST',
      url: '/v1/platform-callbacks/meta/data-deletion',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `signed_request=${encodeURIComponent(fake.signedRequest('fbuser5', 'nope'))}`,
    });
    expect(bad.statusCode).toBe(401);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/platform-callbacks/meta/data-deletion',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `signed_request=${encodeURIComponent(fake.signedRequest('fbuser5'))}`,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.confirmation_code).toMatch(/^[0-9a-f]{20}$/);
    expect(body.url).toBe(`${PUBLIC_URL}/v1/platform-callbacks/meta/data-deletion/${body.confirmation_code}`);
    const status = await t.app.inject({ method: 'GET', url: new URL(body.url).pathname });
    expect(status.json().status).toBe('completed');
    const { rows } = await t.db.systemPool.query(
      'SELECT count(*)::int AS n FROM post_metadata WHERE social_account_id = $1',
      [ig.id],
    );
    expect(rows[0].n).toBe(0);
    expect((await accounts(ids)).every((r) => r.status === 'revoked')).toBe(true);
  });

  it('error 190 on a sync (password changed) → needs_reconnect and its webhook', async () => {
    grant('fbuser6', 1, 0);
    const [id] = await connect('fbuser6', 'facebook');
    fake.invalidateUser('fbuser6');
    expect(await t.container.socialAccounts.sync.syncAccount(org.id, id as string)).toBe('failed');
    const [r] = await accounts([id as string]);
    expect([
      r.status,
      r.encrypted_access_token,
      r.encrypted_user_access_token,
      r.user_token_expires_at,
    ]).toEqual(['needs_reconnect', null, null, null]);
    const { rows } = await t.db.systemPool.query(
      `SELECT type FROM webhook_events WHERE org_id = $1 AND data->>'id' = $2 AND type = 'social_account.needs_reconnect'`,
      [org.id, id],
    );
    expect(rows).toHaveLength(1);
  });

  it('partnership end: the accounts go with their user token, and the queued Meta revoke carries no token', async () => {
    const leaving = await createOrg(t.app, 'Leaving Meta');
    const project = await createProject(t.app, leaving);
    grant('fbuser9', 1, 1);
    const back = await followCallback(
      t,
      fake.authorize(await startConnect(t, leaving, project.id, 'facebook'), 'fbuser9'),
    );
    const ids = (back.location?.searchParams.get('social_account_ids') ?? '').split(',');
    expect(ids).toHaveLength(2);
    const before = await t.db.systemPool.query(
      'SELECT count(*)::int AS n FROM social_accounts WHERE org_id = $1 AND encrypted_user_access_token IS NOT NULL',
      [leaving.id],
    );
    expect(before.rows[0].n).toBe(2);
    const { accountsLeft, queuedRevokes } = await offboardSocialAccounts(t, leaving.id);
    expect(accountsLeft).toBe(0);
    // One revoke for the login (the app token removes it at Meta): no token of any kind in the queue.
    expect(queuedRevokes.map((p) => [p.grant_user_id, p.encrypted_token])).toEqual([['fbuser9', null]]);
  });

  it('keys rotate re-wraps the user token: only the new key opens it, and it is the live login’s', async () => {
    grant('fbuser8', 1, 1);
    const ids = await connect('fbuser8');
    const newKey = generateKeyEncryptionKey();
    const both = createEnvelope(parseKeyEncryptionKeys(`${newKey},${t.config.encryptionKey}`));
    const report = await rotateKeys(t.db.system, both);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    const col = report.columns.find((c) => c.column === 'encrypted_user_access_token');
    expect(col).toMatchObject({ table: 'social_accounts', remaining: 0 });
    expect(col?.rewrapped).toBeGreaterThanOrEqual(2);
    const onlyNew = createEnvelope(parseKeyEncryptionKeys(newKey));
    for (const r of await accounts(ids)) {
      expect(userTokenOf(r, onlyNew)).toBe(fake.tokensOf('fbuser8').user[0]);
      expect(() => userTokenOf(r)).toThrow();
    }
  });
});
