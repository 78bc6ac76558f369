import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.ts';
import { createInstagramPublisher } from '../../src/platforms/meta/instagram-publisher.ts';
import type { PublishableMedia } from '../../src/platforms/publishing-port.ts';
import type { StoredCredentials } from '../../src/platforms/social-platform.ts';
import { type MetaFake, startMetaFake } from '../fakes/meta/meta-fake.ts';
import { type MetaPublishingFake, useMetaPublishing } from '../fakes/meta/meta-publishing-fake.ts';
import { testGateway } from '../helpers/egress-harness.ts';
import {
  connectMeta,
  drive,
  failure,
  leaks,
  makeMedia,
  startMediaServer,
} from '../helpers/meta-publishing.ts';
import {
  connectMetaAccount,
  type MetaPublishingApp,
  startMetaPublishingApp,
} from '../helpers/meta-publishing-app.ts';
import {
  clearWaits,
  generateMedia,
  getPublication,
  publish,
  runUntilSettled,
} from '../helpers/publishing-app.ts';
import { callbackUri } from '../helpers/social-accounts.ts';
import { bearer } from '../helpers/test-app.ts';

const APP = { appId: 'ig_pub_app', appSecret: 'ig_pub_secret_canary' };

/**
 * Instagram publishing through a real egress gateway against the Meta fake, which fetches the media
 * from a server signing URLs as the API does: the step loop as the job runs it, restarts from every
 * older checkpoint, each Meta failure as its PlatformError, and checkpoints without token or URL.
 */
