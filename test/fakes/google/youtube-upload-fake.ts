import { createHash, randomBytes } from 'node:crypto';
import type { FakeReply, FakeRequest } from '../vendor-fake-server.ts';
import type { GoogleFake } from './google-fake.ts';

/**
 * YouTube's resumable upload protocol (`videos.insert`), added to a running Google fake, checking
 * requests as Google documents them:
 * - `POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status` with a Bearer token,
 *   `Content-Type: application/json`, `X-Upload-Content-Length` and `X-Upload-Content-Type` (video/* or
 *   application/octet-stream) and a video resource (a title of 1–100 characters, a description of at
 *   most 5000 bytes, neither with `<` or `>`, a known privacyStatus) → 200 with the session URI
 *   (Google's own host, an `upload_id`) in `Location`;
 * - `PUT <session URI>` with `Content-Range: bytes first-last/total` in order from the stored offset,
 *   every chunk but the last a multiple of 256 KiB, Content-Length and Content-Type matching → `308`
 *   with `Range: bytes=0-N` (no Range while nothing is stored) until the last byte, then 200 with the
 *   video resource (the video joins the base fake's uploads list, so the post sync sees it);
 * - `PUT <session URI>` with `Content-Range: bytes *\/total` and no body → the session's state: 308
 *   (with Range) or, once complete, 200 with the video again.
 * A request that breaks the protocol is refused with 400 and recorded in `violations`, so a test can
 * assert there were none. It fails like Google when told to: an interrupted chunk (part of it stored,
 * then 503), quotaExceeded / uploadLimitExceeded / any reason at session creation, and a token revoked
 * mid-flow (the base fake's `/revoke`: later calls answer 401 authError).
 */
export type YouTubeUploads = ReturnType<typeof addYouTubeUploads>;

const UPLOAD_PATH = '/upload/youtube/v3/videos';
const SESSION_BASE = 'https://www.googleapis.com/upload/youtube/v3/videos';
const ALIGNMENT = 256 * 1024;
const PRIVACY = ['public', 'unlisted', 'private'];

type VideoResource = {
  kind: 'youtube#video';
  id: string;
  snippet: { publishedAt: string; channelId: string; title: string; description: string };
  status: { uploadStatus: 'uploaded'; privacyStatus: string };
};
type Session = {
  channel: string;
  total: number;
  contentType: string;
  title: string;
  description: string;
  privacyStatus: string;
  parts: Buffer[];
  stored: number;
  video: VideoResource | null;
};
export type UploadedVideo = {
  id: string;
  channelId: string;
  title: string;
  description: string;
  privacyStatus: string;
  bytes: number;
  sha256: string;
};

