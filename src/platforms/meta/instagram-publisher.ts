import type {
  PublicationCheckpoint,
  PublisherFactory,
  PublishRequest,
  PublishStep,
  SocialPublisher,
} from '../publishing-port.ts';
import { type CallContext, type PlatformDeps, PlatformError, toDate, toText } from '../social-platform.ts';
import { createGraphCaller, type MetaApp } from './graph-call.ts';

/**
 * Instagram content publishing (Instagram API with Facebook Login) as a step-wise state machine:
 * 1. `content_publishing_limit` (refused with publishing_cap_reached when the 24-hour quota is used),
 *    then `POST /{ig-user}/media` (a REELS container from `video_url`, or an image container from
 *    `image_url`): Instagram fetches the media from the signed URL, which is sent in that call only.
 *    A container that a crash leaves behind is never published and expires after 24 hours.
 * 2. `GET /{container}?fields=status_code` until FINISHED (EXPIRED: publication_expired, ERROR:
 *    media_rejected); on FINISHED the checkpoint first records that media_publish is about to be called.
 * 3. In that state the container is read again: PUBLISHED means a step that died after media_publish
 *    already posted it, so the media is found in the user's recent media instead of publishing twice;
 *    FINISHED: the quota is read again and `media_publish` (the creating call, made last). An error
 *    answer to media_publish is checked against the container too (PUBLISHED: it went out).
 *    The look-up matches the caption and a timestamp since the publishing step: two publications of
 *    the same caption to one account within minutes, one of them killed after media_publish, can
 *    take each other's media id (never a second post).
 * 4. The permalink.
 */
const MAX_CAPTION = 2200;
const VIDEO_TYPES = new Set(['video/mp4', 'video/quicktime']);
/** Instagram's image containers take JPEG only. */
const IMAGE_TYPES = new Set(['image/jpeg']);
const POLL_VIDEO_MS = 10_000;
const POLL_IMAGE_MS = 3_000;
/** How far before the publishing step a published media's timestamp may be (clock skew). */
const SKEW_MS = 120_000;
/** Look-ups of a PUBLISHED container's media (Instagram lists it within seconds, normally). */
const LOOKUPS_MAX = 10;
const LOOKUP_WAIT_MS = 5_000;

/** Instagram keeps the caption as sent; line ends and surrounding blanks are not trusted to survive. */
const sameCaption = (listed: string, sent: string) => {
  const norm = (s: string) => s.normalize('NFC').replace(/\r\n?/g, '\n').trim();
  return norm(listed) === norm(sent);
};

export type MetaPublisherDeps = PlatformDeps & { credentials?: MetaApp | undefined };

const refused = (apiCode: string, message: string, vendorCode: string | null = null) =>
  new PlatformError('refused', message, { apiCode, vendorCode });

function checkMedia(req: PublishRequest): void {
  const { media, caption } = req;
  const types = media.kind === 'video' ? VIDEO_TYPES : IMAGE_TYPES;
  if (!types.has(media.contentType))
    throw refused(
      'unsupported_media',
      media.kind === 'video'
        ? 'Instagram Reels take MP4 and MOV videos only.'
        : 'Instagram image posts take JPEG images only.',
    );
  if (caption.length > MAX_CAPTION)
    throw refused('platform_refused', `Instagram takes captions of at most ${MAX_CAPTION} characters.`);
}

const text = (v: unknown) => (typeof v === 'string' ? v : '');