describe('publishing: Instagram publisher', () => {
  let fake: MetaFake;
  let ig: MetaPublishingFake;
  let harness: ReturnType<typeof testGateway>;
  let server: Awaited<ReturnType<typeof startMediaServer>>;
  let creds: StoredCredentials;
  let reel: PublishableMedia;
  let jpeg: PublishableMedia;
  let png: PublishableMedia;
  const ctx = { orgId: newId('org'), projectId: newId('project') };
  const publisher = () =>
    createInstagramPublisher({ egress: harness.gateway, now: () => new Date(), credentials: APP });

  beforeAll(async () => {
    fake = await startMetaFake({ ...APP, redirectUris: [callbackUri('facebook')] });
    ig = useMetaPublishing(fake);
    harness = testGateway({ redirects: { 'graph.facebook.com': fake.url } });
    server = await startMediaServer(ctx.orgId);
    const [mp4, jpg, pngBytes] = await Promise.all([makeMedia('mp4'), makeMedia('jpg'), makeMedia('png')]);
    reel = server.media(mp4, 'video', 'video/mp4');
    jpeg = server.media(jpg, 'image', 'image/jpeg');
    png = server.media(pngBytes, 'image', 'image/png');
    fake.control.pagesByUser.set('fb_user_ig', [
      { id: '1001', name: 'Acme Page', ig: { id: '17841400000000001', username: 'acme' } },
    ]);
    creds = await connectMeta(fake, harness, APP, ctx, 'fb_user_ig', 'instagram');
  }, 60_000);
  afterAll(async () => {
    await server.close();
    await fake.close();
  });
  beforeEach(() => {
    Object.assign(ig.control, {
      quotaTotal: 100,
      quotaUsage: 0,
      inProgressPolls: 0,
      containerOutcome: 'FINISHED',
      rateLimit: 0,
      capOnPublish: false,
      publishAnswersError: false,
      unlistedReads: 0,
    });
    fake.requests.length = 0;
  });

  const postsWith = (caption: string) => ig.published.filter((p) => p.caption === caption);

  it('publishes a Reel: a REELS container the fake fetched with the signed URL, polled, published once, with its permalink', async () => {
    ig.control.inProgressPolls = 3;
    const caption = `Cold brew reel ${newId('media')}`;
    const run = await drive(publisher(), ctx, creds, reel, { caption });
    expect(run.last.status).toBe('published');
    if (run.last.status !== 'published') return;
    expect(postsWith(caption)).toHaveLength(1);
    expect(run.last.platformPostId).toBe(postsWith(caption)[0]?.id);
    expect(run.last.permalink).toMatch(/^https:\/\/www\.instagram\.com\/reel\//);
    // IN_PROGRESS polls are waits, not busy loops.
    const waits = run.steps.filter((s) => s.status !== 'published' && s.retryAfterMs > 0);
    expect(waits.length).toBeGreaterThanOrEqual(3);
    const create = fake.requests.find((r) => r.method === 'POST' && r.path.endsWith('/media'));
    const form = new URLSearchParams(create?.raw.toString('utf8'));
    expect(form.get('media_type')).toBe('REELS');
    expect(form.get('caption')).toBe(caption);
    expect(form.get('video_url')).toMatch(/\/media\/med_[^?]+\?exp=\d+&sig=/);
    expect(ig.fetched.at(-1)).toMatchObject({ status: 200, bytes: reel.bytes });
    // Every Graph call carried the token and its appsecret_proof (the fake refuses any other).
    expect(fake.requests.every((r) => r.query.get('appsecret_proof'))).toBe(true);
    expect(leaks(run.checkpoints, creds.accessToken as string, server.base)).toEqual([]);
    // The ledger records the calls without the token or the URL.
    expect(JSON.stringify(harness.rows)).not.toContain(creds.accessToken);
    expect(JSON.stringify(harness.rows)).not.toContain('sig=');
  });

  it('publishes a JPEG image; refuses a PNG before creating anything (Instagram takes JPEG only)', async () => {
    const caption = `Cold brew photo ${newId('media')}`;
    const run = await drive(publisher(), ctx, creds, jpeg, { caption });
    expect(run.last.status).toBe('published');
    expect(postsWith(caption)).toHaveLength(1);
    const form = new URLSearchParams(
      fake.requests.find((r) => r.method === 'POST' && r.path.endsWith('/media'))?.raw.toString('utf8'),
    );
    expect(form.get('image_url')).toContain('sig=');
    expect(form.has('media_type')).toBe(false);

    const before = ig.containers.size;
    const e = await failure(drive(publisher(), ctx, creds, png, { caption: 'png' }));
    expect(e).toMatchObject({ kind: 'refused', apiCode: 'unsupported_media' });
    expect(ig.containers.size).toBe(before);
  });

  it('restarts from every older checkpoint (killed after a step, before its checkpoint was stored): exactly one post each time', async () => {
    ig.control.inProgressPolls = 1;
    const full = await drive(publisher(), ctx, creds, reel, { caption: `full ${newId('media')}` });
    const n = full.steps.length;
    expect(n).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < n; i++) {
      const caption = `restart ${i} ${newId('media')}`;
      // Steps 0..i ran; the job stored only the checkpoint before step i, then died.
      const first = await drive(publisher(), ctx, creds, reel, { caption, max: i + 1 });
      const again = await drive(publisher(), ctx, creds, reel, { caption, from: first.checkpoints[i] });
      expect(again.last.status, `restart before step ${i}`).toBe('published');
      const posts = postsWith(caption);
      expect(posts, `restart before step ${i}`).toHaveLength(1);
      if (again.last.status === 'published') expect(again.last.platformPostId).toBe(posts[0]?.id);
    }
  }, 60_000);

  it('media_publish posted but answered an error: the container says PUBLISHED, the media is looked up, one post', async () => {
    ig.control.publishAnswersError = true;
    const caption = `ambiguous ${newId('media')}`;
    const run = await drive(publisher(), ctx, creds, reel, { caption });
    expect(run.last.status).toBe('published');
    const posts = postsWith(caption);
    expect(posts).toHaveLength(1);
    expect(run.last.status === 'published' && run.last.platformPostId).toBe(posts[0]?.id);
    expect(fake.requests.filter((r) => r.path.endsWith('/media_publish'))).toHaveLength(1);
  });

  it('a published media Instagram lists late is looked up again, never failed; never listed: published with the container id', async () => {
    // media_publish answered an error (a look-up follows), and the list shows the media after three reads.
    ig.control.publishAnswersError = true;
    ig.control.unlistedReads = 3;
    const caption = `late ${newId('media')}`;
    const late = await drive(publisher(), ctx, creds, reel, { caption });
    expect(late.steps.filter((s) => s.status === 'processing' && s.retryAfterMs >= 5_000).length).toBe(3);
    expect(late.last.status === 'published' && late.last.platformPostId).toBe(postsWith(caption)[0]?.id);

    // Never listed (a caption Instagram changed, say): after the look-ups, the container's id.
    ig.control.publishAnswersError = true;
    ig.control.unlistedReads = 1_000;
    const unlistedCaption = `never ${newId('media')}`;
    const never = await drive(publisher(), ctx, creds, reel, { caption: unlistedCaption });
    expect(postsWith(unlistedCaption)).toHaveLength(1);
    expect(never.last).toMatchObject({ status: 'published', permalink: null });
    expect(never.last.status === 'published' && never.last.platformPostId).toBe(
      never.last.checkpoint.containerId,
    );
    expect(fake.requests.filter((r) => r.path.endsWith('/media_publish'))).toHaveLength(2);
  });

  it('an EXPIRED container is publication_expired, an ERROR one media_rejected with its subcode', async () => {
    ig.control.containerOutcome = 'EXPIRED';
    expect(await failure(drive(publisher(), ctx, creds, reel, { caption: 'expired' }))).toMatchObject({
      kind: 'refused',
      apiCode: 'publication_expired',
      vendorCode: 'EXPIRED',
    });
    ig.control.containerOutcome = 'ERROR';
    expect(await failure(drive(publisher(), ctx, creds, reel, { caption: 'error' }))).toMatchObject({
      kind: 'refused',
      apiCode: 'media_rejected',
      vendorCode: '2207026',
    });
    expect(postsWith('expired').length + postsWith('error').length).toBe(0);
  });

  it('refuses publishing_cap_reached from content_publishing_limit before creating a container, and on a 2207042 at media_publish', async () => {
    ig.control.quotaUsage = 100;
    const before = ig.containers.size;
    const capped = await failure(drive(publisher(), ctx, creds, reel, { caption: 'capped' }));
    expect(capped).toMatchObject({ kind: 'refused', apiCode: 'publishing_cap_reached' });
    expect(capped.message).toContain('100');
    expect(ig.containers.size).toBe(before);

    ig.control.quotaUsage = 0;
    ig.control.capOnPublish = true;
    expect(await failure(drive(publisher(), ctx, creds, reel, { caption: 'race' }))).toMatchObject({
      kind: 'refused',
      apiCode: 'publishing_cap_reached',
      vendorCode: '2207042',
    });
    expect(postsWith('race')).toHaveLength(0);
  });

  it('rate limit code 4 is rate_limited; a URL Meta cannot fetch (bad signature: 403) is media_rejected', async () => {
    ig.control.rateLimit = 1;
    expect(await failure(drive(publisher(), ctx, creds, reel, { caption: 'limited' }))).toMatchObject({
      kind: 'rate_limited',
      vendorCode: '4',
    });
    const tampered = server.media(Buffer.from(await reel.read(0, reel.bytes)), 'video', 'video/mp4', {
      tamper: true,
    });
    expect(await failure(drive(publisher(), ctx, creds, tampered, { caption: 'tampered' }))).toMatchObject({
      kind: 'refused',
      apiCode: 'media_rejected',
      vendorCode: '2207052',
    });
    expect(ig.fetched.at(-1)?.status).toBe(403);
  });

  it('a token revoked mid-flow (password changed) is reauth with 190, and nothing is posted', async () => {
    fake.control.pagesByUser.set('fb_user_revoked', [
      { id: '1002', name: 'Other Page', ig: { id: '17841400000000002', username: 'other' } },
    ]);
    const other = await connectMeta(fake, harness, APP, ctx, 'fb_user_revoked', 'instagram');
    ig.control.inProgressPolls = 2;
    const first = await drive(publisher(), ctx, other, reel, { caption: 'revoked', max: 1 });
    expect(first.last.status).toBe('uploading');
    fake.invalidateUser('fb_user_revoked');
    const e = await failure(
      drive(publisher(), ctx, other, reel, { caption: 'revoked', from: first.checkpoints.at(-1) }),
    );
    expect(e).toMatchObject({ kind: 'reauth', vendorCode: '190' });
    expect(postsWith('revoked')).toHaveLength(0);
  });
});

