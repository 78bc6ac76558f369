import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEnvelope } from '../../src/lib/envelope-crypto.ts';
import { newId } from '../../src/lib/ids.ts';
import { createGooglePlatform } from '../../src/platforms/google/google-platform.ts';
import { createYouTubePublisher, untilQuotaReset } from '../../src/platforms/google/youtube-publisher.ts';
import type {
  PublicationCheckpoint,
  PublishableMedia,
  PublishStep,
  SocialPublisher,
} from '../../src/platforms/publishing-port.ts';
import type { StoredCredentials } from '../../src/platforms/social-platform.ts';
import { type GoogleFake, startGoogleFake } from '../fakes/google/google-fake.ts';
import { addYouTubeUploads, type YouTubeUploads } from '../fakes/google/youtube-upload-fake.ts';
import { type FakeRequest, s256 } from '../fakes/vendor-fake-server.ts';
import { testGateway } from '../helpers/egress-harness.ts';
import { mediaDir } from '../helpers/generation-helpers.ts';
import {
  generateMedia,
  getPublication,
  type PublishingApp,
  publish,
  runUntilSettled,
} from '../helpers/publishing-app.ts';
import { callbackUri, followCallback, startConnect } from '../helpers/social-accounts.ts';
import { closeSocialApp, startSocialApp } from '../helpers/social-app.ts';
import { bearer } from '../helpers/test-app.ts';

const run = promisify(execFile);
const CLIENT = { clientId: 'gclient.apps.googleusercontent.com', clientSecret: 'gsecret_canary' };
const REDIRECT = 'https://app.example.com/v1/oauth/callback/youtube';
const CHUNK = 256 * 1024;
const CAPTION = 'Cold brew, bold mornings\nShop the summer range today.';

/** A real H.264 MP4 of a few MB (ffmpeg's test pattern at a high bitrate: ten 256 KiB chunks). */
async function makeMp4(): Promise<Buffer> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'layers-yt-')), 'v.mp4');
  await run('ffmpeg', [
    '-y',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=30',
    '-t',
    '4',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-b:v',
    '6M',
    '-pix_fmt',
    'yuv420p',
    file,
  ]);
  return readFileSync(file);
}

function mediaOf(buf: Buffer, kind: 'video' | 'image' = 'video'): PublishableMedia {
  return {
    id: newId('media'),
    kind,
    contentType: kind === 'video' ? 'video/mp4' : 'image/png',
    bytes: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
    width: 640,
    height: 360,
    durationMs: 4000,
    read: async (start, end) => buf.subarray(start, end),
    publicUrl: () => {
      throw new Error('YouTube uploads the bytes: it never needs a public URL');
    },
  };
}

const isUpload = (r: FakeRequest) => r.path === '/upload/youtube/v3/videos';
const isQuery = (r: FakeRequest) =>
  isUpload(r) && r.method === 'PUT' && String(r.headers['content-range']).startsWith('bytes */');
const isChunk = (r: FakeRequest) => isUpload(r) && r.method === 'PUT' && !isQuery(r);

