import { EgressError } from '../../egress/egress-error.ts';
import type { EgressCall, EgressResponse } from '../../egress/egress-types.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import type {
  PublicationCheckpoint,
  PublishableMedia,
  PublisherFactory,
  PublishRequest,
  PublishStep,
  SocialPublisher,
} from '../publishing-port.ts';
import {
  type CallContext,
  type PlatformDeps,
  PlatformError,
  type PlatformErrorKind,
} from '../social-platform.ts';

/**
 * TikTok Content Posting API, Direct Post with FILE_UPLOAD (developers.tiktok.com:
 * content-posting-api-reference-direct-post, -media-transfer-guide, -get-video-status). Steps:
 *
 * 1. `creator_info/query` (the privacy levels and interaction settings this creator allows, the
 *    longest video), then `video/init` (the creating call, made last) → `publish_id` in the checkpoint
 *    with the chunk plan;
 * 2. one chunk per step, `PUT upload_url` in order with `Content-Range` (206 until the last, 201);
 * 3. `status/fetch` until PUBLISH_COMPLETE (or FAILED with its `fail_reason`).
 *
 * The `upload_url` carries an `upload_token`: a credential. It is kept in this process's memory and,
 * when the container gives the envelope, sealed in the checkpoint (AAD: org, publication, field), so
 * another worker can go on with the upload; never in clear. A step that finds no upload URL for its
 * `publish_id` (a restart without the envelope, a seal that does not open, the URL expired) asks TikTok
 * first: an upload TikTok has whole is polled, never sent again; an unfinished one is abandoned (TikTok
 * never posts a publish whose upload did not complete) and the video is initialised again. A chunk
 * TikTok refuses with 416 (a restart sent again a chunk whose answer was lost) also asks TikTok: the
 * upload goes on from the chunk its `uploaded_bytes` reaches, or is polled when whole.
 *
 * Photos are not supported: TikTok takes photo posts only by PULL_FROM_URL from a domain verified in
 * the app's developer portal, which a Layers deployment's signed media URLs are not; an image is
 * refused with `unsupported_media` before any call.
 */
const CREATOR_INFO_URL = 'https://open.tiktokapis.com/v2/post/publish/creator_info/query/';
const VIDEO_INIT_URL = 'https://open.tiktokapis.com/v2/post/publish/video/init/';
const STATUS_URL = 'https://open.tiktokapis.com/v2/post/publish/status/fetch/';

/**
 * The chunk size of TikTok's own example, inside its 5–64 MB rule however "MB" is read. A video of at
 * most 4 GB (checked first) needs at most 430 chunks of it, so the plan never leaves TikTok's limits.
 */
const PREFERRED_CHUNK = 10_000_000;
/** TikTok's documented maximum video file size. */
const MAX_VIDEO_BYTES = 4 * 1024 * 1024 * 1024;
const VIDEO_TYPES = new Set(['video/mp4', 'video/quicktime', 'video/webm']);
/** TikTok's title limit (2,200 UTF-16 code units). */
const MAX_TITLE = 2200;
/** An upload URL is valid for an hour; it is dropped a little earlier. */
const UPLOAD_URL_TTL_MS = 55 * 60 * 1000;
/** status/fetch allows 30 calls a minute per token. */
const POLL_MS = 5000;
/** A public post is in moderation until TikTok gives its id (usually a minute, sometimes hours). */
const MODERATION_POLL_MS = 30_000;
/** How many times an interrupted upload starts over before the publication gives up. */
const MAX_INITS = 5;
const CHUNK_TIMEOUT_MS = 120_000;

export const TIKTOK_PRIVACY_LEVELS = [
  'PUBLIC_TO_EVERYONE',
  'MUTUAL_FOLLOW_FRIENDS',
  'FOLLOWER_OF_CREATOR',
  'SELF_ONLY',
] as const;
const PRIVACY_ALIASES: Readonly<Record<string, string>> = {
  public: 'PUBLIC_TO_EVERYONE',
  friends: 'MUTUAL_FOLLOW_FRIENDS',
  followers: 'FOLLOWER_OF_CREATOR',
  private: 'SELF_ONLY',
};

