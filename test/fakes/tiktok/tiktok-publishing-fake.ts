import { createHash, type Hash } from 'node:crypto';
import { type FakeReply, type FakeRequest, randomToken } from '../vendor-fake-server.ts';
import type { TikTokFake } from './tiktok-fake.ts';

/**
 * TikTok's Content Posting API (Direct Post, FILE_UPLOAD) as an extension of startTikTokFake, checking
 * requests as TikTok documents them (developers.tiktok.com content-posting-api-reference-direct-post,
 * -media-transfer-guide, -get-video-status):
 * - `POST /v2/post/publish/creator_info/query/`, `/video/init/`, `/status/fetch/`: Bearer token,
 *   JSON bodies; init checks the privacy level against the creator's options, the interaction
 *   settings the creator disabled, `source: FILE_UPLOAD` and the chunk rules (5–64 MB chunks read
 *   strictly, a video under 5 MB whole, `total_chunk_count = floor(video_size / chunk_size)`, the last
 *   chunk under 128 MB, 1–1000 chunks);
 * - `PUT /video/?upload_id&upload_token` on the upload host (open-upload.tiktokapis.com, redirected to
 *   this same server): chunks in order, Content-Type video/*, Content-Length, the exact
 *   `Content-Range: bytes first-last/total`; 206 until the last chunk, 201 then (a repeated chunk is
 *   answered again, or refused with 416 when told to; never appended twice).
 * A completed upload is published at once, as at TikTok (whether or not anyone polls): `posts`
 * records it. Post ids are 19-digit int64s sent as JSON numbers, as TikTok does.
 * It fails like TikTok: 429 `rate_limit_exceeded`, PROCESSING_UPLOAD for a while, the unaudited-client
 * privacy error, the daily post cap (`spam_risk_too_many_posts`), the client's active-user cap, a token
 * revoked mid-flow (401 `access_token_invalid`), a chunk answered 503 once, expired upload URLs, a
 * FAILED publish with a `fail_reason`.
 */
export type TikTokCreator = {
  username: string;
  /** A private account offers FOLLOWER_OF_CREATOR instead of PUBLIC_TO_EVERYONE. */
  privateAccount: boolean;
  commentDisabled: boolean;
  duetDisabled: boolean;
  stitchDisabled: boolean;
  maxVideoPostDurationSec: number;
};

export type TikTokPost = {
  postId: string;
  publishId: string;
  openId: string;
  title: string;
  privacyLevel: string;
  bytes: number;
  sha256: string;
};

type Publish = {
  publishId: string;
  openId: string;
  uploadId: string;
  uploadToken: string;
  title: string;
  privacyLevel: string;
  videoSize: number;
  chunkSize: number;
  chunkCount: number;
  nextChunk: number;
  received: number;
  hash: Hash;
  /** The range of the last chunk taken (a repeat of it is answered again). */
  lastRange: string | null;
  processingPolls: number;
  failReason: string | null;
  post: TikTokPost | null;
};

const MIN_CHUNK = 5 * 1024 * 1024;
const MAX_CHUNK = 64_000_000;
const MAX_LAST_CHUNK = 128_000_000;
const VIDEO_TYPES = new Set(['video/mp4', 'video/quicktime', 'video/webm']);

