import { EgressError } from '../../egress/egress-error.ts';
import type { EgressGateway } from '../../egress/egress-gateway.ts';
import type { EgressCall, EgressResponse } from '../../egress/egress-types.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { callJson } from '../platform-http.ts';
import type {
  PublicationCheckpoint,
  PublisherFactory,
  PublishRequest,
  PublishStep,
  SocialPublisher,
} from '../publishing-port.ts';
import { type CallContext, type PlatformDeps, PlatformError, toText } from '../social-platform.ts';
import { youtubeErrorInfo } from './google-platform.ts';

/**
 * YouTube publishing: `videos.insert` with Google's resumable upload protocol, one call that moves the
 * upload forward per step of the publication's state machine (publishing-port.ts).
 *
 * 1. No session yet: `POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status` with the
 *    video resource (title and description from the caption, `privacyStatus` from the request's
 *    `privacy`, default `private`) and `X-Upload-Content-Length`/`-Type`; the session URI comes back in
 *    `Location`. A session that is lost (a crash before its checkpoint was stored, a session Google let
 *    expire: 404) is simply replaced: an incomplete session never creates a video.
 * 2. Every later step first asks the session where it stands (`PUT` with `Content-Range: bytes *\/total`
 *    and no body): `308` with `Range: bytes=0-N` (no Range: nothing stored) says where to resume, `200`
 *    or `201` says the upload is complete and carries the video. Then it sends one chunk from there
 *    (`Content-Range: bytes first-last/total`, a multiple of 256 KiB except the last). The resume point
 *    is always the server's Range, never our own count: a step restarted from an older checkpoint (the
 *    worker was killed after a chunk left, before its checkpoint was stored) finds the server ahead of
 *    the checkpoint, and a restart after the final chunk finds the video and never uploads again.
 * 3. The final chunk's `200`/`201` is the video resource: `published` with its id.
 *
 * The session URI carries an `upload_id` that authorizes uploading into the session: whoever holds it
 * can put any video on the partner's channel. It is a credential, so the checkpoint keeps it sealed with
 * the envelope (AAD: org, publication, field): a checkpoint copied to another publication does not open,
 * and a checkpoint that cannot be opened (its key was retired) starts a new session.
 *
 * Videos uploaded by an API project that has not passed YouTube's API compliance audit (projects created
 * after 28 July 2020) are locked to `private` whatever `privacyStatus` says, until the audit.
 * `selfDeclaredMadeForKids` and `categoryId` are not sent: the channel's defaults apply (declaring a
 * video made for kids is the partner's statement to make, not ours).
 */
const UPLOAD_URL = 'https://www.googleapis.com/upload/youtube/v3/videos';
const UPLOAD_SCOPE = 'https://www.googleapis.com/auth/youtube.upload';
/** Google's rule: every chunk but the last is a multiple of 256 KiB. */
export const YOUTUBE_CHUNK_ALIGNMENT = 256 * 1024;
/** Large chunks mean fewer steps; 8 MiB is sent well inside the chunk call's deadline. */
const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
const CHUNK_TIMEOUT_MS = 120_000;
const PRIVACY_STATUSES = ['public', 'unlisted', 'private'] as const;
const TITLE_MAX_CHARS = 100;
const DESCRIPTION_MAX_BYTES = 5000;
const SESSION_FIELD = 'youtube_upload_session';

/** YouTube's reasons that have an API code of their own (publishing-port.ts); the rest keep the kind. */
const API_CODES: Readonly<Record<string, string>> = {
  uploadLimitExceeded: 'publishing_cap_reached',
  forbiddenPrivacySetting: 'privacy_level_not_allowed',
  invalidTitle: 'media_rejected',
  invalidDescription: 'media_rejected',
  invalidTags: 'media_rejected',
  invalidCategoryId: 'media_rejected',
  invalidFilename: 'media_rejected',
  invalidVideoMetadata: 'media_rejected',
  invalidRecordingDetails: 'media_rejected',
  mediaBodyRequired: 'media_rejected',
  defaultLanguageNotSet: 'media_rejected',
};

type Sealer = Pick<Envelope, 'encrypt' | 'decrypt'>;
type Video = {
  id?: unknown;
  status?: { uploadStatus?: unknown; rejectionReason?: unknown; failureReason?: unknown };
};
type Answer = { status: number; headers: EgressResponse['headers']; body: Video };

/** Where the session stands: `done` (the video exists), `gone` (expired: a new session), or bytes confirmed. */
type SessionState = { kind: 'done'; video: Video } | { kind: 'gone' } | { kind: 'at'; confirmed: number };

function refused(message: string, vendorCode: string | null, apiCode: string): PlatformError {
  return new PlatformError('refused', `youtube publishing refused (${message})`, { vendorCode, apiCode });
}

/**
 * Milliseconds until the next midnight in Pacific Time, when YouTube's daily quota resets (on the
 * days clocks change this is off by the hour, which only moves one retry).
 */
export function untilQuotaReset(now: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Los_Angeles',
    hourCycle: 'h23',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(now);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const elapsed =
    ((part('hour') * 60 + part('minute')) * 60 + part('second')) * 1000 + now.getUTCMilliseconds();
  return 24 * 3600 * 1000 - elapsed;
}

