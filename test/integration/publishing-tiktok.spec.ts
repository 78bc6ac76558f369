import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEnvelope,
  generateKeyEncryptionKey,
  parseKeyEncryptionKeys,
} from '../../src/lib/envelope-crypto.ts';
import { newId } from '../../src/lib/ids.ts';
import type {
  PublicationCheckpoint,
  PublishableMedia,
  PublishStep,
  SocialPublisher,
} from '../../src/platforms/publishing-port.ts';
import { PlatformError, type StoredCredentials } from '../../src/platforms/social-platform.ts';
import { createTikTokPlatform } from '../../src/platforms/tiktok/tiktok-platform.ts';
import { createTikTokPublisher } from '../../src/platforms/tiktok/tiktok-publisher.ts';
import { startTikTokFake, type TikTokFake } from '../fakes/tiktok/tiktok-fake.ts';
import { type TikTokPublishingFake, useTikTokPublishing } from '../fakes/tiktok/tiktok-publishing-fake.ts';
import { testGateway } from '../helpers/egress-harness.ts';
import {
  connectTikTok,
  generateMedia,
  getPublication,
  type PublishingApp,
  publish,
  runUntilSettled,
  startPublishingApp,
} from '../helpers/publishing-app.ts';
import { callbackUri } from '../helpers/social-accounts.ts';
import { bearer } from '../helpers/test-app.ts';

const run = promisify(execFile);
const KEY = 'tt_pub_client_key';
const SECRET = 'tt_pub_client_secret_canary';
/** The publisher sends nothing keyed by it (TikTok has no idempotency key). */
const PUBLICATION_ID = 'pub_tiktok_spec';

/** An MP4 made by ffmpeg: `seconds` of noise at a bitrate that makes the file about `megabytes`. */
async function mp4(seconds: number, megabytes: number): Promise<Buffer> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'layers-tiktok-')), 'v.mp4');
  const bitrate = Math.ceil((megabytes * 8 * 1024) / seconds);
  await run('ffmpeg', [
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `nullsrc=s=640x360:r=25,geq=random(1)*255:128:128`,
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-b:v',
    `${bitrate}k`,
    '-minrate',
    `${bitrate}k`,
    '-maxrate',
    `${bitrate}k`,
    '-bufsize',
    `${bitrate}k`,
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    file,
  ]);
  return readFileSync(file);
}

function mediaOf(buf: Buffer, over: Partial<PublishableMedia> = {}): PublishableMedia {
  return {
    id: newId('media'),
    kind: 'video',
    contentType: 'video/mp4',
    bytes: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
    width: 640,
    height: 360,
    durationMs: 2000,
    read: async (start, end) => buf.subarray(start, end),
    publicUrl: () => {
      throw new Error('TikTok FILE_UPLOAD never asks for a public URL');
    },
    ...over,
  };
}

/**
 * TikTok publishing through a real egress gateway against the fake: the step loop as the job runs it,
 * each TikTok failure as its PlatformError, restarts from every older checkpoint, a real multi-chunk
 * MP4, and checkpoints without tokens or upload URLs.
 */