export type ChunkPlan = { chunkSize: number; chunkCount: number };

/**
 * TikTok's chunk rules: a video up to the preferred size goes whole (under 5 MB it must); otherwise
 * `total_chunk_count = floor(video_size / chunk_size)` with the trailing bytes in the last chunk
 * (under two chunk sizes, so under TikTok's 128 MB), 1000 chunks at most.
 */
export function chunkPlan(videoSize: number): ChunkPlan {
  if (videoSize <= PREFERRED_CHUNK) return { chunkSize: videoSize, chunkCount: 1 };
  return { chunkSize: PREFERRED_CHUNK, chunkCount: Math.floor(videoSize / PREFERRED_CHUNK) };
}

/** Bytes [start, end) of chunk `index`; the last one runs to the end of the file. */
export function chunkRange(plan: ChunkPlan, videoSize: number, index: number) {
  const start = index * plan.chunkSize;
  const end = index === plan.chunkCount - 1 ? videoSize : start + plan.chunkSize;
  return { start, end };
}

type Failure = { apiCode: string | null; message: string };

/** TikTok's codes (API errors and `fail_reason`s) that the API answers with its own codes. */
const REFUSALS: Readonly<Record<string, Failure>> = {
  spam_risk_too_many_posts: {
    apiCode: 'publishing_cap_reached',
    message:
      "TikTok refused the post: the account reached TikTok's daily limit of posts through the API. Try again tomorrow.",
  },
  spam_risk_too_many_pending_share: {
    apiCode: 'publishing_cap_reached',
    message:
      'TikTok refused the post: the account has too many posts still pending at TikTok. Try again later.',
  },
  reached_active_user_cap: {
    apiCode: 'publishing_cap_reached',
    message:
      'TikTok refused the post: this TikTok app reached its daily cap of accounts posting through it (an unaudited app: 5 accounts in 24 hours).',
  },
  unaudited_client_can_only_post_to_private_accounts: {
    apiCode: 'privacy_level_not_allowed',
    message:
      'TikTok refused the post: this TikTok app is not audited yet, and an unaudited app can only post with privacy SELF_ONLY to a private account. Post with privacy SELF_ONLY from a private account, or have the app audited by TikTok.',
  },
  privacy_level_option_mismatch: {
    apiCode: 'privacy_level_not_allowed',
    message: 'TikTok refused the privacy level: it is not one this account allows.',
  },
  spam_risk_user_banned_from_posting: {
    apiCode: 'platform_refused',
    message: 'TikTok refused the post: the account is banned from posting.',
  },
  spam_risk_text: {
    apiCode: 'platform_refused',
    message: 'TikTok refused the post: it took the caption for spam.',
  },
  spam_risk: { apiCode: 'platform_refused', message: 'TikTok refused the post as spam.' },
  publish_cancelled: { apiCode: 'platform_refused', message: 'The post was cancelled at TikTok.' },
  invalid_file_upload: { apiCode: 'media_rejected', message: 'TikTok rejected the uploaded file.' },
  file_format_check_failed: {
    apiCode: 'media_rejected',
    message: 'TikTok rejected the video: its file format is not one TikTok takes.',
  },
  duration_check_failed: {
    apiCode: 'media_rejected',
    message: 'TikTok rejected the video: it is too long or too short for TikTok.',
  },
  frame_rate_check_failed: {
    apiCode: 'media_rejected',
    message: 'TikTok rejected the video: its frame rate is not one TikTok takes.',
  },
  picture_size_check_failed: {
    apiCode: 'media_rejected',
    message: 'TikTok rejected the video: its picture size is not one TikTok takes.',
  },
};
const REAUTH_CODES = new Set([
  'access_token_invalid',
  'scope_not_authorized',
  'scope_permission_missed',
  'auth_removed',
]);