/**
 * The PlatformError with the API code YouTube's reason maps to, if it has one; a spent daily quota
 * is retried when it resets, not before.
 */
function withApiCode(error: unknown, now: Date): unknown {
  if (!(error instanceof PlatformError) || error.apiCode || !error.vendorCode) return error;
  const apiCode = API_CODES[error.vendorCode] ?? null;
  const quota = error.vendorCode === 'quotaExceeded' && error.retryAfterMs === null;
  if (!apiCode && !quota) return error;
  return new PlatformError(error.kind, error.message, {
    vendorCode: error.vendorCode,
    retryAfterMs: quota ? untilQuotaReset(now) : error.retryAfterMs,
    apiCode,
  });
}

/** The first `max` UTF-8 bytes of `s`, never splitting a character. */
function truncateBytes(s: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    bytes += Buffer.byteLength(ch);
    if (bytes > max) break;
    out += ch;
  }
  return out;
}

/** YouTube refuses `<` and `>` in titles and descriptions; titles are one line of at most 100 characters. */
export function videoSnippet(caption: string): { title: string; description: string } {
  const text = caption.replace(/[<>]/g, '').trim();
  const firstLine = text.split(/\r?\n/).find((l) => l.trim().length > 0) ?? '';
  const title = [...firstLine.trim()].slice(0, TITLE_MAX_CHARS).join('').trim();
  return { title, description: truncateBytes(text, DESCRIPTION_MAX_BYTES) };
}

/** `Range: bytes=0-N` as the count of bytes stored (N + 1); no Range: nothing stored yet. */
export function storedBytes(range: string | string[] | undefined, total: number): number {
  if (range === undefined) return 0;
  const m = /^bytes=0-(\d+)$/.exec(String(range).trim());
  const stored = m ? Number(m[1]) + 1 : Number.NaN;
  if (!Number.isSafeInteger(stored) || stored > total)
    throw new PlatformError('transient', 'youtube publishing call failed (transient: invalid_range)', {
      vendorCode: 'invalid_range',
    });
  return stored;
}

/** Google's session URI, checked before it is kept: https, Google's upload endpoint, an upload_id. */
function sessionUri(location: string | string[] | undefined): string {
  const value = typeof location === 'string' ? location : '';
  const url = URL.canParse(value) ? new URL(value) : null;
  if (
    url?.protocol !== 'https:' ||
    `${url.origin}${url.pathname}` !== UPLOAD_URL ||
    !url.searchParams.get('upload_id')
  )
    throw new PlatformError('transient', 'youtube publishing call failed (transient: no_session_uri)', {
      vendorCode: 'no_session_uri',
    });
  return url.href;
}

export type YouTubePublisherDeps = PlatformDeps & {
  /** Seals the session URI in the checkpoint: the container's envelope (without it, every step refuses). */
  envelope?: Sealer;
  /** Tests only: smaller chunks (a multiple of 256 KiB). */
  chunkBytes?: number;
};

