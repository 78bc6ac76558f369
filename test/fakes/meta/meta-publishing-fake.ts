import type { FakeReply, FakeRequest } from '../vendor-fake-server.ts';
import type { MetaFake } from './meta-fake.ts';

/**
 * Instagram content publishing and Facebook Page video/photo posts on the Meta fake (an extension of
 * startMetaFake: same host, same `access_token` + `appsecret_proof` check, same error bodies).
 * Checked as Meta documents them:
 * - `GET /{ig-user}/content_publishing_limit?fields=quota_usage,config`;
 * - `POST /{ig-user}/media` (form): `media_type=REELS` + `video_url`, or `image_url` (JPEG), and
 *   `caption`. The fake fetches the URL over HTTP, as Instagram does, and wants real MP4 / JPEG bytes;
 * - `GET /{container}?fields=status_code` (IN_PROGRESS for `control.inProgressPolls` polls, then
 *   FINISHED, or the outcome `control.containerOutcome`);
 * - `POST /{ig-user}/media_publish` with the `creation_id` of a FINISHED container of that user only
 *   (the container then says PUBLISHED), the 24-hour quota enforced (2207042); when told to, it posts
 *   and still answers an error, or the user's media list shows the new media only some reads later;
 * - `POST /{page}/videos` (`file_url`, `description`, `published=false`), `GET /{video}?fields=status,…`,
 *   `POST /{video}` `published=true`; `POST /{page}/photos` (`url` to real PNG/JPEG bytes, `caption`,
 *   `published=false`) answering the photo and its Page post, `POST /{post}` `is_published=true`.
 * Every Page token may act for its own Page and that Page's Instagram account only. What went out
 * is in `published` (tests assert exactly one) and in the base fake's post lists (the account's
 * metrics sync reads them).
 */
export type MetaPublishingFake = ReturnType<typeof useMetaPublishing>;

type Container = {
  id: string;
  igId: string;
  caption: string;
  kind: 'video' | 'image';
  polls: number;
  state: 'IN_PROGRESS' | 'FINISHED' | 'ERROR' | 'EXPIRED' | 'PUBLISHED';
};
type FbObject = {
  id: string;
  pageId: string;
  kind: 'video' | 'photo';
  caption: string;
  postId: string;
  polls: number;
  published: boolean;
};
export type PublishedPost = {
  platform: 'instagram' | 'facebook';
  id: string;
  accountId: string;
  caption: string;
};

const MP4 = (b: Buffer) => b.length > 12 && b.subarray(4, 8).toString('latin1') === 'ftyp';
const JPEG = (b: Buffer) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
const PNG = (b: Buffer) => b.length > 8 && b.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex'));