describe('publishing: TikTok publisher', () => {
  let fake: TikTokFake;
  let tt: TikTokPublishingFake;
  let harness: ReturnType<typeof testGateway>;
  let small: Buffer;
  let large: Buffer;
  const ctx = { orgId: newId('org'), projectId: newId('project') };
  const envelope = createEnvelope(parseKeyEncryptionKeys(generateKeyEncryptionKey()));
  /** As the container makes it with its envelope (`sealed`), or without one (memory only). */
  const publisher = (sealed = false): SocialPublisher =>
    createTikTokPublisher({
      egress: harness.gateway,
      now: () => new Date(),
      ...(sealed ? { envelope } : {}),
    });

  beforeAll(async () => {
    fake = await startTikTokFake({
      clientKey: KEY,
      clientSecret: SECRET,
      redirectUris: [callbackUri('tiktok')],
    });
    tt = useTikTokPublishing(fake);
    // The API host and the upload host both lead to the one fake (paths do not overlap).
    harness = testGateway({
      redirects: { 'open.tiktokapis.com': fake.url, 'open-upload.tiktokapis.com': fake.url },
    });
    [small, large] = await Promise.all([mp4(2, 0.3), mp4(4, 21)]);
  }, 120_000);
  afterAll(() => fake.close());
  beforeEach(() => {
    Object.assign(tt.control, {
      unaudited: false,
      dailyCap: 15,
      activeUserCap: Number.POSITIVE_INFINITY,
      rateLimit: { creatorInfo: 0, init: 0, status: 0 },
      processingPolls: 0,
      failNext: null,
      failChunk: null,
      repeatedChunk: 'answered',
    });
    tt.control.revoked.clear();
    // The fake keeps every request's bytes; each test looks at its own.
    fake.requests.length = 0;
  });

  /** A connected TikTok user: the real adapter's OAuth flow against the fake. */
  async function connected(openId: string): Promise<StoredCredentials> {
    const platform = createTikTokPlatform({
      egress: harness.gateway,
      now: () => new Date(),
      credentials: { clientKey: KEY, clientSecret: SECRET },
    });
    const verifier = 'v'.repeat(64);
    const redirectUri = callbackUri('tiktok');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const back = new URL(
      fake.authorize(
        platform.authorizationUrl({ state: 's', codeChallenge: challenge, redirectUri }),
        openId,
      ),
    );
    const [identity] = await platform.connect(ctx, {
      code: back.searchParams.get('code') as string,
      codeVerifier: verifier,
      redirectUri,
    });
    if (!identity) throw new Error('no identity');
    return {
      platform: 'tiktok',
      platformUserId: identity.platformUserId,
      grantUserId: null,
      accessToken: identity.tokens.accessToken,
      refreshToken: identity.tokens.refreshToken,
    };
  }

  type Run = { steps: PublishStep[]; checkpoints: PublicationCheckpoint[]; last: PublishStep };

  /** The job's loop: step, keep the checkpoint, step again, until published (at most `max` steps). */
  async function drive(
    p: SocialPublisher,
    creds: StoredCredentials,
    media: PublishableMedia,
    opts: {
      privacy?: string | null;
      from?: PublicationCheckpoint;
      max?: number;
      caption?: string;
      publicationId?: string;
    } = {},
  ): Promise<Run> {
    const steps: PublishStep[] = [];
    const checkpoints: PublicationCheckpoint[] = [opts.from ?? {}];
    for (let i = 0; i < (opts.max ?? 50); i++) {
      const s = await p.step(ctx, creds, {
        publicationId: opts.publicationId ?? PUBLICATION_ID,
        media,
        caption: opts.caption ?? 'Cold brew, bold mornings #coffee',
        privacy: opts.privacy ?? null,
        checkpoint: checkpoints.at(-1) as PublicationCheckpoint,
      });
      steps.push(s);
      checkpoints.push(s.checkpoint);
      if (s.status === 'published') return { steps, checkpoints, last: s };
    }
    return { steps, checkpoints, last: steps.at(-1) as PublishStep };
  }

  async function failure(promise: Promise<unknown>): Promise<PlatformError> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PlatformError);
    return error as PlatformError;
  }

  it('publishes a small video: creator_info, init, one whole chunk, polling; the 19-digit post id exactly', async () => {
    const creds = await connected('open_tt_small');
    const before = tt.posts.length;
    const marker = fake.requests.length;
    const { steps, last } = await drive(publisher(), creds, mediaOf(small));
    expect(steps.map((s) => s.status)).toEqual(['uploading', 'processing', 'published']);
    expect(tt.posts.length - before).toBe(1);
    const post = tt.posts.at(-1);
    expect(post?.sha256).toBe(createHash('sha256').update(small).digest('hex'));
    expect(last).toMatchObject({
      status: 'published',
      platformPostId: post?.postId,
      permalink: `https://www.tiktok.com/@brand/video/${post?.postId}`,
    });
    expect(post?.postId).toMatch(/^\d{19}$/);
    const paths = fake.requests.slice(marker).map((r) => `${r.method} ${r.path}`);
    expect(paths).toEqual([
      'POST /v2/post/publish/creator_info/query/',
      'POST /v2/post/publish/video/init/',
      'PUT /video/',
      'POST /v2/post/publish/status/fetch/',
    ]);
    const init = JSON.parse(fake.requests.slice(marker)[1]?.body ?? '{}');
    expect(init).toEqual({
      post_info: {
        title: 'Cold brew, bold mornings #coffee',
        privacy_level: 'PUBLIC_TO_EVERYONE',
        disable_comment: false,
        disable_duet: false,
        disable_stitch: false,
      },
      source_info: {
        source: 'FILE_UPLOAD',
        video_size: small.length,
        chunk_size: small.length,
        total_chunk_count: 1,
      },
    });
    // Every call went through the gateway as publishing, to the two TikTok hosts.
    const rows = harness.rows.slice(-4);
    expect(rows.map((r) => [r.purpose, r.host])).toEqual([
      ['publishing', 'open.tiktokapis.com'],
      ['publishing', 'open.tiktokapis.com'],
      ['publishing', 'open-upload.tiktokapis.com'],
      ['publishing', 'open.tiktokapis.com'],
    ]);
    expect(rows[2]?.data_classes).toEqual(['generated_media']);
  });

  it('uploads a real 21 MB MP4 in two in-order chunks with exact Content-Range headers', async () => {
    const creds = await connected('open_tt_large');
    const size = large.length;
    expect(size).toBeGreaterThan(20_000_000);
    const before = tt.posts.length;
    const marker = tt.chunkRequests().length;
    const { steps, last } = await drive(publisher(), creds, mediaOf(large));
    expect(steps.map((s) => s.status)).toEqual(['uploading', 'uploading', 'processing', 'published']);
    const chunks = tt.chunkRequests().slice(marker);
    expect(chunks.map((c) => c.headers['content-range'])).toEqual([
      `bytes 0-9999999/${size}`,
      `bytes 10000000-${size - 1}/${size}`,
    ]);
    expect(chunks.map((c) => Number(c.headers['content-length']))).toEqual([10_000_000, size - 10_000_000]);
    expect(chunks.every((c) => c.headers['content-type'] === 'video/mp4')).toBe(true);
    const init = fake.requests.filter((r) => r.path === '/v2/post/publish/video/init/').at(-1);
    expect(JSON.parse(init?.body ?? '{}').source_info).toEqual({
      source: 'FILE_UPLOAD',
      video_size: size,
      chunk_size: 10_000_000,
      total_chunk_count: Math.floor(size / 10_000_000),
    });
    expect(tt.posts.length - before).toBe(1);
    expect(tt.posts.at(-1)?.sha256).toBe(createHash('sha256').update(large).digest('hex'));
    expect(last.status === 'published' && last.platformPostId).toBe(tt.posts.at(-1)?.postId);
  });

  it('restarted from every older checkpoint (a new process, or the same one after a lost store) posts once', async () => {
    const creds = await connected('open_tt_crash');
    // 17 posts from one account here: above TikTok's daily cap, which is not what this test is about.
    tt.control.dailyCap = 100;
    const media = mediaOf(large);
    const reference = await drive(publisher(), creds, media);
    expect(reference.last.status).toBe('published');
    // Step k ran at TikTok, then its checkpoint was lost: the job resumes from the one before it.
    for (let k = 0; k < reference.steps.length; k++) {
      for (const sealed of [false, true])
        for (const restart of ['new process', 'same process'] as const) {
          const what = `${restart}${sealed ? ', sealed' : ''}, step ${k}`;
          const before = tt.posts.length;
          const first = publisher(sealed);
          const ran = await drive(first, creds, media, { max: k + 1 });
          const resumed = await drive(restart === 'new process' ? publisher(sealed) : first, creds, media, {
            from: ran.checkpoints[k] as PublicationCheckpoint,
          });
          expect(resumed.last.status, what).toBe('published');
          expect(tt.posts.length - before, what).toBe(1);
          expect(resumed.last.status === 'published' && resumed.last.platformPostId, what).toBe(
            tt.posts.at(-1)?.postId,
          );
        }
    }
  }, 120_000);

  it('a chunk sent again after its answer was lost, refused by TikTok (416): goes on from uploaded_bytes, one post, no second init', async () => {
    const creds = await connected('open_tt_repeat');
    const media = mediaOf(large);
    tt.control.repeatedChunk = 'refused';
    const inits = () => fake.requests.filter((r) => r.path === '/v2/post/publish/video/init/').length;
    const p = publisher(true);
    // Chunk 1 taken at TikTok, its checkpoint lost: the restart sends chunk 1 again.
    const first = await drive(p, creds, media, { max: 2 });
    expect(first.last).toMatchObject({ status: 'uploading', checkpoint: { next_chunk: 1 } });
    const before = { posts: tt.posts.length, inits: inits(), chunks: tt.chunkRequests().length };
    const rest = await drive(p, creds, media, { from: first.checkpoints[1] as PublicationCheckpoint });
    expect(rest.last.status).toBe('published');
    expect(tt.posts.length - before.posts).toBe(1);
    expect(inits()).toBe(before.inits);
    // Chunk 1 again (refused), then chunk 2 only.
    expect(
      tt
        .chunkRequests()
        .slice(before.chunks)
        .map((r) => String(r.headers['content-range']).split('-')[0]),
    ).toEqual(['bytes 0', 'bytes 10000000']);
    expect(tt.posts.at(-1)?.sha256).toBe(createHash('sha256').update(large).digest('hex'));

    // The last chunk taken (TikTok posted it), its checkpoint lost: TikTok is asked, nothing sent twice.
    const whole = await drive(p, creds, media);
    const posts = tt.posts.length;
    const again = await drive(p, creds, media, { from: whole.checkpoints[2] as PublicationCheckpoint });
    expect(again.last.status === 'published' && again.last.platformPostId).toBe(
      whole.last.status === 'published' && whole.last.platformPostId,
    );
    expect(tt.posts.length).toBe(posts);
  });

  it('with the envelope, another worker goes on with the upload; a checkpoint of another publication does not open', async () => {
    const creds = await connected('open_tt_sealed');
    const media = mediaOf(large);
    const before = { posts: tt.posts.length, unfinished: tt.unfinished() };
    const first = await drive(publisher(true), creds, media, { max: 2 });
    expect(first.last).toMatchObject({ status: 'uploading', checkpoint: { next_chunk: 1 } });
    expect(first.last.checkpoint.upload_session).toMatch(/^lenc1:/);
    const inits = () => fake.requests.filter((r) => r.path === '/v2/post/publish/video/init/').length;
    const initsBefore = inits();
    const rest = await drive(publisher(true), creds, media, { from: first.last.checkpoint });
    expect(rest.last.status).toBe('published');
    expect(inits()).toBe(initsBefore);
    expect(tt.posts.length - before.posts).toBe(1);
    expect(tt.unfinished()).toBe(before.unfinished);

    // The same checkpoint under another publication id: the seal does not open, TikTok is asked, init again.
    const moved = await drive(publisher(true), creds, media, { max: 2, publicationId: 'pub_tiktok_other' });
    const again = await drive(publisher(true), creds, media, {
      from: moved.last.checkpoint,
      publicationId: 'pub_tiktok_spec_copy',
    });
    expect(again.last.status).toBe('published');
    expect(tt.posts.length - before.posts).toBe(2);
    expect(tt.unfinished()).toBe(before.unfinished + 1);
  });

  it('keeps no token, upload URL or upload token in any checkpoint', async () => {
    const creds = await connected('open_tt_clean');
    const plain = await drive(publisher(), creds, mediaOf(large));
    const sealed = await drive(publisher(true), creds, mediaOf(large));
    const checkpoints = [...plain.checkpoints, ...sealed.checkpoints];
    const text = JSON.stringify(checkpoints);
    expect(text).not.toContain(creds.accessToken as string);
    expect(text).not.toMatch(/https?:|upload_token|upload_url|act\.|rft\./);
    for (const cp of checkpoints)
      for (const v of Object.values(cp))
        expect(['string', 'number', 'boolean', 'object']).toContain(typeof v);
  });

  it('an upload URL that expired mid-upload: TikTok is asked, the unfinished publish is abandoned, one post', async () => {
    const creds = await connected('open_tt_expire');
    const p = publisher();
    const media = mediaOf(large);
    const before = tt.posts.length;
    const unfinished = tt.unfinished();
    const first = await drive(p, creds, media, { max: 2 });
    expect(first.last).toMatchObject({ status: 'uploading', checkpoint: { next_chunk: 1 } });
    tt.expireUploads();
    const rest = await drive(p, creds, media, { from: first.last.checkpoint });
    expect(rest.last.status).toBe('published');
    expect(tt.posts.length - before).toBe(1);
    expect(tt.unfinished() - unfinished).toBe(1);
  });

  it('a chunk answered 503 is sent again by the gateway: one post, the bytes whole', async () => {
    const creds = await connected('open_tt_503');
    tt.control.failChunk = 1;
    const before = tt.posts.length;
    const { last } = await drive(publisher(), creds, mediaOf(large));
    expect(last.status).toBe('published');
    expect(tt.posts.length - before).toBe(1);
    expect(tt.posts.at(-1)?.sha256).toBe(createHash('sha256').update(large).digest('hex'));
  });

  it('PROCESSING for a while: polls after the retry the step asks, then published', async () => {
    const creds = await connected('open_tt_slow');
    tt.control.processingPolls = 3;
    const { steps } = await drive(publisher(), creds, mediaOf(small));
    expect(steps.map((s) => s.status)).toEqual([
      'uploading',
      'processing',
      'processing',
      'processing',
      'processing',
      'published',
    ]);
    for (const s of steps.slice(1, -1))
      expect(s.status !== 'published' && s.retryAfterMs).toBeGreaterThanOrEqual(2000);
  });

  it('maps each TikTok failure to its kind, API code and TikTok code', async () => {
    const creds = await connected('open_tt_errors');
    const media = mediaOf(small);
    const step = (privacy: string | null = null, m = media, checkpoint: PublicationCheckpoint = {}) =>
      publisher().step(ctx, creds, {
        publicationId: PUBLICATION_ID,
        media: m,
        caption: 'x',
        privacy,
        checkpoint,
      });
    const before = tt.posts.length;

    tt.control.rateLimit.init = 1;
    expect(await failure(step())).toMatchObject({ kind: 'rate_limited', vendorCode: 'rate_limit_exceeded' });

    tt.control.dailyCap = 0;
    expect(await failure(step())).toMatchObject({
      kind: 'refused',
      apiCode: 'publishing_cap_reached',
      vendorCode: 'spam_risk_too_many_posts',
    });
    tt.control.dailyCap = 15;

    tt.control.activeUserCap = 0;
    expect(await failure(step())).toMatchObject({
      apiCode: 'publishing_cap_reached',
      vendorCode: 'reached_active_user_cap',
    });
    tt.control.activeUserCap = Number.POSITIVE_INFINITY;

    tt.control.unaudited = true;
    const unaudited = await failure(step());
    expect(unaudited).toMatchObject({
      kind: 'refused',
      apiCode: 'privacy_level_not_allowed',
      vendorCode: 'unaudited_client_can_only_post_to_private_accounts',
    });
    expect(unaudited.message).toMatch(/not audited.*SELF_ONLY/);
    tt.control.unaudited = false;

    // A level this (public) account does not offer, and one that is no TikTok level: refused before init.
    const inits = fake.requests.filter((r) => r.path === '/v2/post/publish/video/init/').length;
    expect(await failure(step('FOLLOWER_OF_CREATOR'))).toMatchObject({
      apiCode: 'privacy_level_not_allowed',
    });
    expect(await failure(step('<script>'))).toMatchObject({ apiCode: 'privacy_level_not_allowed' });
    expect((await failure(step('<script>'))).message).not.toContain('<script>');
    expect(fake.requests.filter((r) => r.path === '/v2/post/publish/video/init/').length).toBe(inits);

    expect(await failure(step(null, mediaOf(small, { durationMs: 700_000 })))).toMatchObject({
      apiCode: 'media_rejected',
    });
    const requests = fake.requests.length;
    expect(
      await failure(step(null, mediaOf(small, { kind: 'image', contentType: 'image/png' }))),
    ).toMatchObject({
      kind: 'refused',
      apiCode: 'unsupported_media',
    });
    expect(fake.requests.length).toBe(requests);

    tt.control.revoked.add('open_tt_errors');
    expect(await failure(step())).toMatchObject({ kind: 'reauth', vendorCode: 'access_token_invalid' });
    tt.control.revoked.clear();
    expect(tt.posts.length).toBe(before);
  });

  it('a token revoked mid-flow fails the next TikTok call with reauth; a FAILED publish says why', async () => {
    const creds = await connected('open_tt_revoked');
    const p = publisher();
    const media = mediaOf(small);
    const started = await drive(p, creds, media, { max: 2 });
    expect(started.last.status).toBe('processing');
    tt.control.revoked.add('open_tt_revoked');
    expect(
      await failure(
        p.step(ctx, creds, {
          publicationId: PUBLICATION_ID,
          media,
          caption: 'x',
          privacy: null,
          checkpoint: started.last.checkpoint,
        }),
      ),
    ).toMatchObject({ kind: 'reauth', vendorCode: 'access_token_invalid' });
    tt.control.revoked.clear();

    tt.control.failNext = 'file_format_check_failed';
    const before = tt.posts.length;
    const failed = await failure(drive(p, creds, media));
    expect(failed).toMatchObject({
      kind: 'refused',
      apiCode: 'media_rejected',
      vendorCode: 'file_format_check_failed',
    });
    expect(tt.posts.length).toBe(before);
  });

  it('an unaudited app posts SELF_ONLY from a private account: published with the publish id, no permalink', async () => {
    const creds = await connected('open_tt_private');
    tt.setCreator('open_tt_private', { privateAccount: true, commentDisabled: true });
    tt.control.unaudited = true;
    const { last } = await drive(publisher(), creds, mediaOf(small), { privacy: 'private' });
    const post = tt.posts.at(-1);
    expect(post).toMatchObject({ openId: 'open_tt_private', privacyLevel: 'SELF_ONLY' });
    expect(last).toMatchObject({ status: 'published', platformPostId: post?.publishId, permalink: null });
    const init = fake.requests.filter((r) => r.path === '/v2/post/publish/video/init/').at(-1);
    expect(JSON.parse(init?.body ?? '{}').post_info).toMatchObject({
      privacy_level: 'SELF_ONLY',
      disable_comment: true,
    });
  });
});