export const createInstagramPublisher: PublisherFactory & ((deps: MetaPublisherDeps) => SocialPublisher) = (
  deps: MetaPublisherDeps,
): SocialPublisher => {
  const graph = createGraphCaller({ ...deps, credentials: deps.credentials });

  async function refuseWhenCapped(ctx: CallContext, token: string, igId: string): Promise<void> {
    const res = await graph<{ data?: { quota_usage?: unknown; config?: { quota_total?: unknown } }[] }>(ctx, {
      method: 'GET',
      path: `/${igId}/content_publishing_limit?fields=quota_usage,config`,
      token,
      dataClasses: ['platform_ids'],
    });
    const entry = res.data?.[0];
    const usage = Number(entry?.quota_usage);
    const total = Number(entry?.config?.quota_total);
    if (Number.isFinite(usage) && Number.isFinite(total) && usage >= total)
      throw refused(
        'publishing_cap_reached',
        `Instagram allows ${total} published posts per 24 hours and this account has used ${usage}; try again later.`,
        'content_publishing_limit',
      );
  }

  async function containerStatus(ctx: CallContext, token: string, containerId: string) {
    const res = await graph<{ status_code?: unknown; status?: unknown }>(ctx, {
      method: 'GET',
      path: `/${encodeURIComponent(containerId)}?fields=status_code,status`,
      token,
      dataClasses: [],
    });
    const code = text(res.status_code);
    if (code === 'EXPIRED')
      throw refused(
        'publication_expired',
        'The Instagram container expired (not published within 24 hours); publish again.',
        'EXPIRED',
      );
    if (code === 'ERROR') {
      // `status` carries the error subcode ("Error: 2207026"); only its digits are kept.
      const sub = /\d{4,9}/.exec(text(res.status))?.[0] ?? 'ERROR';
      throw refused('media_rejected', `Instagram could not process the media (${sub}).`, sub);
    }
    return code;
  }

  /**
   * A container that went out: its media is the earliest with our caption since publishing began (a
   * container names no media id). Null while Instagram does not list it yet.
   */
  async function findPublishedMedia(
    ctx: CallContext,
    token: string,
    igId: string,
    req: PublishRequest,
  ): Promise<string | null> {
    // The media is no older than the step that said media_publish was about to be called.
    const since = Number(req.checkpoint.publishingAt ?? req.checkpoint.containerAt) - SKEW_MS;
    const res = await graph<{ data?: { id?: unknown; caption?: unknown; timestamp?: unknown }[] }>(ctx, {
      method: 'GET',
      path: `/${igId}/media?fields=id,caption,timestamp&limit=25`,
      token,
      dataClasses: ['platform_ids'],
    });
    const matches = (res.data ?? [])
      .map((m) => ({ id: toText(m.id, 200), caption: text(m.caption), at: toDate(m.timestamp) }))
      .filter((m) => m.id && sameCaption(m.caption, req.caption) && m.at && m.at.getTime() >= since)
      .sort((a, b) => (a.at?.getTime() ?? 0) - (b.at?.getTime() ?? 0));
    return matches[0]?.id ?? null;
  }

  /**
   * The container says PUBLISHED: the post exists, so the publication is never failed nor published
   * again. Instagram lists a new media shortly after publishing; until it does the look-up is repeated
   * (waits growing to a minute), and after LOOKUPS_MAX the publication is published with the
   * container's id (permalink unknown) rather than left open or called failed.
   */
  async function publishedContainer(
    ctx: CallContext,
    token: string,
    igId: string,
    req: PublishRequest,
    containerId: string,
  ): Promise<PublishStep> {
    const cp = req.checkpoint;
    const mediaId = await findPublishedMedia(ctx, token, igId, req);
    if (mediaId) return processing({ ...cp, mediaId }, 0);
    const lookups = (typeof cp.lookups === 'number' ? cp.lookups : 0) + 1;
    if (lookups < LOOKUPS_MAX)
      return processing({ ...cp, lookups }, Math.min(LOOKUP_WAIT_MS * 2 ** (lookups - 1), 60_000));
    return {
      status: 'published',
      checkpoint: { ...cp, lookups },
      platformPostId: containerId,
      permalink: null,
    };
  }

  const processing = (checkpoint: PublicationCheckpoint, retryAfterMs: number): PublishStep => ({
    status: 'processing',
    checkpoint,
    retryAfterMs,
  });

  return {
    platforms: ['instagram'],
    requiredScopes: () => ['instagram_basic', 'instagram_content_publish', 'pages_read_engagement'],

    async step(ctx, credentials, req) {
      const token = credentials.accessToken;
      if (!token)
        throw new PlatformError('reauth', 'instagram publishing needs a reconnect (no token)', {
          vendorCode: null,
        });
      const igId = encodeURIComponent(credentials.platformUserId);
      const cp = req.checkpoint;
      const poll = req.media.kind === 'video' ? POLL_VIDEO_MS : POLL_IMAGE_MS;

      if (typeof cp.mediaId === 'string') {
        const res = await graph<{ permalink?: unknown }>(ctx, {
          method: 'GET',
          path: `/${encodeURIComponent(cp.mediaId)}?fields=id,permalink`,
          token,
          dataClasses: [],
        });
        return {
          status: 'published',
          checkpoint: cp,
          platformPostId: cp.mediaId,
          permalink: toText(res.permalink, 2048),
        };
      }

      if (typeof cp.containerId === 'string') {
        const code = await containerStatus(ctx, token, cp.containerId);
        if (code === 'PUBLISHED') return publishedContainer(ctx, token, igId, req, cp.containerId);
        if (code !== 'FINISHED') return processing(cp, poll);
        // Recorded before the call: a restart from here reads the container before publishing.
        if (cp.publishing !== true)
          return processing({ ...cp, publishing: true, publishingAt: deps.now().getTime() }, 0);
        await refuseWhenCapped(ctx, token, igId);
        const containerId = cp.containerId;
        const published = await graph<{ id?: unknown }>(ctx, {
          method: 'POST',
          path: `/${igId}/media_publish`,
          token,
          form: { creation_id: containerId },
          dataClasses: ['platform_ids'],
          idempotent: false,
        }).catch(async (error: unknown) => {
          // An error answer does not prove nothing went out (Meta's guide: when media_publish answers
          // no id, read the container's status_code): a container that says PUBLISHED is looked up.
          const unsure =
            error instanceof PlatformError && (error.kind === 'refused' || error.kind === 'transient');
          if (unsure && (await containerStatus(ctx, token, containerId).catch(() => null)) === 'PUBLISHED')
            return null;
          throw error;
        });
        if (published === null) return processing(cp, 0);
        const mediaId = toText(published.id, 200);
        if (!mediaId)
          throw new PlatformError('transient', 'instagram publishing call failed (transient: no_media_id)', {
            vendorCode: 'no_media_id',
          });
        return processing({ ...cp, mediaId }, 0);
      }

      checkMedia(req);
      await refuseWhenCapped(ctx, token, igId);
      const url = req.media.publicUrl();
      const containerAt = deps.now().getTime();
      const created = await graph<{ id?: unknown }>(ctx, {
        method: 'POST',
        path: `/${igId}/media`,
        token,
        form:
          req.media.kind === 'video'
            ? { media_type: 'REELS', caption: req.caption }
            : { caption: req.caption },
        secretForm: req.media.kind === 'video' ? { video_url: url } : { image_url: url },
        dataClasses: ['post_content', 'generated_media'],
        idempotent: false,
      });
      const containerId = toText(created.id, 200);
      if (!containerId)
        throw new PlatformError(
          'transient',
          'instagram publishing call failed (transient: no_container_id)',
          {
            vendorCode: 'no_container_id',
          },
        );
      return { status: 'uploading', checkpoint: { containerId, containerAt }, retryAfterMs: poll };
    },
  };
};
