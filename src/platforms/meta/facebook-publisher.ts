import type {
  PublicationCheckpoint,
  PublisherFactory,
  PublishStep,
  SocialPublisher,
} from '../publishing-port.ts';
import { type CallContext, PlatformError, toText } from '../social-platform.ts';
import { createGraphCaller } from './graph-call.ts';
import type { MetaPublisherDeps } from './instagram-publisher.ts';

/**
 * Facebook Pages publishing (Page token) as a step-wise state machine in which a crash can never post
 * twice: the media is first created unpublished (`published=false`), so the one creating call makes
 * nothing visible (a crash before its id is stored leaves an unpublished object nobody sees), and the
 * post goes out by updating that one object, which repeating cannot duplicate:
 * - video: `POST /{page}/videos` with `file_url` (Meta fetches the signed URL, sent in that call only),
 *   `GET /{video}?fields=status,published` until `video_status` is ready, then `POST /{video}`
 *   `published=true`;
 * - photo: `POST /{page}/photos` with `url`, which answers the photo and its (unpublished) Page post
 *   (or the photo's `page_story_id` names it), then `POST /{post}` `is_published=true`.
 * Before the update the checkpoint records that it is about to be made, and a restart reads the
 * object first: already published means done.
 */
const VIDEO_TYPES = new Set(['video/mp4', 'video/quicktime', 'video/webm']);
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
const MAX_CAPTION = 63_206;
const POLL_VIDEO_MS = 10_000;

const refused = (apiCode: string, message: string, vendorCode: string | null = null) =>
  new PlatformError('refused', message, { apiCode, vendorCode });
const text = (v: unknown) => (typeof v === 'string' ? v : '');
const noId = (what: string) =>
  new PlatformError('transient', `facebook publishing call failed (transient: no_${what}_id)`, {
    vendorCode: `no_${what}_id`,
  });

export const createFacebookPublisher: PublisherFactory & ((deps: MetaPublisherDeps) => SocialPublisher) = (
  deps: MetaPublisherDeps,
): SocialPublisher => {
  const graph = createGraphCaller({ ...deps, credentials: deps.credentials });

  const processing = (checkpoint: PublicationCheckpoint, retryAfterMs: number): PublishStep => ({
    status: 'processing',
    checkpoint,
    retryAfterMs,
  });

  /** The update that makes the object public; the checkpoint said first that it is about to be made. */
  async function publishObject(ctx: CallContext, token: string, id: string, field: string) {
    await graph(ctx, {
      method: 'POST',
      path: `/${encodeURIComponent(id)}`,
      token,
      form: { [field]: 'true' },
      dataClasses: ['platform_ids'],
      idempotent: true,
    });
  }

  async function videoStep(ctx: CallContext, token: string, cp: PublicationCheckpoint, videoId: string) {
    const video = await graph<{
      status?: { video_status?: unknown; processing_phase?: { error?: { message?: unknown } } };
      published?: unknown;
      permalink_url?: unknown;
      post_id?: unknown;
    }>(ctx, {
      method: 'GET',
      path: `/${encodeURIComponent(videoId)}?fields=status,published,permalink_url,post_id`,
      token,
      dataClasses: [],
    });
    if (video.published === true)
      return {
        status: 'published' as const,
        checkpoint: cp,
        platformPostId: toText(video.post_id, 200) ?? videoId,
        permalink: permalinkOf(video.permalink_url),
      };
    const state = text(video.status?.video_status);
    if (state === 'error')
      throw refused('media_rejected', 'Facebook could not process the video.', 'video_status_error');
    if (state === 'expired')
      throw refused('publication_expired', 'The Facebook video upload expired; publish again.', 'expired');
    if (state !== 'ready') return processing(cp, POLL_VIDEO_MS);
    if (cp.publishing !== true) return processing({ ...cp, publishing: true }, 0);
    await publishObject(ctx, token, videoId, 'published');
    return processing(cp, 0);
  }

  async function photoStep(ctx: CallContext, token: string, cp: PublicationCheckpoint, postId: string) {
    const post = await graph<{ is_published?: unknown; permalink_url?: unknown }>(ctx, {
      method: 'GET',
      path: `/${encodeURIComponent(postId)}?fields=is_published,permalink_url`,
      token,
      dataClasses: [],
    });
    if (post.is_published === true)
      return {
        status: 'published' as const,
        checkpoint: cp,
        platformPostId: postId,
        permalink: permalinkOf(post.permalink_url),
      };
    if (cp.publishing !== true) return processing({ ...cp, publishing: true }, 0);
    await publishObject(ctx, token, postId, 'is_published');
    return processing(cp, 0);
  }

  /** The Page post of an (unpublished) photo: its `page_story_id`. */
  async function storyOf(ctx: CallContext, token: string, photoId: string): Promise<string> {
    const photo = await graph<{ page_story_id?: unknown }>(ctx, {
      method: 'GET',
      path: `/${encodeURIComponent(photoId)}?fields=page_story_id`,
      token,
      dataClasses: [],
    });
    const postId = toText(photo.page_story_id, 200);
    if (!postId) throw noId('post');
    return postId;
  }

  return {
    platforms: ['facebook'],
    requiredScopes: () => ['pages_manage_posts', 'pages_read_engagement', 'publish_video'],

    async step(ctx, credentials, req): Promise<PublishStep> {
      const token = credentials.accessToken;
      if (!token) throw new PlatformError('reauth', 'facebook publishing needs a reconnect (no token)');
      const cp = req.checkpoint;
      if (typeof cp.videoId === 'string') return videoStep(ctx, token, cp, cp.videoId);
      if (typeof cp.postId === 'string') return photoStep(ctx, token, cp, cp.postId);
      if (typeof cp.photoId === 'string')
        return processing({ ...cp, postId: await storyOf(ctx, token, cp.photoId) }, 0);

      const { media, caption } = req;
      const video = media.kind === 'video';
      if (!(video ? VIDEO_TYPES : IMAGE_TYPES).has(media.contentType))
        throw refused(
          'unsupported_media',
          video
            ? 'Facebook Page videos take MP4, MOV and WebM.'
            : 'Facebook Page photos take JPEG, PNG, GIF and WebP.',
        );
      if (caption.length > MAX_CAPTION)
        throw refused('platform_refused', `Facebook takes posts of at most ${MAX_CAPTION} characters.`);
      const page = encodeURIComponent(credentials.platformUserId);
      const url = media.publicUrl();
      const created = await graph<{ id?: unknown; post_id?: unknown }>(ctx, {
        method: 'POST',
        path: video ? `/${page}/videos` : `/${page}/photos`,
        token,
        form: video ? { description: caption, published: 'false' } : { caption, published: 'false' },
        secretForm: video ? { file_url: url } : { url },
        dataClasses: ['post_content', 'generated_media'],
        idempotent: false,
      });
      const id = toText(created.id, 200);
      if (video) {
        if (!id) throw noId('video');
        return { status: 'uploading', checkpoint: { videoId: id }, retryAfterMs: POLL_VIDEO_MS };
      }
      if (!id) throw noId('photo');
      // Meta answers the photo's Page post with it; when it does not, the next step asks the photo.
      const postId = toText(created.post_id, 200);
      return {
        status: 'processing',
        checkpoint: postId ? { photoId: id, postId } : { photoId: id },
        retryAfterMs: 0,
      };
    },
  };
};

/** Meta answers Page permalinks as absolute URLs; anything else is not kept. */
function permalinkOf(v: unknown): string | null {
  const s = toText(v, 2048);
  return s && /^https:\/\//.test(s) ? s : null;
}