const safeCode = (code: string) => code.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 60);

function refused(apiCode: string, message: string, vendorCode: string | null = null): PlatformError {
  return new PlatformError('refused', message, { apiCode, vendorCode });
}

/** A TikTok code as a PlatformError: the API's code and a clear message when we know it. */
function tiktokError(
  status: number | null,
  rawCode: string,
  retryAfterMs: number | null = null,
): PlatformError {
  const code = safeCode(rawCode);
  const known = REFUSALS[code];
  if (known) return refused(known.apiCode ?? 'platform_refused', `${known.message} (${code})`, code);
  let kind: PlatformErrorKind = 'refused';
  if (REAUTH_CODES.has(code) || status === 401) kind = 'reauth';
  else if (code === 'rate_limit_exceeded' || status === 429) kind = 'rate_limited';
  else if (code === 'internal_error' || (status !== null && status >= 500)) kind = 'transient';
  return new PlatformError(kind, `tiktok publishing call failed (${kind}: ${code})`, {
    vendorCode: code,
    retryAfterMs,
    apiCode: kind === 'refused' ? 'platform_refused' : null,
  });
}

/** `{"error": {"code": …}}` of a TikTok answer; null when absent or not JSON (the upload host). */
function errorCodeOf(body: Buffer | undefined): string | null {
  if (!body || body.length === 0) return null;
  try {
    const err = (JSON.parse(body.toString('utf8')) as { error?: { code?: unknown } }).error;
    return err && typeof err === 'object' && typeof err.code === 'string' ? err.code : null;
  } catch {
    return null;
  }
}

/**
 * TikTok's post ids are 19-digit int64s, beyond a JavaScript number's exact range: they are read from
 * the answer's text, not from JSON.parse.
 */
function postIdsOf(text: string): string[] {
  const list = /"publicaly_available_post_id"\s*:\s*\[([^\]]*)\]/.exec(text)?.[1] ?? '';
  return list
    .split(',')
    .map((s) => s.trim().replace(/^"|"$/g, ''))
    .filter((s) => /^\d{1,30}$/.test(s));
}

type Checkpoint = {
  publishId: string;
  videoSize: number;
  plan: ChunkPlan;
  nextChunk: number;
  privacyLevel: string;
  username: string | null;
  inits: number;
  /** The upload URL sealed with the envelope; null without one. */
  sealedUpload: string | null;
};

function readCheckpoint(cp: PublicationCheckpoint, media: PublishableMedia): Checkpoint {
  const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);
  const publishId = typeof cp.publish_id === 'string' ? cp.publish_id : null;
  const videoSize = int(cp.video_size);
  const chunkSize = int(cp.chunk_size);
  const chunkCount = int(cp.chunk_count);
  const nextChunk = int(cp.next_chunk) ?? 0;
  const privacyLevel = typeof cp.privacy_level === 'string' ? cp.privacy_level : null;
  if (
    !publishId ||
    videoSize === null ||
    !chunkSize ||
    !chunkCount ||
    !privacyLevel ||
    nextChunk > chunkCount
  )
    throw new PlatformError('refused', 'tiktok publication checkpoint is not one this adapter wrote', {
      apiCode: 'platform_refused',
    });
  if (videoSize !== media.bytes)
    throw refused('media_rejected', 'The media changed size since its TikTok upload started.');
  return {
    publishId,
    videoSize,
    plan: { chunkSize, chunkCount },
    nextChunk,
    privacyLevel,
    username: typeof cp.creator_username === 'string' ? cp.creator_username : null,
    inits: int(cp.inits) ?? 1,
    sealedUpload: typeof cp.upload_session === 'string' ? cp.upload_session : null,
  };
}

