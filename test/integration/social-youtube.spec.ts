import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GoogleFake, startGoogleFake } from '../fakes/google/google-fake.ts';
import { callbackUri, followCallback, startConnect } from '../helpers/social-accounts.ts';
import { closeSocialApp, startSocialApp } from '../helpers/social-app.ts';
import { bearer, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/** Google (YouTube) end to end against the fake: offline access, refresh without rotation, revoke, sync. */
describe('social accounts: YouTube', () => {
  let fake: GoogleFake;
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;

  beforeAll(async () => {
    ({ fake, t, org, projectId } = await startSocialApp(
      await startGoogleFake({
        clientId: 'gclient.apps.googleusercontent.com',
        clientSecret: 'gsecret_canary',
        redirectUris: [callbackUri('youtube')],
      }),
      ['oauth2.googleapis.com', 'www.googleapis.com'],
      { GOOGLE_CLIENT_ID: 'gclient.apps.googleusercontent.com', GOOGLE_CLIENT_SECRET: 'gsecret_canary' },
    ));
  });
  afterAll(() => closeSocialApp(t, fake));

  async function connect(channel: string): Promise<string> {
    const back = await followCallback(
      t,
      fake.authorize(await startConnect(t, org, projectId, 'youtube'), channel),
    );
    expect(back.status, back.body).toBe(303);
    return back.location?.searchParams.get('social_account_ids') as string;
  }
  const row = async (id: string) =>
    (await t.db.systemPool.query('SELECT * FROM social_accounts WHERE id = $1', [id])).rows[0];

  it('connects a channel; a refresh keeps the stored refresh token (Google sends none back)', async () => {
    const id = await connect('UCchan0001');
    const first = await row(id);
    expect(first).toMatchObject({
      platform: 'youtube',
      platform_user_id: 'UCchan0001',
      handle: '@brandchannel',
      status: 'active',
    });
    await t.db.systemPool.query(`UPDATE social_accounts SET token_expires_at = now() WHERE id = $1`, [id]);
    const creds = await t.container.socialAccounts.tokens.credentials(org.id, id);
    expect(creds.accessToken).toMatch(/^ya29\./);
    expect(creds.refreshToken).toMatch(/^1\/\//);
    const after = await row(id);
    expect(after.encrypted_access_token).not.toBe(first.encrypted_access_token);
    expect(after.encrypted_refresh_token).not.toBeNull();
    // The kept refresh token still works.
    await t.db.systemPool.query(`UPDATE social_accounts SET token_expires_at = now() WHERE id = $1`, [id]);
    fake.counts.refresh = 0;
    await t.container.socialAccounts.tokens.credentials(org.id, id);
    expect(fake.counts.refresh).toBe(1);
    expect((await row(id)).status).toBe('active');
  });

  it('syncs videos with statistics', async () => {
    const id = await connect('UCchan0002');
    fake.control.videos = [{ id: 'vid1', title: 'Launch', views: 321 }];
    expect(await t.container.socialAccounts.sync.syncAccount(org.id, id)).toBe('synced');
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${id}/posts`,
      headers: bearer(org.secret),
    });
    expect(res.json().data).toEqual([
      expect.objectContaining({
        platform_post_id: 'vid1',
        caption: 'Launch',
        permalink: 'https://www.youtube.com/watch?v=vid1',
        metrics: { views: 321, likes: 7, comments: 1, shares: null },
      }),
    ]);
  });

  it('a refresh token Google killed (invalid_grant) → needs_reconnect', async () => {
    const id = await connect('UCchan0003');
    fake.killRefreshTokens();
    await t.db.systemPool.query(`UPDATE social_accounts SET token_expires_at = now() WHERE id = $1`, [id]);
    await expect(t.container.socialAccounts.tokens.credentials(org.id, id)).rejects.toMatchObject({
      kind: 'reauth',
    });
    expect((await row(id)).status).toBe('needs_reconnect');
  });

  it('DELETE revokes the refresh token at Google', async () => {
    const id = await connect('UCchan0004');
    const live = fake.liveRefreshTokens();
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1/social-accounts/${id}`,
      headers: bearer(org.secret),
    });
    expect(res.json().status).toBe('revoked');
    expect(fake.liveRefreshTokens()).toBe(live - 1);
    const revoke = fake.requests.filter((r) => r.path === '/revoke').at(-1);
    expect(revoke?.method).toBe('POST');
    expect(revoke?.form?.get('token')).toMatch(/^1\/\//);
    const r = await row(id);
    expect([r.encrypted_access_token, r.encrypted_refresh_token]).toEqual([null, null]);
  });
});