/**
 * Through the API with the container's own publisher registry (envelope included): a connected TikTok
 * account, a video generated by the default provider, POST a publication, the job's work run until it
 * settles: `published` once at TikTok, the post in the account's posts; TikTok's refusals as the API's
 * error codes with TikTok's own code.
 */
describe('publishing: TikTok end to end through the API', () => {
  let a: PublishingApp;
  let tt: TikTokPublishingFake;
  let videoId: string;

  beforeAll(async () => {
    a = await startPublishingApp();
    tt = useTikTokPublishing(a.fake);
    videoId = await generateMedia(a, 'video');
  }, 120_000);
  afterAll(() => a.close());

  it('publishes a generated video once; the publication and the account list the post', async () => {
    const accountId = await connectTikTok(a, 'open_tt_e2e');
    const res = await publish(a, accountId, { media_id: videoId, caption: 'Bold mornings #coldbrew' });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const settled = await runUntilSettled(a, id);
    expect(tt.posts).toHaveLength(1);
    const post = tt.posts[0] as (typeof tt.posts)[number];
    expect(post).toMatchObject({ openId: 'open_tt_e2e', title: 'Bold mornings #coldbrew' });
    expect(settled).toMatchObject({
      id,
      status: 'published',
      platform_post_id: post.postId,
      permalink: `https://www.tiktok.com/@brand/video/${post.postId}`,
    });
    // The bytes TikTok took are the generated video's.
    const { rows } = await a.t.db.systemPool.query('SELECT sha256, bytes FROM media_assets WHERE id = $1', [
      videoId,
    ]);
    expect(post).toMatchObject({ sha256: rows[0].sha256, bytes: Number(rows[0].bytes) });
    const posts = await a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}/posts`,
      headers: bearer(a.org.secret),
    });
    expect(posts.json().data.map((p: { platform_post_id: string }) => p.platform_post_id)).toContain(
      post.postId,
    );
    // The job's stored checkpoint holds no token and no upload URL in clear.
    const stored = await a.t.db.systemPool.query('SELECT checkpoint FROM publications WHERE id = $1', [id]);
    expect(JSON.stringify(stored.rows[0].checkpoint)).not.toMatch(/https?:|upload_token|act\./);
    // Settled means settled: running again posts nothing more.
    await a.t.container.publishing.runner.run(a.org.id, id);
    expect(tt.posts).toHaveLength(1);
  }, 60_000);

  it('an unaudited app from a public account: failed with privacy_level_not_allowed and the reason', async () => {
    const accountId = await connectTikTok(a, 'open_tt_e2e_unaudited');
    tt.control.unaudited = true;
    try {
      const res = await publish(a, accountId, { media_id: videoId, caption: 'x' });
      expect(res.statusCode, res.body).toBe(202);
      const settled = await runUntilSettled(a, res.json().id);
      expect(settled).toMatchObject({
        status: 'failed',
        error: {
          code: 'privacy_level_not_allowed',
          platform_code: 'unaudited_client_can_only_post_to_private_accounts',
        },
      });
      // The rule: the error says that an unaudited app can only post SELF_ONLY.
      expect(settled.error.message).toMatch(/not audited.*SELF_ONLY.*private account/);
    } finally {
      tt.control.unaudited = false;
    }
  }, 60_000);

  it("TikTok's daily post cap: failed with publishing_cap_reached and spam_risk_too_many_posts, nothing posted", async () => {
    const accountId = await connectTikTok(a, 'open_tt_e2e_cap');
    const before = tt.posts.length;
    tt.control.dailyCap = 0;
    try {
      const res = await publish(a, accountId, { media_id: videoId, caption: 'x' });
      const settled = await runUntilSettled(a, res.json().id);
      expect(settled).toMatchObject({
        status: 'failed',
        error: { code: 'publishing_cap_reached', platform_code: 'spam_risk_too_many_posts' },
      });
      expect(tt.posts.length).toBe(before);
    } finally {
      tt.control.dailyCap = 15;
    }
  }, 60_000);

  it('a token revoked while TikTok processes: failed with account_needs_reconnect, nothing uploaded again', async () => {
    const accountId = await connectTikTok(a, 'open_tt_e2e_revoked');
    const before = tt.posts.length;
    const inits = () => a.fake.requests.filter((r) => r.path === '/v2/post/publish/video/init/').length;
    const res = await publish(a, accountId, { media_id: videoId, caption: 'x' });
    const id = res.json().id as string;
    // The first run initialises and uploads (the video is one chunk), then waits for TikTok's processing.
    await a.t.container.publishing.runner.run(a.org.id, id);
    expect((await getPublication(a, id)).status).toBe('processing');
    const initsBefore = inits();
    // The user removes the app at TikTok: its tokens stop working, refresh included.
    tt.control.revoked.add('open_tt_e2e_revoked');
    a.fake.killRefreshTokens();
    const settled = await runUntilSettled(a, id);
    expect(settled).toMatchObject({ status: 'failed', error: { code: 'account_needs_reconnect' } });
    expect(settled.platform_post_id).toBeUndefined();
    expect(inits()).toBe(initsBefore);
    expect(tt.posts.length - before).toBe(1);
    const account = await a.t.app.inject({
      method: 'GET',
      url: `/v1/social-accounts/${accountId}`,
      headers: bearer(a.org.secret),
    });
    expect(account.json().status).toBe('needs_reconnect');
  }, 60_000);
});