export function useMetaPublishing(fake: MetaFake) {
  const V = fake.graphVersion;
  let seq = 1_790_000_000_000_000;
  const nextId = () => String(++seq);
  const containers = new Map<string, Container>();
  const objects = new Map<string, FbObject>();
  const media = new Map<string, { id: string; igId: string; permalink: string }>();
  const published: PublishedPost[] = [];
  /** What the fake fetched from media URLs (the test checks the signed URL was used). */
  const fetched: { url: string; status: number; bytes: number }[] = [];
  const control = {
    quotaTotal: 100,
    quotaUsage: 0,
    /** Container polls answered IN_PROGRESS before the container's outcome. */
    inProgressPolls: 0,
    containerOutcome: 'FINISHED' as 'FINISHED' | 'ERROR' | 'EXPIRED',
    /** Facebook video polls answered `processing` before `ready` (or `error`). */
    videoProcessingPolls: 0,
    videoOutcome: 'ready' as 'ready' | 'error',
    /** The next N publishing calls answer code 4 (application request limit). */
    rateLimit: 0,
    /** media_publish answers 2207042 although the limit endpoint said there was room (a race). */
    capOnPublish: false,
    /** Photo creation answers the photo id only: the Page post is the photo's `page_story_id`. */
    photoWithoutPostId: false,
    /** The next media_publish posts the media, then answers Instagram's server error (-1, 2207001). */
    publishAnswersError: false,
    /** The user's media list leaves out media published since, for this many reads (listing lags). */
    unlistedReads: 0,
  };
  /** Published media the user's media list does not show yet (control.unlistedReads). */
  const unlisted: (() => void)[] = [];

  const err = (status: number, code: number, message: string, subcode?: number): FakeReply => ({
    status,
    body: {
      error: {
        message,
        type: 'OAuthException',
        code,
        ...(subcode ? { error_subcode: subcode } : {}),
        fbtrace_id: 'fakepub',
      },
    },
  });
  const ok = (body: unknown): FakeReply => ({ status: 200, body });

  /** The page whose Instagram account is `igId`, if any. */
  function pageOfIg(igId: string): string | null {
    for (const pages of fake.control.pagesByUser.values())
      for (const p of pages) if (p.ig?.id === igId) return p.id;
    return null;
  }
  const isPage = (id: string) =>
    [...fake.control.pagesByUser.values()].some((ps) => ps.some((p) => p.id === id));

  async function fetchMedia(url: string, check: (b: Buffer) => boolean): Promise<boolean> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    // The fake only ever connects to this machine.
    if (u.hostname !== '127.0.0.1') return false;
    const res = await fetch(u);
    const bytes = Buffer.from(await res.arrayBuffer());
    fetched.push({ url, status: res.status, bytes: bytes.length });
    return res.status === 200 && check(bytes);
  }

  function addPost(accountId: string, post: Record<string, unknown>) {
    const list = fake.control.posts.get(accountId) ?? [];
    list.unshift(post);
    fake.control.posts.set(accountId, list);
  }

  async function route(req: FakeRequest): Promise<FakeReply | undefined> {
    if (!req.path.startsWith(`${V}/`)) return undefined;
    const path = req.path.slice(V.length);
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [id, edge] = parts;
    if (!id || parts.length > 2) return undefined;
    if (edge === 'media' && req.method === 'GET') {
      // The list itself is the base fake's; a lagging list shows the newest media only later.
      if (control.unlistedReads > 0) control.unlistedReads--;
      else for (const show of unlisted.splice(0)) show();
      return undefined;
    }
    const mine =
      containers.has(id) ||
      objects.has(id) ||
      media.has(id) ||
      edge === 'content_publishing_limit' ||
      edge === 'media_publish' ||
      edge === 'videos' ||
      edge === 'photos' ||
      (edge === 'media' && req.method === 'POST');
    if (!mine) return undefined;
    const who = fake.checkToken(req);
    if ('status' in who) return who;
    if (control.rateLimit > 0) {
      control.rateLimit--;
      return err(400, 4, 'Application request limit reached');
    }
    if (who.kind !== 'page') return err(400, 190, 'A Page access token is required.');
    const form = new URLSearchParams(req.raw.toString('utf8'));
    const fields = (req.query.get('fields') ?? '').split(',');

    // Instagram
    if (edge === 'content_publishing_limit' || edge === 'media_publish' || edge === 'media') {
      if (pageOfIg(id) !== who.pageId)
        return err(400, 100, 'Unsupported request: not your Instagram account.', 33);
      if (edge === 'content_publishing_limit') {
        if (req.method !== 'GET' || !fields.includes('quota_usage') || !fields.includes('config'))
          return err(400, 100, 'fields');
        return ok({
          data: [
            {
              quota_usage: control.quotaUsage,
              config: { quota_total: control.quotaTotal, quota_duration: 86400 },
            },
          ],
        });
      }
      if (
        req.method !== 'POST' ||
        req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') !== true
      )
        return err(400, 100, 'form POST required');
      if (edge === 'media') {
        const caption = form.get('caption') ?? '';
        const video = form.get('video_url');
        const image = form.get('image_url');
        if (video !== null) {
          if (form.get('media_type') !== 'REELS')
            return err(400, 100, 'media_type must be REELS for video_url');
          if (!(await fetchMedia(video, MP4)))
            return err(400, 9004, 'Only photo or video can be accepted as media type.', 2207052);
        } else if (image !== null) {
          if (form.has('media_type')) return err(400, 100, 'media_type is for videos and carousels');
          if (!(await fetchMedia(image, JPEG)))
            return err(400, 9004, 'Only photo or video can be accepted as media type.', 2207052);
        } else return err(400, 100, 'The parameter image_url or video_url is required.');
        const c: Container = {
          id: nextId(),
          igId: id,
          caption,
          kind: video !== null ? 'video' : 'image',
          polls: 0,
          state: 'IN_PROGRESS',
        };
        containers.set(c.id, c);
        return ok({ id: c.id });
      }
      const c = containers.get(form.get('creation_id') ?? '');
      if (!c || c.igId !== id) return err(400, 100, 'Invalid creation_id', 2207001);
      if (c.state === 'PUBLISHED') return err(400, 9007, 'The media has already been published', 2207008);
      if (c.state !== 'FINISHED') return err(400, 9007, 'Media ID is not available', 2207027);
      if (control.capOnPublish || control.quotaUsage >= control.quotaTotal)
        return err(400, 9, 'Application request limit reached: publishing limit', 2207042);
      const m = { id: nextId(), igId: id, permalink: `https://www.instagram.com/reel/${seq.toString(36)}/` };
      media.set(m.id, m);
      c.state = 'PUBLISHED';
      control.quotaUsage++;
      published.push({ platform: 'instagram', id: m.id, accountId: id, caption: c.caption });
      const listed = {
        id: m.id,
        caption: c.caption,
        permalink: m.permalink,
        timestamp: new Date()
          .toISOString()
          .replace('Z', '+0000')
          .replace(/\.\d{3}/, ''),
      };
      if (control.unlistedReads > 0) unlisted.push(() => addPost(id, listed));
      else addPost(id, listed);
      if (control.publishAnswersError) {
        control.publishAnswersError = false;
        return err(400, -1, 'Instagram server error. Try again.', 2207001);
      }
      return ok({ id: m.id });
    }

    // Facebook: creating on a Page
    if (edge === 'videos' || edge === 'photos') {
      if (!isPage(id) || id !== who.pageId) return err(400, 200, 'Permissions error: not this Page token.');
      if (req.method !== 'POST') return err(400, 100, 'method');
      if (form.get('published') !== 'false') return err(400, 100, 'this fake expects published=false');
      const video = edge === 'videos';
      const url = video ? form.get('file_url') : form.get('url');
      if (!url) return err(400, 100, video ? 'file_url is required' : 'url is required');
      if (!(await fetchMedia(url, video ? MP4 : (b) => PNG(b) || JPEG(b))))
        return err(
          400,
          video ? 352 : 324,
          video ? 'The video file could not be read.' : 'Missing or invalid image file',
        );
      const o: FbObject = {
        id: nextId(),
        pageId: id,
        kind: video ? 'video' : 'photo',
        caption: (video ? form.get('description') : form.get('caption')) ?? '',
        postId: `${id}_${nextId()}`,
        polls: 0,
        published: false,
      };
      objects.set(o.id, o);
      if (!video) objects.set(o.postId, o);
      return ok(video || control.photoWithoutPostId ? { id: o.id } : { id: o.id, post_id: o.postId });
    }

    // Reads and updates of one object
    const c = containers.get(id);
    if (c) {
      if (pageOfIg(c.igId) !== who.pageId) return err(400, 100, 'Unsupported get request.', 33);
      if (req.method !== 'GET' || !fields.includes('status_code')) return err(400, 100, 'fields');
      if (c.state === 'IN_PROGRESS') {
        if (c.polls++ >= control.inProgressPolls) c.state = control.containerOutcome;
      }
      return ok({
        id: c.id,
        status_code: c.state,
        status: c.state === 'ERROR' ? 'Error: 2207026 (unsupported video format)' : c.state,
      });
    }
    const m = media.get(id);
    if (m) return req.method === 'GET' ? ok({ id: m.id, permalink: m.permalink }) : err(400, 100, 'method');
    const o = objects.get(id) as FbObject;
    if (o.pageId !== who.pageId) return err(400, 100, 'Unsupported request.', 33);
    const isPost = id === o.postId && o.kind === 'photo';
    const permalink = `https://www.facebook.com/${o.pageId}/posts/${o.postId.split('_')[1]}`;
    if (req.method === 'GET') {
      if (isPost) return ok({ id, is_published: o.published, permalink_url: permalink });
      if (o.kind === 'photo') {
        if (!fields.includes('page_story_id')) return err(400, 100, 'fields');
        return ok({ id, page_story_id: o.postId });
      }
      if (!fields.includes('status')) return err(400, 100, 'fields');
      let status = 'processing';
      if (o.polls++ >= control.videoProcessingPolls) status = control.videoOutcome;
      return ok({
        id,
        status: { video_status: status },
        published: o.published,
        post_id: o.postId,
        ...(o.published ? { permalink_url: permalink } : {}),
      });
    }
    const field = isPost ? 'is_published' : 'published';
    if (req.method !== 'POST' || form.get(field) !== 'true') return err(400, 100, `${field}=true expected`);
    if (!isPost && o.polls <= control.videoProcessingPolls)
      return err(400, 100, 'The video is still being processed.');
    if (!o.published) {
      o.published = true;
      published.push({ platform: 'facebook', id: o.postId, accountId: o.pageId, caption: o.caption });
      addPost(o.pageId, {
        id: o.postId,
        message: o.caption,
        permalink_url: permalink,
        created_time: new Date().toISOString(),
      });
    }
    return ok({ success: true });
  }

  /**
   * What a Graph request is and which account (Instagram user or Page) it acts for: a crash test
   * holds one publication's calls by it, while other publications go on through the same fake.
   */
  function callOf(method: string, path: string): { call: MetaPublishingCall; account: string } | null {
    if (!path.startsWith(`${V}/`)) return null;
    const [id, edge, ...rest] = path.slice(V.length).split('/').filter(Boolean).map(decodeURIComponent);
    if (!id || rest.length > 0) return null;
    const post = method === 'POST';
    if (edge === 'content_publishing_limit') return { call: 'ig.limit', account: id };
    if (edge === 'media') return { call: post ? 'ig.create' : 'ig.lookup', account: id };
    if (edge === 'media_publish') return { call: 'ig.publish', account: id };
    if (edge === 'videos') return { call: 'fb.create_video', account: id };
    if (edge === 'photos') return { call: 'fb.create_photo', account: id };
    if (edge) return null;
    const c = containers.get(id);
    if (c) return { call: 'ig.status', account: c.igId };
    const m = media.get(id);
    if (m) return { call: 'ig.permalink', account: m.igId };
    const o = objects.get(id);
    if (!o) return null;
    if (o.kind === 'video') return { call: post ? 'fb.publish_video' : 'fb.video', account: o.pageId };
    if (id === o.postId) return { call: post ? 'fb.publish_post' : 'fb.post', account: o.pageId };
    return { call: 'fb.photo', account: o.pageId };
  }

  fake.use(route);
  return {
    control,
    published,
    fetched,
    containers,
    callOf,
    /** What went out on one Instagram account or Page (unpublished objects and containers are not posts). */
    postsOf: (account: string) => published.filter((p) => p.accountId === account),
  };
}

export type MetaPublishingCall =
  | 'ig.limit'
  | 'ig.create'
  | 'ig.status'
  | 'ig.publish'
  | 'ig.lookup'
  | 'ig.permalink'
  | 'fb.create_video'
  | 'fb.video'
  | 'fb.publish_video'
  | 'fb.create_photo'
  | 'fb.photo'
  | 'fb.post'
  | 'fb.publish_post';