/**
 * End to end through the API: a connected Instagram account, a Reel from a real default-provider
 * generation, POST publication, the job's runs until published; Meta's fake fetched the video from
 * the app's own signed media URL, and the post is in the account's post list.
 */
describe('publishing: Instagram end to end', () => {
  let m: MetaPublishingApp;
  beforeAll(async () => {
    m = await startMetaPublishingApp();
    m.fake.control.pagesByUser.set('fb_user_e2e', [
      { id: '3001', name: 'Acme Page', ig: { id: '17841400000003001', username: 'acme_e2e' } },
    ]);
  }, 60_000);
  afterAll(() => m.a.close());

  it('publishes a generated video as a Reel once and lists it among the account posts', async () => {
    const accountId = await connectMetaAccount(m, 'fb_user_e2e', 'instagram');
    const mediaId = await generateMedia(m.a, 'video');
    m.pub.control.inProgressPolls = 2;
    const res = await publish(m.a, accountId, { media_id: mediaId, caption: 'Bold mornings #coldbrew' });
    expect(res.statusCode, res.body).toBe(202);
    const done = await runUntilSettled(m.a, res.json().id);
    // The stored checkpoint holds platform ids only: no signed URL, no token.
    const { rows } = await m.a.t.db.systemPool.query(
      'SELECT checkpoint::text AS cp FROM publications WHERE id = $1',
      [res.json().id],
    );
    expect(rows[0].cp).not.toMatch(/https?:|sig=|exp=|EAAP/);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'published', platform: 'instagram' });
    const posts = m.pub.published.filter((p) => p.accountId === '17841400000003001');
    expect(posts).toHaveLength(1);
    expect(done.platform_post_id).toBe(posts[0]?.id);
    expect(done.permalink).toMatch(/^https:\/\/www\.instagram\.com\/reel\//);
    // Meta fetched the real MP4 from the app's signed URL.
    expect(m.pub.fetched.at(-1)).toMatchObject({ status: 200 });
    expect(m.pub.fetched.at(-1)?.url).toMatch(new RegExp(`/media/${mediaId}\\?exp=\\d+&sig=`));
    const list = await m.a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}/posts`,
      headers: bearer(m.a.org.secret),
    });
    expect(list.json().data.map((p: { platform_post_id: string }) => p.platform_post_id)).toContain(
      posts[0]?.id,
    );
  }, 240_000);

  it('through the API: the daily cap fails publishing_cap_reached; a token revoked mid-flow fails account_needs_reconnect', async () => {
    m.fake.control.pagesByUser.set('fb_user_e2e_b', [
      { id: '3002', name: 'Other Page', ig: { id: '17841400000003002', username: 'other_e2e' } },
    ]);
    const accountId = await connectMetaAccount(m, 'fb_user_e2e_b', 'instagram');
    const mediaId = await generateMedia(m.a, 'video');
    m.pub.control.quotaUsage = m.pub.control.quotaTotal;
    const capped = await publish(m.a, accountId, { media_id: mediaId, caption: 'Capped' });
    expect(capped.statusCode, capped.body).toBe(202);
    expect((await runUntilSettled(m.a, capped.json().id)).error).toMatchObject({
      code: 'publishing_cap_reached',
      platform_code: 'content_publishing_limit',
    });

    m.pub.control.quotaUsage = 0;
    m.pub.control.inProgressPolls = 5;
    const res = await publish(m.a, accountId, { media_id: mediaId, caption: 'Revoked' });
    const id = res.json().id as string;
    // The container is created, then the user changes their password.
    await clearWaits(m.a, id);
    await m.a.t.container.publishing.runner.run(m.a.org.id, id);
    expect((await getPublication(m.a, id)).status).toBe('uploading');
    m.fake.invalidateUser('fb_user_e2e_b');
    const done = await runUntilSettled(m.a, id);
    expect(done).toMatchObject({
      status: 'failed',
      error: { code: 'account_needs_reconnect', platform_code: '190' },
    });
    expect(m.pub.postsOf('17841400000003002')).toHaveLength(0);
    const account = await m.a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}`,
      headers: bearer(m.a.org.secret),
    });
    expect(account.json().status).toBe('needs_reconnect');
  }, 240_000);
});