export function useTikTokPublishing(fake: TikTokFake) {
  const creators = new Map<string, Partial<TikTokCreator>>();
  const publishes = new Map<string, Publish>();
  const posts: TikTokPost[] = [];
  const control = {
    /** The app is unaudited: only SELF_ONLY, only from private accounts. */
    unaudited: false,
    /** Posts per account per day (TikTok does not publish the number; integrators see ~15). */
    dailyCap: 15,
    /** Accounts that may post through the app per day (unaudited: 5). */
    activeUserCap: Number.POSITIVE_INFINITY,
    /** The next n calls of each endpoint answer 429 rate_limit_exceeded. */
    rateLimit: { creatorInfo: 0, init: 0, status: 0 },
    /** Status polls that answer PROCESSING_UPLOAD after an upload completed. */
    processingPolls: 0,
    /** The next completed upload fails with this fail_reason instead of posting. */
    failNext: null as string | null,
    /** Chunk index whose next PUT answers 503 once. */
    failChunk: null as number | null,
    /**
     * A repeat of the chunk just taken (a PUT sent again after its answer was lost): answered again,
     * or refused with 416 like any chunk out of order (TikTok does not document which it does).
     */
    repeatedChunk: 'answered' as 'answered' | 'refused',
    /** Open ids whose access tokens TikTok revoked (the user removed the app). */
    revoked: new Set<string>(),
  };
  let postSeq = 0;

  const apiError = (status: number, code: string, message = code): FakeReply => ({
    status,
    body: { data: {}, error: { code, message, log_id: 'log_fake' } },
  });
  const ok = (data: unknown): FakeReply => ({
    status: 200,
    body: { data, error: { code: 'ok', message: '', log_id: 'log_fake' } },
  });
  const creatorOf = (openId: string): TikTokCreator => ({
    username: fake.control.users.get(openId)?.username ?? 'brand',
    privateAccount: false,
    commentDisabled: false,
    duetDisabled: false,
    stitchDisabled: false,
    maxVideoPostDurationSec: 600,
    ...creators.get(openId),
  });
  const privacyOptions = (c: TikTokCreator) =>
    c.privateAccount
      ? ['FOLLOWER_OF_CREATOR', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY']
      : ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY'];
  const today = () => Math.floor(Date.now() / 86_400_000);
  const postDays = new Map<string, number>();

  /** The API's own checks: POST, JSON, a live Bearer token of a user who did not revoke the app. */
  function caller(req: FakeRequest, limit: keyof typeof control.rateLimit): { openId: string } | FakeReply {
    if (req.method !== 'POST') return apiError(405, 'invalid_params', 'method');
    if (control.rateLimit[limit] > 0) {
      control.rateLimit[limit]--;
      return apiError(429, 'rate_limit_exceeded');
    }
    const who = fake.tokenOwner(req);
    if (!who || control.revoked.has(who.openId)) return apiError(401, 'access_token_invalid');
    if (!String(req.headers['content-type']).startsWith('application/json'))
      return apiError(400, 'invalid_params', 'Content-Type must be application/json');
    return who;
  }

  function jsonBody(req: FakeRequest): Record<string, unknown> | null {
    try {
      const v = JSON.parse(req.body || '{}') as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }

  /** The media transfer guide's chunk rules; null when they hold. */
  function chunkProblem(size: unknown, chunk: unknown, count: unknown): string | null {
    if (![size, chunk, count].every((n) => Number.isSafeInteger(n) && (n as number) > 0))
      return 'video_size, chunk_size and total_chunk_count must be positive integers';
    const [s, c, n] = [size as number, chunk as number, count as number];
    if (s < MIN_CHUNK && (c !== s || n !== 1)) return 'a video under 5 MB is uploaded whole';
    if (s >= MIN_CHUNK && (c < MIN_CHUNK || c > MAX_CHUNK)) return 'chunk_size must be 5-64 MB';
    if (n !== Math.floor(s / c)) return 'total_chunk_count must be floor(video_size / chunk_size)';
    if (n > 1000) return 'at most 1000 chunks';
    if (s - (n - 1) * c > MAX_LAST_CHUNK) return 'the last chunk is at most 128 MB';
    return null;
  }

  function creatorInfo(req: FakeRequest): FakeReply {
    const who = caller(req, 'creatorInfo');
    if (!('openId' in who)) return who;
    const c = creatorOf(who.openId);
    return ok({
      creator_avatar_url: 'https://p16.tiktokcdn.example/avatar.jpeg',
      creator_username: c.username,
      creator_nickname: 'Brand',
      privacy_level_options: privacyOptions(c),
      comment_disabled: c.commentDisabled,
      duet_disabled: c.duetDisabled,
      stitch_disabled: c.stitchDisabled,
      max_video_post_duration_sec: c.maxVideoPostDurationSec,
    });
  }

  function init(req: FakeRequest): FakeReply {
    const who = caller(req, 'init');
    if (!('openId' in who)) return who;
    const body = jsonBody(req);
    const post = body?.post_info as Record<string, unknown> | undefined;
    const source = body?.source_info as Record<string, unknown> | undefined;
    if (!post || !source) return apiError(400, 'invalid_params', 'post_info and source_info are required');
    const c = creatorOf(who.openId);
    const privacy = post.privacy_level;
    if (typeof privacy !== 'string' || !privacyOptions(c).includes(privacy))
      return apiError(400, 'privacy_level_option_mismatch');
    if (control.unaudited && (!c.privateAccount || privacy !== 'SELF_ONLY'))
      return apiError(403, 'unaudited_client_can_only_post_to_private_accounts');
    const title = post.title ?? '';
    if (typeof title !== 'string' || title.length > 2200) return apiError(400, 'invalid_params', 'title');
    for (const [setting, disabled] of [
      ['disable_comment', c.commentDisabled],
      ['disable_duet', c.duetDisabled],
      ['disable_stitch', c.stitchDisabled],
    ] as const) {
      const v = post[setting];
      if (v !== undefined && typeof v !== 'boolean') return apiError(400, 'invalid_params', setting);
      if (disabled && v !== true)
        return apiError(400, 'invalid_params', `${setting}: the creator disabled it`);
    }
    const postedToday = posts.filter((p) => p.openId === who.openId && postDays.get(p.postId) === today());
    if (postedToday.length >= control.dailyCap) return apiError(403, 'spam_risk_too_many_posts');
    const activeToday = new Set(posts.filter((p) => postDays.get(p.postId) === today()).map((p) => p.openId));
    if (!activeToday.has(who.openId) && activeToday.size >= control.activeUserCap)
      return apiError(403, 'reached_active_user_cap');
    if (source.source !== 'FILE_UPLOAD') return apiError(400, 'invalid_params', 'source must be FILE_UPLOAD');
    const problem = chunkProblem(source.video_size, source.chunk_size, source.total_chunk_count);
    if (problem) return apiError(400, 'invalid_params', problem);
    const publish: Publish = {
      publishId: `v_pub_file~v2-1.${Date.now()}${publishes.size}`,
      openId: who.openId,
      uploadId: `${Date.now()}${publishes.size}`,
      uploadToken: randomToken(''),
      title,
      privacyLevel: privacy,
      videoSize: source.video_size as number,
      chunkSize: source.chunk_size as number,
      chunkCount: source.total_chunk_count as number,
      nextChunk: 0,
      received: 0,
      hash: createHash('sha256'),
      lastRange: null,
      processingPolls: 0,
      failReason: null,
      post: null,
    };
    publishes.set(publish.publishId, publish);
    return ok({
      publish_id: publish.publishId,
      upload_url: `https://open-upload.tiktokapis.com/video/?upload_id=${publish.uploadId}&upload_token=${publish.uploadToken}`,
    });
  }

  /** The upload finished: TikTok processes and publishes it whether or not anyone polls. */
  function complete(p: Publish): void {
    p.processingPolls = control.processingPolls;
    if (control.failNext) {
      p.failReason = control.failNext;
      control.failNext = null;
      return;
    }
    postSeq++;
    const postId = `73${String(Date.now()).slice(-12)}${String(postSeq).padStart(5, '0')}`;
    p.post = {
      postId,
      publishId: p.publishId,
      openId: p.openId,
      title: p.title,
      privacyLevel: p.privacyLevel,
      bytes: p.received,
      sha256: p.hash.digest('hex'),
    };
    posts.push(p.post);
    postDays.set(postId, today());
    if (p.privacyLevel !== 'SELF_ONLY')
      fake.control.videos.unshift({
        id: postId,
        title: p.title,
        video_description: p.title,
        create_time: Math.floor(Date.now() / 1000),
        share_url: `https://www.tiktok.com/@${creatorOf(p.openId).username}/video/${postId}`,
        view_count: 0,
        like_count: 0,
        comment_count: 0,
        share_count: 0,
      });
  }

  function upload(req: FakeRequest): FakeReply {
    const p = [...publishes.values()].find((x) => x.uploadId === req.query.get('upload_id'));
    if (req.method !== 'PUT') return { status: 405, body: undefined };
    if (!p || p.uploadToken !== req.query.get('upload_token')) return { status: 404, body: undefined };
    if (!VIDEO_TYPES.has(String(req.headers['content-type']))) return { status: 400, body: undefined };
    if (Number(req.headers['content-length']) !== req.raw.length) return { status: 400, body: undefined };
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
    if (!range) return { status: 400, body: undefined };
    const [first, last, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    const done = p.nextChunk === p.chunkCount;
    // A repeat of the chunk just taken (a retried PUT) is answered again, not appended (or refused).
    if (range[0] === p.lastRange && req.raw.length === last - first + 1)
      return { status: control.repeatedChunk === 'refused' ? 416 : done ? 201 : 206, body: undefined };
    if (done) return { status: 416, body: undefined };
    const index = p.nextChunk;
    const expectedLast = index === p.chunkCount - 1 ? p.videoSize - 1 : (index + 1) * p.chunkSize - 1;
    if (total !== p.videoSize || first !== index * p.chunkSize || last !== expectedLast)
      return { status: 416, body: undefined };
    if (req.raw.length !== last - first + 1) return { status: 400, body: undefined };
    if (control.failChunk === index) {
      control.failChunk = null;
      return { status: 503, body: undefined };
    }
    p.hash.update(req.raw);
    p.received += req.raw.length;
    p.nextChunk++;
    p.lastRange = range[0];
    if (p.nextChunk < p.chunkCount) return { status: 206, body: undefined };
    complete(p);
    return { status: 201, body: undefined };
  }

  function status(req: FakeRequest): FakeReply {
    const who = caller(req, 'status');
    if (!('openId' in who)) return who;
    const p = publishes.get(String(jsonBody(req)?.publish_id ?? ''));
    if (!p || p.openId !== who.openId) return apiError(400, 'invalid_params', 'publish_id');
    let state = 'PROCESSING_UPLOAD';
    let ids = '';
    if (p.nextChunk === p.chunkCount) {
      if (p.processingPolls > 0) p.processingPolls--;
      else if (p.failReason) state = 'FAILED';
      else {
        state = 'PUBLISH_COMPLETE';
        // Only a post others can see has a public id.
        if (p.post && p.privacyLevel !== 'SELF_ONLY') ids = p.post.postId;
      }
    }
    // Written by hand: the id is an int64 JSON number, which JSON.stringify cannot write exactly.
    const text = `{"data":{"status":"${state}"${state === 'FAILED' ? `,"fail_reason":"${p.failReason}"` : ''},"publicaly_available_post_id":[${ids}],"uploaded_bytes":${p.received}},"error":{"code":"ok","message":"","log_id":"log_fake"}}`;
    return {
      status: 200,
      body: Buffer.from(text),
      headers: { 'content-type': 'application/json; charset=UTF-8' },
    };
  }

  fake.use((req) => {
    if (req.path === '/v2/post/publish/creator_info/query/') return creatorInfo(req);
    if (req.path === '/v2/post/publish/video/init/') return init(req);
    if (req.path === '/v2/post/publish/status/fetch/') return status(req);
    if (req.path === '/video/') return upload(req);
    return undefined;
  });

  return {
    control,
    /** Every post TikTok published, in order. */
    posts,
    /** The posts of one TikTok user (abandoned, never-completed uploads are not posts). */
    postsOf: (openId: string) => posts.filter((p) => p.openId === openId),
    /** Overrides a creator's settings (privacy, disabled interactions, longest video). */
    setCreator(openId: string, settings: Partial<TikTokCreator>) {
      creators.set(openId, { ...creators.get(openId), ...settings });
    },
    /** The upload URLs TikTok handed out stop working (they live an hour). */
    expireUploads() {
      for (const p of publishes.values()) p.uploadToken = randomToken('expired.');
    },
    /** Inits whose upload never completed (abandoned publishes: TikTok never posts them). */
    unfinished: () => [...publishes.values()].filter((p) => p.nextChunk < p.chunkCount).length,
    /** The chunk requests (PUTs to the upload host), in order. */
    chunkRequests: () => fake.requests.filter((r) => r.path === '/video/'),
  };
}

export type TikTokPublishingFake = ReturnType<typeof useTikTokPublishing>;