describe('publishing: YouTube resumable upload, the publisher against the fake through the gateway', () => {
  let fake: GoogleFake;
  let uploads: YouTubeUploads;
  let gw: ReturnType<typeof testGateway>;
  let publisher: SocialPublisher;
  let mp4: Buffer;
  let media: PublishableMedia;
  const ctx = { orgId: newId('org'), projectId: newId('project') };
  const envelope = createEnvelope([randomBytes(32)]);

  beforeAll(async () => {
    fake = await startGoogleFake({ ...CLIENT, redirectUris: [REDIRECT] });
    uploads = addYouTubeUploads(fake);
    gw = testGateway({ redirects: { 'oauth2.googleapis.com': fake.url, 'www.googleapis.com': fake.url } });
    publisher = createYouTubePublisher({
      egress: gw.gateway,
      now: () => new Date(),
      envelope,
      chunkBytes: CHUNK,
    });
    mp4 = await makeMp4();
    media = mediaOf(mp4);
  });
  afterAll(async () => {
    await gw.gateway.close();
    await fake.close();
  });
  beforeEach(() => {
    uploads.violations.length = 0;
  });

  /** A channel connected as the social-accounts flow does it (authorize, code exchange with PKCE). */
  async function connect(channel: string): Promise<StoredCredentials> {
    const platform = createGooglePlatform({ egress: gw.gateway, now: () => new Date(), credentials: CLIENT });
    const verifier = randomBytes(32).toString('base64url');
    const back = fake.authorize(
      platform.authorizationUrl({ state: 'st', codeChallenge: s256(verifier), redirectUri: REDIRECT }),
      channel,
    );
    const code = new URL(back).searchParams.get('code') as string;
    const [identity] = await platform.connect(ctx, { code, codeVerifier: verifier, redirectUri: REDIRECT });
    if (!identity) throw new Error('no channel');
    expect(identity.tokens.scopes).toContain('https://www.googleapis.com/auth/youtube.upload');
    return {
      platform: 'youtube',
      platformUserId: identity.platformUserId,
      grantUserId: null,
      accessToken: identity.tokens.accessToken,
      refreshToken: identity.tokens.refreshToken,
    };
  }

  const request = (
    publicationId: string,
    checkpoint: PublicationCheckpoint,
    over: { privacy?: string | null; caption?: string; media?: PublishableMedia } = {},
  ) => ({
    publicationId,
    media: over.media ?? media,
    caption: over.caption ?? CAPTION,
    privacy: over.privacy === undefined ? 'unlisted' : over.privacy,
    checkpoint,
  });

  /** Steps as the job does (storing each checkpoint) until published; answers every step's result. */
  async function drive(
    creds: StoredCredentials,
    publicationId: string,
    from: PublicationCheckpoint = {},
    over: Parameters<typeof request>[2] = {},
  ): Promise<PublishStep[]> {
    const steps: PublishStep[] = [];
    let checkpoint = from;
    for (let i = 0; i < 50; i++) {
      const step = await publisher.step(ctx, creds, request(publicationId, checkpoint, over));
      steps.push(step);
      if (step.status === 'published') return steps;
      checkpoint = step.checkpoint;
    }
    throw new Error('never published');
  }
  const last = (steps: PublishStep[]) => steps.at(-1) as Extract<PublishStep, { status: 'published' }>;

  it('uploads a multi-chunk MP4 in aligned, in-order chunks and answers the video and its watch URL', async () => {
    const creds = await connect('UCyt00001');
    const before = fake.requests.length;
    const rowsBefore = gw.rows.length;
    const steps = await drive(creds, newId('media'));
    const done = last(steps);
    expect(uploads.videos.filter((v) => v.channelId === 'UCyt00001')).toEqual([
      {
        id: done.platformPostId,
        channelId: 'UCyt00001',
        title: 'Cold brew, bold mornings',
        description: CAPTION,
        privacyStatus: 'unlisted',
        bytes: mp4.length,
        sha256: media.sha256,
      },
    ]);
    expect(done.permalink).toBe(`https://www.youtube.com/watch?v=${done.platformPostId}`);
    expect(uploads.violations).toEqual([]);
    const chunks = Math.ceil(mp4.length / CHUNK);
    expect(chunks).toBeGreaterThanOrEqual(8);
    // One session, then one step per chunk: each asks where the session stands, then sends one chunk.
    expect(steps.map((s) => s.status)).toEqual([...Array(chunks).fill('uploading'), 'published']);
    const sent = fake.requests.slice(before).filter(isUpload);
    expect(sent.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(sent.filter(isChunk).map((r) => r.headers['content-range'])).toEqual(
      Array.from(
        { length: chunks },
        (_, i) => `bytes ${i * CHUNK}-${Math.min((i + 1) * CHUNK, mp4.length) - 1}/${mp4.length}`,
      ),
    );
    const queries = sent.filter(isQuery);
    expect(queries).toHaveLength(chunks);
    expect(queries.every((q) => q.headers['content-length'] === '0')).toBe(true);
    // Every call went through the gateway as a publishing call; the bytes were declared generated media.
    const rows = gw.rows
      .slice(rowsBefore)
      .filter((r) => r.host === 'www.googleapis.com' && r.purpose === 'publishing');
    expect(rows).toHaveLength(1 + 2 * chunks);
    expect(rows.filter((r) => r.data_classes.includes('generated_media'))).toHaveLength(chunks);
    // The video is on the channel: the base fake's uploads list (what the post sync reads) shows it.
    expect(fake.control.videos.map((v) => v.id)).toContain(done.platformPostId);
  });

  it('keeps no token, session URI or upload_id in a checkpoint; a checkpoint opens only for its own publication', async () => {
    const creds = await connect('UCyt00002');
    const pub = newId('media');
    const steps = await drive(creds, pub, {}, { privacy: null });
    const ids = [...uploads.sessions.keys()];
    const text = JSON.stringify(steps.map((s) => s.checkpoint));
    for (const secret of [creds.accessToken, creds.refreshToken, 'upload_id', 'googleapis', ...ids])
      expect(text).not.toContain(secret as string);
    expect(JSON.stringify(gw.rows)).not.toContain(creds.accessToken as string);
    // privacy null: YouTube's default for us is private.
    expect(uploads.videos.at(-1)?.privacyStatus).toBe('private');
    // Another publication handed this one's checkpoint cannot use its session: it starts its own.
    const sessions = uploads.sessions.size;
    const other = await publisher.step(ctx, creds, request(newId('media'), steps[2]?.checkpoint ?? {}));
    expect(other).toMatchObject({ status: 'uploading', checkpoint: { confirmed: 0 } });
    expect(uploads.sessions.size).toBe(sessions + 1);
  });

  it('resumes an interrupted chunk from the Range the session answers, not from what was sent', async () => {
    const creds = await connect('UCyt00003');
    const pub = newId('media');
    let checkpoint: PublicationCheckpoint = {};
    for (let i = 0; i < 3; i++)
      checkpoint = (await publisher.step(ctx, creds, request(pub, checkpoint))).checkpoint;
    expect(checkpoint.confirmed).toBe(2 * CHUNK);
    uploads.control.interruptChunk = { keepBytes: 100_000 };
    await expect(publisher.step(ctx, creds, request(pub, checkpoint))).rejects.toMatchObject({
      kind: 'transient',
      vendorCode: 'backendError',
    });
    // The job retries the step with the checkpoint it has: the server holds 100,000 bytes more.
    const before = fake.requests.length;
    const steps = await drive(creds, pub, checkpoint);
    const resumed = fake.requests.slice(before).find(isChunk);
    expect(resumed?.headers['content-range']).toBe(
      `bytes ${2 * CHUNK + 100_000}-${3 * CHUNK + 100_000 - 1}/${mp4.length}`,
    );
    expect(uploads.violations).toEqual([]);
    expect(uploads.videos.at(-1)).toMatchObject({ id: last(steps).platformPostId, sha256: media.sha256 });
  });

  it('restarted from every older checkpoint, a publication makes exactly one video', async () => {
    const creds = await connect('UCyt00004');
    const pub = newId('media');
    const steps = await drive(creds, pub);
    const videoId = last(steps).platformPostId;
    const checkpoints = steps.slice(0, -1).map((s) => s.checkpoint);
    const chunksBefore = fake.requests.filter(isChunk).length;
    // Killed after the final chunk, before its checkpoint was stored, at any earlier point: the
    // session answers that the upload is complete and the step takes the video from that answer.
    for (const checkpoint of checkpoints) {
      const step = await publisher.step(ctx, creds, request(pub, checkpoint));
      expect(step).toMatchObject({ status: 'published', platformPostId: videoId });
    }
    expect(fake.requests.filter(isChunk).length).toBe(chunksBefore);
    expect(uploads.videos.filter((v) => v.channelId === 'UCyt00004')).toHaveLength(1);
    expect(uploads.violations).toEqual([]);
  });

  it('killed mid-upload or right after the session was created, a restart still makes one whole video', async () => {
    const creds = await connect('UCyt00005');
    const pub = newId('media');
    const seen: PublicationCheckpoint[] = [{}];
    for (let i = 0; i < 5; i++)
      seen.push((await publisher.step(ctx, creds, request(pub, seen.at(-1) ?? {}))).checkpoint);
    // Restart from the checkpoint two steps back: the server is two chunks ahead of it.
    const steps = await drive(creds, pub, seen[3]);
    expect(uploads.violations).toEqual([]);
    expect(uploads.videos.filter((v) => v.channelId === 'UCyt00005')).toEqual([
      expect.objectContaining({ id: last(steps).platformPostId, sha256: media.sha256 }),
    ]);

    // Killed after the session was created, before it was stored: the restart opens a new session;
    // the lost one stays incomplete and never becomes a video.
    const again = newId('media');
    const sessions = uploads.sessions.size;
    await publisher.step(ctx, creds, request(again, {}));
    await drive(creds, again, {});
    expect(uploads.sessions.size).toBe(sessions + 2);
    expect(uploads.videos.filter((v) => v.channelId === 'UCyt00005')).toHaveLength(2);
    expect([...uploads.sessions.values()].filter((s) => s.video === null && s.stored === 0)).not.toHaveLength(
      0,
    );
  });

  it('a session Google let expire (404) is replaced by a new one and the upload starts again', async () => {
    const creds = await connect('UCyt00009');
    const pub = newId('media');
    let checkpoint: PublicationCheckpoint = {};
    for (let i = 0; i < 3; i++)
      checkpoint = (await publisher.step(ctx, creds, request(pub, checkpoint))).checkpoint;
    uploads.expireIncompleteSessions();
    const sessions = uploads.sessions.size;
    const steps = await drive(creds, pub, checkpoint);
    expect(steps[0]).toMatchObject({ status: 'uploading', checkpoint: { confirmed: 0 } });
    expect(uploads.sessions.size).toBe(sessions + 1);
    expect(uploads.violations).toEqual([]);
    expect(uploads.videos.filter((v) => v.channelId === 'UCyt00009')).toEqual([
      expect.objectContaining({ id: last(steps).platformPostId, sha256: media.sha256 }),
    ]);
  });

  it.each([
    [403, 'quotaExceeded', { kind: 'rate_limited', vendorCode: 'quotaExceeded', apiCode: null }],
    [
      403,
      'rateLimitExceeded',
      { kind: 'rate_limited', vendorCode: 'rateLimitExceeded', apiCode: null, retryAfterMs: null },
    ],
    [
      400,
      'uploadLimitExceeded',
      { kind: 'refused', vendorCode: 'uploadLimitExceeded', apiCode: 'publishing_cap_reached' },
    ],
    [400, 'invalidTitle', { kind: 'refused', vendorCode: 'invalidTitle', apiCode: 'media_rejected' }],
    [
      400,
      'invalidDescription',
      { kind: 'refused', vendorCode: 'invalidDescription', apiCode: 'media_rejected' },
    ],
    [
      403,
      'forbiddenPrivacySetting',
      { kind: 'refused', vendorCode: 'forbiddenPrivacySetting', apiCode: 'privacy_level_not_allowed' },
    ],
    [503, 'backendError', { kind: 'transient', vendorCode: 'backendError', apiCode: null }],
  ])('session creation answering %i %s fails as %o', async (status, reason, expected) => {
    const creds = await connect(`UCytf${reason.slice(0, 6)}`);
    const videos = uploads.videos.length;
    uploads.control.failSession = { status, reason };
    await expect(publisher.step(ctx, creds, request(newId('media'), {}))).rejects.toMatchObject(expected);
    expect(uploads.videos).toHaveLength(videos);
  });

  it('a spent daily quota is retried when it resets at midnight Pacific Time', async () => {
    // 08:00Z is midnight PST (December): a full day to wait; 20:30Z is 12:30 PST.
    expect(untilQuotaReset(new Date('2026-12-01T08:00:00Z'))).toBe(24 * 3600_000);
    expect(untilQuotaReset(new Date('2026-12-01T20:30:00Z'))).toBe(11.5 * 3600_000);
    // July: PDT, midnight is 07:00Z.
    expect(untilQuotaReset(new Date('2026-07-01T06:59:59Z'))).toBe(1000);
    const creds = await connect('UCyt00008');
    uploads.control.failSession = { status: 403, reason: 'quotaExceeded' };
    const error = await publisher.step(ctx, creds, request(newId('media'), {})).catch((e) => e);
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(error.retryAfterMs).toBeLessThanOrEqual(24 * 3600_000);
  });

  it('a grant revoked mid-upload fails the next step as reauth (authError)', async () => {
    const creds = await connect('UCyt00006');
    const pub = newId('media');
    let checkpoint: PublicationCheckpoint = {};
    for (let i = 0; i < 3; i++)
      checkpoint = (await publisher.step(ctx, creds, request(pub, checkpoint))).checkpoint;
    await uploads.revokeGrant(creds.accessToken as string);
    await expect(publisher.step(ctx, creds, request(pub, checkpoint))).rejects.toMatchObject({
      kind: 'reauth',
      vendorCode: 'authError',
    });
    expect(uploads.videos.filter((v) => v.channelId === 'UCyt00006')).toHaveLength(0);
  });

  it('refuses before any call what YouTube cannot take; a title is one clean line of at most 100 characters', async () => {
    const creds = await connect('UCyt00007');
    const before = fake.requests.length;
    const refusals: [Parameters<typeof request>[2], object][] = [
      [{ media: mediaOf(mp4, 'image') }, { kind: 'refused', apiCode: 'unsupported_media' }],
      [{ privacy: 'friends' }, { kind: 'refused', apiCode: 'privacy_level_not_allowed' }],
      [{ caption: ' <> \n ' }, { kind: 'refused', vendorCode: 'invalidTitle', apiCode: 'media_rejected' }],
    ];
    for (const [over, expected] of refusals)
      await expect(publisher.step(ctx, creds, request(newId('media'), {}, over))).rejects.toMatchObject(
        expected,
      );
    const unsealed = createYouTubePublisher({ egress: gw.gateway, now: () => new Date() });
    await expect(unsealed.step(ctx, creds, request(newId('media'), {}))).rejects.toMatchObject({
      kind: 'refused',
      apiCode: 'platform_refused',
    });
    expect(fake.requests.length).toBe(before);

    const long = `${'Sale <b>now</b> '.repeat(12)}\nmore`;
    await drive(creds, newId('media'), {}, { caption: long });
    const video = uploads.videos.at(-1);
    expect([...(video?.title ?? '')].length).toBeLessThanOrEqual(100);
    expect(video?.title).toMatch(/^Sale bnow\/b Sale/);
    expect(uploads.violations).toEqual([]);
  });
});

describe('publishing: YouTube end to end through the API', () => {
  let fake: GoogleFake;
  let uploads: YouTubeUploads;
  let app: Awaited<ReturnType<typeof startSocialApp<GoogleFake>>>;
  /** The publishing helpers read the app, the org and the project only (their fake is TikTok's). */
  let a: PublishingApp;
  /** One generated video (the default provider's real MP4), posted by each case. */
  let mediaId: string;

  beforeAll(async () => {
    fake = await startGoogleFake({ ...CLIENT, redirectUris: [callbackUri('youtube')] });
    uploads = addYouTubeUploads(fake);
    app = await startSocialApp(fake, ['oauth2.googleapis.com', 'www.googleapis.com'], {
      GOOGLE_CLIENT_ID: CLIENT.clientId,
      GOOGLE_CLIENT_SECRET: CLIENT.clientSecret,
      LAYERS_MEDIA_DIR: mediaDir(),
      LAYERS_VIDEO_DURATION_MS: '6000',
    });
    a = { ...app, close: () => closeSocialApp(app.t, fake) } as unknown as PublishingApp;
    mediaId = await generateMedia(a, 'video');
  }, 180_000);
  afterAll(() => closeSocialApp(app.t, fake));

  it('posts a generated video to a connected channel: published, one video, in the account posts', async () => {
    const back = await followCallback(
      app.t,
      fake.authorize(await startConnect(app.t, app.org, app.projectId, 'youtube'), 'UCe2e00001'),
    );
    const accountId = back.location?.searchParams.get('social_account_ids') as string;
    expect(accountId).toMatch(/^sa_/);
    const res = await publish(a, accountId, {
      media_id: mediaId,
      caption: 'Acme Cold Brew\nBold mornings, shop now.',
      privacy: 'unlisted',
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const done = await runUntilSettled(a, id);
    const [video] = uploads.videos;
    expect(uploads.videos).toHaveLength(1);
    expect(done).toMatchObject({
      status: 'published',
      platform_post_id: video?.id,
      permalink: `https://www.youtube.com/watch?v=${video?.id}`,
    });
    const { rows } = await app.t.db.systemPool.query(
      'SELECT m.sha256, m.bytes, p.checkpoint FROM media_assets m JOIN publications p ON p.media_id = m.id WHERE p.id = $1',
      [id],
    );
    expect(video).toMatchObject({
      title: 'Acme Cold Brew',
      privacyStatus: 'unlisted',
      sha256: rows[0].sha256,
      bytes: Number(rows[0].bytes),
    });
    expect(JSON.stringify(rows[0].checkpoint)).not.toMatch(/upload_id|ya29\.|1\/\//);
    expect(uploads.violations).toEqual([]);
    // Asking again changes nothing: the publication is settled.
    expect((await getPublication(a, id)).status).toBe('published');

    expect(await app.t.container.socialAccounts.sync.syncAccount(app.org.id, accountId)).toBe('synced');
    const posts = await app.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}/posts`,
      headers: bearer(app.org.secret),
    });
    expect(posts.json().data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          platform_post_id: video?.id,
          caption: 'Acme Cold Brew',
          permalink: `https://www.youtube.com/watch?v=${video?.id}`,
        }),
      ]),
    );
  }, 120_000);

  it('a grant revoked between the session and the upload fails the publication with account_needs_reconnect', async () => {
    const back = await followCallback(
      app.t,
      fake.authorize(await startConnect(app.t, app.org, app.projectId, 'youtube'), 'UCe2e00002'),
    );
    const accountId = back.location?.searchParams.get('social_account_ids') as string;
    const res = await publish(a, accountId, {
      media_id: mediaId,
      caption: 'Acme Cold Brew',
    });
    expect(res.statusCode, res.body).toBe(202);
    const videos = uploads.videos.length;
    uploads.control.revokeBeforeUpload = true;
    const done = await runUntilSettled(a, res.json().id);
    expect(done).toMatchObject({
      status: 'failed',
      error: { code: 'account_needs_reconnect', platform_code: 'authError' },
    });
    expect(uploads.videos).toHaveLength(videos);
    expect(uploads.control.revokeBeforeUpload).toBe(false);
    const account = await app.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}`,
      headers: bearer(app.org.secret),
    });
    expect(account.json().status).toBe('needs_reconnect');
  }, 120_000);
});