export const createYouTubePublisher: PublisherFactory & ((deps: YouTubePublisherDeps) => SocialPublisher) = (
  deps: YouTubePublisherDeps,
): SocialPublisher => {
  const { egress, envelope } = deps;
  const chunkBytes = deps.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes % YOUTUBE_CHUNK_ALIGNMENT !== 0)
    throw new Error('YouTube upload chunks are a positive multiple of 256 KiB');

  /**
   * One upload call through the gateway, mapped as callJson maps every vendor call, answered with the
   * status and headers too (the protocol's answers live in Location and Range). `gone` is set when the
   * session no longer exists (404/410: expired).
   */
  async function call(egressCall: EgressCall): Promise<Answer | 'gone'> {
    let response: EgressResponse | undefined;
    let failedStatus: number | undefined;
    const capturing: EgressGateway = {
      ...egress,
      request: async (c) => {
        try {
          response = await egress.request(c);
          return response;
        } catch (error) {
          if (error instanceof EgressError) failedStatus = error.status;
          throw error;
        }
      },
    };
    try {
      const body = await callJson<Video>(capturing, egressCall, youtubeErrorInfo);
      const res = response as EgressResponse;
      return { status: res.status, headers: res.headers, body };
    } catch (error) {
      if (failedStatus === 404 || failedStatus === 410) return 'gone';
      throw withApiCode(error, deps.now());
    }
  }

  const base = (ctx: CallContext, accessToken: string) => ({
    ...ctx,
    vendor: 'google',
    purpose: 'publishing' as const,
    records: 1,
    headers: { authorization: `Bearer ${accessToken}` },
  });

  function sealing(ctx: CallContext, request: PublishRequest) {
    if (!envelope)
      throw new PlatformError('refused', 'youtube publishing is not configured (no envelope)', {
        apiCode: 'platform_refused',
      });
    const context = { orgId: ctx.orgId, recordId: request.publicationId, field: SESSION_FIELD };
    return {
      seal: (uri: string) => envelope.encrypt(uri, context),
      /** Null when the sealed session does not open (retired key, another publication's checkpoint). */
      open(sealed: unknown): string | null {
        if (typeof sealed !== 'string') return null;
        try {
          return envelope.decrypt(sealed, context);
        } catch {
          return null;
        }
      },
    };
  }

  function published(video: Video, total: number): PublishStep {
    const status = toText(video.status?.uploadStatus, 40);
    if (status === 'rejected' || status === 'failed')
      throw refused(
        `the upload was ${status}`,
        toText(video.status?.rejectionReason, 60) ?? toText(video.status?.failureReason, 60),
        'media_rejected',
      );
    const id = toText(video.id, 200);
    if (!id)
      throw new PlatformError('transient', 'youtube publishing call failed (transient: no_video_id)', {
        vendorCode: 'no_video_id',
      });
    return {
      status: 'published',
      checkpoint: { session: null, total, confirmed: total, video_id: id },
      platformPostId: id,
      permalink: `https://www.youtube.com/watch?v=${encodeURIComponent(id)}`,
    };
  }

  /** Asks the session where it stands (`Content-Range: bytes *\/total`, no body). */
  async function query(ctx: CallContext, token: string, uri: string, total: number): Promise<SessionState> {
    const res = await call({
      ...base(ctx, token),
      dataClasses: [],
      method: 'PUT',
      url: uri,
      headers: { ...base(ctx, token).headers, 'content-range': `bytes */${total}` },
    });
    if (res === 'gone') return { kind: 'gone' };
    if (res.status === 308) return { kind: 'at', confirmed: storedBytes(res.headers.range, total) };
    return { kind: 'done', video: res.body };
  }

  const uploading = (session: string | null, total: number, confirmed: number): PublishStep => ({
    status: 'uploading',
    checkpoint: { session, total, confirmed } satisfies PublicationCheckpoint,
    retryAfterMs: 0,
  });

  return {
    platforms: ['youtube'],
    requiredScopes: () => [UPLOAD_SCOPE],

    async step(ctx, credentials, request) {
      const { media, checkpoint } = request;
      const total = media.bytes;
      const done = toText(checkpoint.video_id, 200);
      if (done) return published({ id: done }, total);
      if (media.kind !== 'video') throw refused('YouTube takes videos only', null, 'unsupported_media');
      if (!Number.isSafeInteger(total) || total <= 0)
        throw refused('the video is empty', 'mediaBodyRequired', 'media_rejected');
      const privacy = request.privacy ?? 'private';
      if (!(PRIVACY_STATUSES as readonly string[]).includes(privacy))
        throw refused('privacy must be public, unlisted or private', null, 'privacy_level_not_allowed');
      const token = credentials.accessToken;
      if (!token) throw new PlatformError('reauth', 'youtube publishing call failed (reauth: no_token)');
      const sealer = sealing(ctx, request);
      const session = sealer.open(checkpoint.session);

      const state: SessionState = session ? await query(ctx, token, session, total) : { kind: 'gone' };
      if (state.kind === 'done') return published(state.video, total);
      if (state.kind === 'gone') {
        // The one creating call of this step, and its last: the session, sealed, into the checkpoint.
        const { title, description } = videoSnippet(request.caption);
        if (!title)
          throw refused('a video needs a title: the caption is empty', 'invalidTitle', 'media_rejected');
        const created = await call({
          ...base(ctx, token),
          dataClasses: ['post_content'],
          method: 'POST',
          url: `${UPLOAD_URL}?uploadType=resumable&part=snippet,status`,
          headers: {
            ...base(ctx, token).headers,
            'content-type': 'application/json; charset=UTF-8',
            'x-upload-content-length': String(total),
            'x-upload-content-type': media.contentType,
          },
          body: { json: { snippet: { title, description }, status: { privacyStatus: privacy } } },
        });
        if (created === 'gone')
          throw new PlatformError('transient', 'youtube publishing call failed (transient: 404)', {
            vendorCode: '404',
          });
        return uploading(sealer.seal(sessionUri(created.headers.location)), total, 0);
      }

      // One chunk from where the server stands; its final answer is the video.
      const start = state.confirmed;
      // Every byte stored yet no video: the session is broken; a later step asks again.
      if (start >= total)
        throw new PlatformError(
          'transient',
          'youtube publishing call failed (transient: upload_incomplete)',
          {
            vendorCode: 'upload_incomplete',
          },
        );
      const end = Math.min(start + chunkBytes, total);
      const answer = await call({
        ...base(ctx, token),
        dataClasses: ['generated_media'],
        method: 'PUT',
        url: session as string,
        headers: { ...base(ctx, token).headers, 'content-range': `bytes ${start}-${end - 1}/${total}` },
        body: { bytes: await media.read(start, end), contentType: media.contentType },
        // A repeated chunk could land on bytes the server already holds: the next step asks it instead.
        idempotent: false,
        maxAttempts: 1,
        timeoutMs: CHUNK_TIMEOUT_MS,
      });
      if (answer === 'gone') return uploading(null, total, 0);
      if (answer.status === 308)
        return uploading(checkpoint.session as string, total, storedBytes(answer.headers.range, total));
      return published(answer.body, total);
    },
  };
};