function writeCheckpoint(phase: 'uploading' | 'processing', c: Checkpoint): PublicationCheckpoint {
  return {
    phase,
    publish_id: c.publishId,
    video_size: c.videoSize,
    chunk_size: c.plan.chunkSize,
    chunk_count: c.plan.chunkCount,
    next_chunk: c.nextChunk,
    privacy_level: c.privacyLevel,
    creator_username: c.username,
    inits: c.inits,
    upload_session: c.sealedUpload,
  };
}

/** The request's privacy as a level the creator allows; null asks for the most public one offered. */
function privacyLevelFor(requested: string | null, offered: string[]): string {
  const levels = TIKTOK_PRIVACY_LEVELS.filter((l) => offered.includes(l));
  const allowed = `allowed for this account: ${levels.join(', ') || 'none'}`;
  if (requested === null) {
    const level = levels[0];
    if (!level)
      throw refused('privacy_level_not_allowed', `TikTok offers no privacy level to post with (${allowed}).`);
    return level;
  }
  const level = PRIVACY_ALIASES[requested.toLowerCase()] ?? requested.toUpperCase();
  if (!(TIKTOK_PRIVACY_LEVELS as readonly string[]).includes(level))
    throw refused(
      'privacy_level_not_allowed',
      `The privacy is not a TikTok privacy level (one of ${TIKTOK_PRIVACY_LEVELS.join(', ')}, or public, friends, followers, private).`,
    );
  if (!levels.includes(level as (typeof TIKTOK_PRIVACY_LEVELS)[number]))
    throw refused(
      'privacy_level_not_allowed',
      `TikTok does not allow privacy ${level} for this account (${allowed}).`,
    );
  return level;
}

function checkMedia(media: PublishableMedia, caption: string): void {
  if (media.kind !== 'video')
    throw refused(
      'unsupported_media',
      'TikTok publishing takes videos only: TikTok accepts photo posts only from a URL on a domain verified for the TikTok app, which Layers media URLs are not.',
    );
  if (!VIDEO_TYPES.has(media.contentType))
    throw refused('unsupported_media', 'TikTok takes MP4, MOV and WebM videos only.');
  if (!Number.isSafeInteger(media.bytes) || media.bytes <= 0 || media.bytes > MAX_VIDEO_BYTES)
    throw refused('media_rejected', 'TikTok takes videos of at most 4 GB.');
  if (caption.length > MAX_TITLE)
    throw refused('platform_refused', `TikTok takes captions of at most ${MAX_TITLE} characters.`);
}

export type TikTokPublisherDeps = PlatformDeps & {
  /** Seals the upload URL in the checkpoint (the container's envelope); without it, memory only. */
  envelope?: Pick<Envelope, 'encrypt' | 'decrypt'>;
};