export function addYouTubeUploads(fake: GoogleFake) {
  const sessions = new Map<string, Session>();
  const videos: UploadedVideo[] = [];
  const violations: string[] = [];
  const control = {
    /** The next session creation answers this error (quotaExceeded 403, uploadLimitExceeded 400, …). */
    failSession: null as { status: number; reason: string } | null,
    /** The next chunk stores only its first `keepBytes` bytes and answers 503 (the connection broke). */
    interruptChunk: null as { keepBytes: number } | null,
    /** The user removes the app's access just before the next PUT to a session arrives. */
    revokeBeforeUpload: false,
  };

  const apiError = (status: number, reason: string): FakeReply => ({
    status,
    body: { error: { code: status, message: reason, errors: [{ reason, domain: 'youtube.video' }] } },
  });
  function violation(why: string): FakeReply {
    violations.push(why);
    return apiError(400, 'badRequest');
  }
  const header = (req: FakeRequest, name: string) => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const range = (s: Session): Record<string, string> =>
    s.stored > 0 ? { range: `bytes=0-${s.stored - 1}` } : {};

  function createSession(req: FakeRequest): FakeReply {
    const channel = fake.channelOf(req);
    if (!channel) return apiError(401, 'authError');
    if (req.query.get('uploadType') !== 'resumable') return violation('uploadType is not resumable');
    const parts = (req.query.get('part') ?? '').split(',');
    if (!parts.includes('snippet') || !parts.includes('status'))
      return violation('part must name snippet and status');
    if (!(header(req, 'content-type') ?? '').startsWith('application/json'))
      return violation('the video resource is not JSON');
    const length = header(req, 'x-upload-content-length') ?? '';
    const type = header(req, 'x-upload-content-type') ?? '';
    if (!/^[1-9]\d*$/.test(length)) return violation('X-Upload-Content-Length missing');
    if (!type.startsWith('video/') && type !== 'application/octet-stream')
      return violation('X-Upload-Content-Type is not a video type');
    if (control.failSession) {
      const { status, reason } = control.failSession;
      control.failSession = null;
      return apiError(status, reason);
    }
    let video: { snippet?: { title?: unknown; description?: unknown }; status?: { privacyStatus?: unknown } };
    try {
      video = JSON.parse(req.body);
    } catch {
      return apiError(400, 'parseError');
    }
    const title = video.snippet?.title;
    const description = video.snippet?.description ?? '';
    if (typeof title !== 'string' || title.trim() === '' || [...title].length > 100 || /[<>]/.test(title))
      return apiError(400, 'invalidTitle');
    if (typeof description !== 'string' || Buffer.byteLength(description) > 5000 || /[<>]/.test(description))
      return apiError(400, 'invalidDescription');
    const privacyStatus = video.status?.privacyStatus ?? 'public';
    if (typeof privacyStatus !== 'string' || !PRIVACY.includes(privacyStatus))
      return apiError(400, 'invalidVideoMetadata');
    const uploadId = randomBytes(48).toString('base64url');
    sessions.set(uploadId, {
      channel,
      total: Number(length),
      contentType: type,
      title,
      description,
      privacyStatus,
      parts: [],
      stored: 0,
      video: null,
    });
    return {
      status: 200,
      body: undefined,
      headers: { location: `${SESSION_BASE}?uploadType=resumable&part=snippet,status&upload_id=${uploadId}` },
    };
  }

  function complete(s: Session): VideoResource {
    const bytes = Buffer.concat(s.parts);
    const id = randomBytes(8).toString('base64url').slice(0, 11);
    s.video = {
      kind: 'youtube#video',
      id,
      snippet: {
        publishedAt: new Date().toISOString(),
        channelId: s.channel,
        title: s.title,
        description: s.description,
      },
      status: { uploadStatus: 'uploaded', privacyStatus: s.privacyStatus },
    };
    videos.push({
      id,
      channelId: s.channel,
      title: s.title,
      description: s.description,
      privacyStatus: s.privacyStatus,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    fake.control.videos.push({ id, title: s.title, views: 0 });
    return s.video;
  }

  async function revokeGrant(token: string): Promise<void> {
    const res = await fetch(`${fake.url}/revoke`, { method: 'POST', body: new URLSearchParams({ token }) });
    if (res.status !== 200) throw new Error(`revoke failed: ${res.status}`);
  }

  async function upload(req: FakeRequest): Promise<FakeReply> {
    const s = sessions.get(req.query.get('upload_id') ?? '');
    if (!s) return apiError(404, 'notFound');
    if (control.revokeBeforeUpload) {
      control.revokeBeforeUpload = false;
      await revokeGrant(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    }
    if (fake.channelOf(req) !== s.channel) return apiError(401, 'authError');
    const contentRange = header(req, 'content-range') ?? '';
    const status = /^bytes \*\/(\d+)$/.exec(contentRange);
    if (status) {
      if (req.raw.length !== 0) return violation('a status query carries a body');
      if (Number(status[1]) !== s.total) return violation('the status query names another total');
      return s.video ? { status: 200, body: s.video } : { status: 308, body: undefined, headers: range(s) };
    }
    const chunk = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange);
    if (!chunk) return violation('Content-Range missing or malformed');
    if (s.video) return violation('bytes sent to a completed upload');
    const [first, last, total] = [Number(chunk[1]), Number(chunk[2]), Number(chunk[3])];
    const length = last - first + 1;
    if (total !== s.total) return violation('Content-Range names another total');
    if (first !== s.stored) return violation(`chunk starts at ${first}, the session holds ${s.stored}`);
    if (length !== req.raw.length || header(req, 'content-length') !== String(req.raw.length))
      return violation('Content-Length does not match the chunk');
    if (last >= s.total) return violation('chunk ends past the total');
    if (last + 1 < s.total && length % ALIGNMENT !== 0)
      return violation('a chunk before the last is not a multiple of 256 KiB');
    if (header(req, 'content-type') !== s.contentType) return violation('chunk Content-Type differs');
    if (control.interruptChunk) {
      const keep = Math.min(control.interruptChunk.keepBytes, length);
      control.interruptChunk = null;
      s.parts.push(req.raw.subarray(0, keep));
      s.stored += keep;
      return apiError(503, 'backendError');
    }
    s.parts.push(req.raw);
    s.stored += length;
    if (s.stored === s.total) return { status: 200, body: complete(s) };
    return { status: 308, body: undefined, headers: range(s) };
  }

  fake.use((req) => {
    if (req.path !== UPLOAD_PATH) return undefined;
    if (req.method === 'POST' && !req.query.has('upload_id')) return createSession(req);
    if (req.method === 'PUT') return upload(req);
    return violation(`${req.method} on the upload endpoint`);
  });

  return {
    sessions,
    /** Every video a completed upload created, in order. */
    videos,
    /** The videos of one channel (an upload session that never completed made none). */
    videosOf: (channelId: string) => videos.filter((v) => v.channelId === channelId),
    violations,
    control,
    /** The user removed the app's access (the base fake's revoke: the channel's tokens die). */
    revokeGrant,
    /** Google let the incomplete sessions expire (after a week): their URIs answer 404 notFound. */
    expireIncompleteSessions() {
      for (const [id, s] of sessions) if (!s.video) sessions.delete(id);
    },
  };
}
