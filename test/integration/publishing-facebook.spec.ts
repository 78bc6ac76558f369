import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.ts';
import { createFacebookPublisher } from '../../src/platforms/meta/facebook-publisher.ts';
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

const APP = { appId: 'fb_pub_app', appSecret: 'fb_pub_secret_canary' };

/**
 * Facebook Page publishing through a real egress gateway against the Meta fake, which fetches the
 * media from a server signing URLs as the API does: videos and photos created unpublished and then
 * published, restarts from every older checkpoint, Meta's failures, checkpoints without token or URL.
 */
describe('publishing: Facebook Page publisher', () => {
  let fake: MetaFake;
  let fb: MetaPublishingFake;
  let harness: ReturnType<typeof testGateway>;
  let server: Awaited<ReturnType<typeof startMediaServer>>;
  let creds: StoredCredentials;
  let video: PublishableMedia;
  let photo: PublishableMedia;
  const ctx = { orgId: newId('org'), projectId: newId('project') };
  const publisher = () =>
    createFacebookPublisher({ egress: harness.gateway, now: () => new Date(), credentials: APP });

  beforeAll(async () => {
    fake = await startMetaFake({ ...APP, redirectUris: [callbackUri('facebook')] });
    fb = useMetaPublishing(fake);
    harness = testGateway({ redirects: { 'graph.facebook.com': fake.url } });
    server = await startMediaServer(ctx.orgId);
    const [mp4, png] = await Promise.all([makeMedia('mp4'), makeMedia('png')]);
    video = server.media(mp4, 'video', 'video/mp4');
    photo = server.media(png, 'image', 'image/png');
    fake.control.pagesByUser.set('fb_user_page', [{ id: '2001', name: 'Acme Page' }]);
    creds = await connectMeta(fake, harness, APP, ctx, 'fb_user_page', 'facebook');
  }, 60_000);
  afterAll(async () => {
    await server.close();
    await fake.close();
  });
  beforeEach(() => {
    Object.assign(fb.control, {
      videoProcessingPolls: 0,
      videoOutcome: 'ready',
      rateLimit: 0,
      photoWithoutPostId: false,
    });
    fake.requests.length = 0;
  });

  const postsWith = (caption: string) => fb.published.filter((p) => p.caption === caption);
  const formOf = (suffix: string) =>
    new URLSearchParams(
      fake.requests.find((r) => r.method === 'POST' && r.path.endsWith(suffix))?.raw.toString('utf8'),
    );

  it('publishes a video: created unpublished from the signed file_url, processed, then published once', async () => {
    fb.control.videoProcessingPolls = 2;
    const caption = `Cold brew video ${newId('media')}`;
    const run = await drive(publisher(), ctx, creds, video, { caption });
    expect(run.last.status).toBe('published');
    if (run.last.status !== 'published') return;
    const posts = postsWith(caption);
    expect(posts).toHaveLength(1);
    expect(run.last.platformPostId).toBe(posts[0]?.id);
    expect(run.last.permalink).toMatch(/^https:\/\/www\.facebook\.com\/2001\/posts\//);
    const form = formOf('/videos');
    expect(form.get('published')).toBe('false');
    expect(form.get('description')).toBe(caption);
    expect(form.get('file_url')).toMatch(/\/media\/med_[^?]+\?exp=\d+&sig=/);
    expect(fb.fetched.at(-1)).toMatchObject({ status: 200, bytes: video.bytes });
    // The post is in the Page's post list the metrics sync reads.
    expect(fake.control.posts.get('2001')?.some((p) => p.id === posts[0]?.id)).toBe(true);
    expect(leaks(run.checkpoints, creds.accessToken as string, server.base)).toEqual([]);
    expect(JSON.stringify(harness.rows)).not.toContain(creds.accessToken);
  });

  it('publishes a PNG photo: created unpublished with its Page post, then that post published once', async () => {
    const caption = `Cold brew photo ${newId('media')}`;
    const run = await drive(publisher(), ctx, creds, photo, { caption });
    expect(run.last.status).toBe('published');
    expect(postsWith(caption)).toHaveLength(1);
    const form = formOf('/photos');
    expect(form.get('published')).toBe('false');
    expect(form.get('caption')).toBe(caption);
    expect(form.get('url')).toContain('sig=');
    expect(leaks(run.checkpoints, creds.accessToken as string, server.base)).toEqual([]);
  });

  it('finds the Page post of a photo from its page_story_id when the creation does not name it', async () => {
    fb.control.photoWithoutPostId = true;
    const caption = `Story photo ${newId('media')}`;
    const run = await drive(publisher(), ctx, creds, photo, { caption });
    expect(run.last.status).toBe('published');
    expect(postsWith(caption)).toHaveLength(1);
    if (run.last.status === 'published') expect(run.last.platformPostId).toBe(postsWith(caption)[0]?.id);
  });

  it('restarts from every older checkpoint, video and photo (also without post_id): exactly one post each time', async () => {
    fb.control.videoProcessingPolls = 1;
    for (const [media, withoutPostId] of [
      [video, false],
      [photo, false],
      [photo, true],
    ] as const) {
      fb.control.photoWithoutPostId = withoutPostId;
      const full = await drive(publisher(), ctx, creds, media, { caption: `full ${newId('media')}` });
      const n = full.steps.length;
      expect(n).toBeGreaterThanOrEqual(3);
      for (let i = 0; i < n; i++) {
        const caption = `restart ${media.kind} ${i} ${newId('media')}`;
        const first = await drive(publisher(), ctx, creds, media, { caption, max: i + 1 });
        const again = await drive(publisher(), ctx, creds, media, { caption, from: first.checkpoints[i] });
        expect(again.last.status, `${media.kind}: restart before step ${i}`).toBe('published');
        expect(postsWith(caption), `${media.kind}: restart before step ${i}`).toHaveLength(1);
      }
    }
  }, 60_000);

  it('a video Meta cannot process is media_rejected; a URL it cannot fetch (bad signature) is media_rejected', async () => {
    fb.control.videoOutcome = 'error';
    expect(await failure(drive(publisher(), ctx, creds, video, { caption: 'broken' }))).toMatchObject({
      kind: 'refused',
      apiCode: 'media_rejected',
    });
    const tampered = server.media(Buffer.from(await video.read(0, video.bytes)), 'video', 'video/mp4', {
      tamper: true,
    });
    expect(await failure(drive(publisher(), ctx, creds, tampered, { caption: 'tampered' }))).toMatchObject({
      kind: 'refused',
      apiCode: 'media_rejected',
      vendorCode: '352',
    });
    expect(postsWith('broken').length + postsWith('tampered').length).toBe(0);
  });

  it('rate limit code 4 is rate_limited; a token revoked mid-flow is reauth (190) and nothing is posted', async () => {
    fb.control.rateLimit = 1;
    expect(await failure(drive(publisher(), ctx, creds, photo, { caption: 'limited' }))).toMatchObject({
      kind: 'rate_limited',
      vendorCode: '4',
    });
    fake.control.pagesByUser.set('fb_user_fb_revoked', [{ id: '2002', name: 'Other Page' }]);
    const other = await connectMeta(fake, harness, APP, ctx, 'fb_user_fb_revoked', 'facebook');
    fb.control.videoProcessingPolls = 3;
    const first = await drive(publisher(), ctx, other, video, { caption: 'revoked', max: 1 });
    expect(first.last.status).toBe('uploading');
    fake.invalidateUser('fb_user_fb_revoked');
    expect(
      await failure(
        drive(publisher(), ctx, other, video, { caption: 'revoked', from: first.checkpoints.at(-1) }),
      ),
    ).toMatchObject({ kind: 'reauth', vendorCode: '190' });
    expect(postsWith('revoked')).toHaveLength(0);
  });

  it('refuses media Facebook does not take before any call', async () => {
    const gif = server.media(Buffer.from('not a video'), 'video', 'video/x-msvideo');
    const before = fake.requests.length;
    expect(await failure(drive(publisher(), ctx, creds, gif, { caption: 'avi' }))).toMatchObject({
      apiCode: 'unsupported_media',
    });
    expect(fake.requests.length).toBe(before);
  });
});

/**
 * End to end through the API: a connected Page, a video and a PNG image from a real default-provider
 * generation, POST publication, the job's runs until published; Meta's fake fetched each from the
 * app's own signed media URL, and each post is in the account's post list.
 */
describe('publishing: Facebook Page end to end', () => {
  let m: MetaPublishingApp;
  beforeAll(async () => {
    m = await startMetaPublishingApp();
    m.fake.control.pagesByUser.set('fb_user_page_e2e', [{ id: '4001', name: 'Acme Page' }]);
  }, 60_000);
  afterAll(() => m.a.close());

  it('publishes a generated video and a generated image once each and lists them among the account posts', async () => {
    const accountId = await connectMetaAccount(m, 'fb_user_page_e2e', 'facebook');
    m.pub.control.videoProcessingPolls = 2;
    for (const kind of ['video', 'image'] as const) {
      const mediaId = await generateMedia(m.a, kind);
      const caption = `Bold mornings (${kind}) #coldbrew`;
      const res = await publish(m.a, accountId, { media_id: mediaId, caption });
      expect(res.statusCode, res.body).toBe(202);
      const done = await runUntilSettled(m.a, res.json().id);
      // The stored checkpoint holds platform ids only: no signed URL, no token.
      const { rows } = await m.a.t.db.systemPool.query(
        'SELECT checkpoint::text AS cp FROM publications WHERE id = $1',
        [res.json().id],
      );
      expect(rows[0].cp).not.toMatch(/https?:|sig=|exp=|EAAP/);
      expect(done, JSON.stringify(done)).toMatchObject({ status: 'published', platform: 'facebook' });
      const posts = m.pub.published.filter((p) => p.accountId === '4001' && p.caption === caption);
      expect(posts).toHaveLength(1);
      expect(done.platform_post_id).toBe(posts[0]?.id);
      expect(m.pub.fetched.at(-1)).toMatchObject({ status: 200 });
      expect(m.pub.fetched.at(-1)?.url).toContain(`/media/${mediaId}?exp=`);
      const list = await m.a.t.app.inject({
        method: 'GET',
        url: `/v1/social-accounts/${accountId}/posts`,
        headers: bearer(m.a.org.secret),
      });
      expect(list.json().data.map((p: { platform_post_id: string }) => p.platform_post_id)).toContain(
        posts[0]?.id,
      );
    }
  }, 240_000);

  it('a token revoked mid-flow fails account_needs_reconnect (190), the account marked, nothing posted', async () => {
    m.fake.control.pagesByUser.set('fb_user_page_e2e_revoked', [{ id: '4002', name: 'Revoked Page' }]);
    const accountId = await connectMetaAccount(m, 'fb_user_page_e2e_revoked', 'facebook');
    const mediaId = await generateMedia(m.a, 'video');
    m.pub.control.videoProcessingPolls = 5;
    const res = await publish(m.a, accountId, { media_id: mediaId, caption: 'Revoked Page video' });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    // The video is created (unpublished), then the user changes their password.
    await clearWaits(m.a, id);
    await m.a.t.container.publishing.runner.run(m.a.org.id, id);
    expect((await getPublication(m.a, id)).status).toBe('uploading');
    m.fake.invalidateUser('fb_user_page_e2e_revoked');
    const done = await runUntilSettled(m.a, id);
    expect(done).toMatchObject({
      status: 'failed',
      error: { code: 'account_needs_reconnect', platform_code: '190' },
    });
    expect(m.pub.postsOf('4002')).toHaveLength(0);
    const account = await m.a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}`,
      headers: bearer(m.a.org.secret),
    });
    expect(account.json().status).toBe('needs_reconnect');
  }, 240_000);
});