export const createTikTokPublisher: PublisherFactory & ((deps: TikTokPublisherDeps) => SocialPublisher) = ({
  egress,
  now,
  envelope,
}: TikTokPublisherDeps): SocialPublisher => {
  const sealContext = (ctx: CallContext, req: PublishRequest) => ({
    orgId: ctx.orgId,
    recordId: req.publicationId,
    field: 'tiktok_upload_url',
  });
  /** Null when there is nothing sealed or it does not open (a retired key, another publication's checkpoint). */
  function unseal(ctx: CallContext, req: PublishRequest, sealed: string | null): string | null {
    if (!envelope || sealed === null) return null;
    try {
      return envelope.decrypt(sealed, sealContext(ctx, req));
    } catch {
      return null;
    }
  }

  /** publish_id → its upload URL (a credential: never in clear in a checkpoint). */
  const uploadUrls = new Map<string, { url: string; expiresAt: number }>();

  function rememberUploadUrl(publishId: string, url: string): void {
    const t = now().getTime();
    for (const [id, entry] of uploadUrls) if (entry.expiresAt <= t) uploadUrls.delete(id);
    uploadUrls.set(publishId, { url, expiresAt: t + UPLOAD_URL_TTL_MS });
  }
  function uploadUrlOf(publishId: string): string | null {
    const entry = uploadUrls.get(publishId);
    if (!entry || entry.expiresAt <= now().getTime()) {
      uploadUrls.delete(publishId);
      return null;
    }
    return entry.url;
  }

  /** One call through the gateway, every failure a PlatformError (TikTok's codes, else the HTTP status). */
  async function send(call: EgressCall): Promise<EgressResponse> {
    let res: EgressResponse;
    try {
      res = await egress.request(call);
    } catch (error) {
      if (!(error instanceof EgressError)) throw error;
      if (error.code === 'rate_limited')
        throw tiktokError(429, errorCodeOf(error.body) ?? 'rate_limit_exceeded', error.retryAfterMs ?? null);
      if (error.code === 'timeout' || error.code === 'network_error')
        throw new PlatformError('transient', `tiktok publishing call failed (transient: ${error.code})`, {
          vendorCode: error.code,
        });
      if (error.code === 'http_error' && error.status !== undefined)
        throw tiktokError(error.status, errorCodeOf(error.body) ?? `http_${error.status}`);
      throw refused(
        'platform_refused',
        `tiktok publishing call refused by the egress gateway (${error.code})`,
        error.code,
      );
    }
    // TikTok may answer an error inside a 2xx.
    const code = errorCodeOf(res.body);
    if (code !== null && code !== 'ok') throw tiktokError(res.status, code);
    return res;
  }

  const json = <T>(res: EgressResponse): T => {
    try {
      return res.json<T>();
    } catch {
      throw new PlatformError('transient', 'tiktok publishing call failed (transient: unparsable_response)', {
        vendorCode: 'unparsable_response',
      });
    }
  };

  const apiCall = (
    ctx: CallContext,
    token: string,
    url: string,
    body: unknown,
    dataClasses: EgressCall['dataClasses'],
    idempotent: boolean,
  ): EgressCall => ({
    ...ctx,
    vendor: 'tiktok',
    purpose: 'publishing',
    dataClasses,
    records: 1,
    method: 'POST',
    url,
    idempotent,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=UTF-8' },
    body: { json: body },
  });

  async function fetchStatus(ctx: CallContext, token: string, publishId: string) {
    // A read: repeating it is harmless.
    const res = await send(
      apiCall(ctx, token, STATUS_URL, { publish_id: publishId }, ['platform_ids'], true),
    );
    const data =
      json<{ data?: { status?: unknown; fail_reason?: unknown; uploaded_bytes?: unknown } }>(res).data ?? {};
    return {
      status: typeof data.status === 'string' ? data.status : '',
      failReason: typeof data.fail_reason === 'string' && data.fail_reason ? data.fail_reason : null,
      uploadedBytes: typeof data.uploaded_bytes === 'number' ? data.uploaded_bytes : 0,
      postIds: postIdsOf(res.body.toString('utf8')),
    };
  }

  /** creator_info, then video/init (the one creating call of the step, made last). */
  async function start(
    ctx: CallContext,
    token: string,
    req: PublishRequest,
    inits: number,
  ): Promise<PublishStep> {
    if (inits > MAX_INITS)
      throw refused(
        'publication_expired',
        `The upload to TikTok was interrupted ${MAX_INITS} times; the publication gives up.`,
        'upload_interrupted',
      );
    const info =
      json<{
        data?: {
          creator_username?: unknown;
          privacy_level_options?: unknown;
          comment_disabled?: unknown;
          duet_disabled?: unknown;
          stitch_disabled?: unknown;
          max_video_post_duration_sec?: unknown;
        };
      }>(await send(apiCall(ctx, token, CREATOR_INFO_URL, {}, [], true))).data ?? {};
    const offered = Array.isArray(info.privacy_level_options)
      ? info.privacy_level_options.filter((o): o is string => typeof o === 'string')
      : [];
    const privacyLevel = privacyLevelFor(req.privacy, offered);
    const maxSec = info.max_video_post_duration_sec;
    if (typeof maxSec === 'number' && req.media.durationMs !== null && req.media.durationMs > maxSec * 1000)
      throw refused(
        'media_rejected',
        `The video is longer than the ${maxSec} s this TikTok account may post.`,
      );
    const videoSize = req.media.bytes;
    const plan = chunkPlan(videoSize);
    const init = json<{ data?: { publish_id?: unknown; upload_url?: unknown } }>(
      await send(
        apiCall(
          ctx,
          token,
          VIDEO_INIT_URL,
          {
            post_info: {
              title: req.caption,
              privacy_level: privacyLevel,
              // A setting the creator turned off stays off.
              disable_comment: info.comment_disabled === true,
              disable_duet: info.duet_disabled === true,
              disable_stitch: info.stitch_disabled === true,
            },
            source_info: {
              source: 'FILE_UPLOAD',
              video_size: videoSize,
              chunk_size: plan.chunkSize,
              total_chunk_count: plan.chunkCount,
            },
          },
          ['post_content'],
          false,
        ),
      ),
    ).data;
    const publishId = typeof init?.publish_id === 'string' ? init.publish_id : null;
    const uploadUrl = typeof init?.upload_url === 'string' ? init.upload_url : null;
    if (!publishId || !uploadUrl)
      throw new PlatformError(
        'transient',
        'tiktok publishing call failed (transient: incomplete_init_response)',
        {
          vendorCode: 'incomplete_init_response',
        },
      );
    rememberUploadUrl(publishId, uploadUrl);
    const sealedUpload = envelope ? envelope.encrypt(uploadUrl, sealContext(ctx, req)) : null;
    const username = typeof info.creator_username === 'string' ? info.creator_username.slice(0, 200) : null;
    return {
      status: 'uploading',
      checkpoint: writeCheckpoint('uploading', {
        publishId,
        videoSize,
        plan,
        nextChunk: 0,
        privacyLevel,
        username,
        inits,
        sealedUpload,
      }),
      retryAfterMs: 0,
    };
  }

  /**
   * No usable upload URL for the publish, or TikTok refused the chunk's range: what TikTok has decides
   * (see the module comment). A whole upload is polled, never sent again. With the URL still valid
   * (`canContinue`: a 416 after a restart repeated a chunk TikTok had already taken), the upload goes on
   * from the chunk TikTok holds up to; otherwise an unfinished upload is abandoned and initialised again.
   */
  async function resume(
    ctx: CallContext,
    token: string,
    req: PublishRequest,
    c: Checkpoint,
    canContinue = false,
  ): Promise<PublishStep> {
    const st = await fetchStatus(ctx, token, c.publishId);
    const complete = st.uploadedBytes >= c.videoSize || st.status === 'PUBLISH_COMPLETE';
    const held = st.uploadedBytes / c.plan.chunkSize;
    if (!complete && canContinue && Number.isInteger(held) && held > c.nextChunk && held < c.plan.chunkCount)
      return {
        status: 'uploading',
        checkpoint: writeCheckpoint('uploading', { ...c, nextChunk: held }),
        retryAfterMs: 0,
      };
    uploadUrls.delete(c.publishId);
    if (complete)
      return outcome(
        writeCheckpoint('processing', { ...c, nextChunk: c.plan.chunkCount, sealedUpload: null }),
        c,
        st,
      );
    return start(ctx, token, req, c.inits + 1);
  }

  async function uploadChunk(ctx: CallContext, token: string, req: PublishRequest, c: Checkpoint) {
    const url = uploadUrlOf(c.publishId) ?? unseal(ctx, req, c.sealedUpload);
    if (!url) return resume(ctx, token, req, c);
    const { start: first, end } = chunkRange(c.plan, c.videoSize, c.nextChunk);
    const bytes = await req.media.read(first, end);
    if (bytes.length !== end - first) throw new Error('media store answered a short read');
    try {
      await send({
        ...ctx,
        vendor: 'tiktok',
        purpose: 'publishing',
        dataClasses: ['generated_media'],
        records: 1,
        method: 'PUT',
        url,
        timeoutMs: CHUNK_TIMEOUT_MS,
        headers: {
          'content-type': req.media.contentType,
          'content-range': `bytes ${first}-${end - 1}/${c.videoSize}`,
        },
        body: { bytes, contentType: req.media.contentType },
      });
    } catch (error) {
      // The upload session is gone (expired URL), or TikTok holds other bytes than the checkpoint says
      // (416: a restart repeated a chunk it took, or the last one of a whole upload): ask TikTok.
      const code = error instanceof PlatformError ? error.vendorCode : null;
      if (code === 'http_416') return resume(ctx, token, req, c, true);
      if (code === 'http_403' || code === 'http_404' || code === 'http_410') {
        uploadUrls.delete(c.publishId);
        return resume(ctx, token, req, c);
      }
      throw error;
    }
    const next = { ...c, nextChunk: c.nextChunk + 1 };
    if (next.nextChunk < c.plan.chunkCount)
      return {
        status: 'uploading',
        checkpoint: writeCheckpoint('uploading', next),
        retryAfterMs: 0,
      } as const;
    uploadUrls.delete(c.publishId);
    return {
      status: 'processing',
      checkpoint: writeCheckpoint('processing', { ...next, sealedUpload: null }),
      retryAfterMs: POLL_MS,
    } as const;
  }

  function outcome(
    checkpoint: PublicationCheckpoint,
    c: Checkpoint,
    st: Awaited<ReturnType<typeof fetchStatus>>,
  ): PublishStep {
    if (st.status === 'FAILED') {
      const reason = st.failReason ?? 'failed';
      throw REFUSALS[safeCode(reason)] || REAUTH_CODES.has(reason)
        ? tiktokError(null, reason)
        : refused(
            'platform_refused',
            `TikTok could not publish the video (${safeCode(reason)}).`,
            safeCode(reason),
          );
    }
    if (st.status === 'PUBLISH_COMPLETE') {
      const postId = st.postIds[0];
      if (postId)
        return {
          status: 'published',
          checkpoint,
          platformPostId: postId,
          permalink: c.username
            ? `https://www.tiktok.com/@${encodeURIComponent(c.username)}/video/${postId}`
            : null,
        };
      // A SELF_ONLY post never gets a public id: the publish id is the only id TikTok gives.
      if (c.privacyLevel === 'SELF_ONLY')
        return { status: 'published', checkpoint, platformPostId: c.publishId, permalink: null };
      return { status: 'processing', checkpoint, retryAfterMs: MODERATION_POLL_MS };
    }
    return { status: 'processing', checkpoint, retryAfterMs: POLL_MS };
  }

  return {
    platforms: ['tiktok'],
    requiredScopes: () => ['video.publish'],
    async step(ctx, credentials, req) {
      if (!credentials.accessToken)
        throw new PlatformError('reauth', 'tiktok publishing call failed (reauth: no_access_token)', {
          vendorCode: 'no_access_token',
        });
      const token = credentials.accessToken;
      checkMedia(req.media, req.caption);
      const phase = req.checkpoint.phase;
      if (phase === undefined || phase === null) return start(ctx, token, req, 1);
      const c = readCheckpoint(req.checkpoint, req.media);
      if (phase === 'uploading') return uploadChunk(ctx, token, req, c);
      if (phase === 'processing')
        return outcome(req.checkpoint, c, await fetchStatus(ctx, token, c.publishId));
      throw new PlatformError('refused', 'tiktok publication checkpoint is not one this adapter wrote', {
        apiCode: 'platform_refused',
      });
    },
  };
};
