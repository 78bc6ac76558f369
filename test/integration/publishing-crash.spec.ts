import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkPlan } from '../../src/platforms/tiktok/tiktok-publisher.ts';
import type { MetaPublishingCall } from '../fakes/meta/meta-publishing-fake.ts';
import type { Hold, ProxiedRequest } from '../helpers/holding-proxy.ts';
import { getPublication, publish } from '../helpers/publishing-app.ts';
import { type CrashApp, startCrashApp } from '../helpers/publishing-crash-app.ts';
import { bearer } from '../helpers/test-app.ts';

/**
 * `layers worker` OS processes publishing to every platform (the real publishers, the vendors' fakes)
 * are killed with SIGKILL at every state of a publication: before each vendor call is sent (the
 * previous step stored) and after each call took effect at the vendor but before its answer reached
 * the worker (so the checkpoint never learns it). A proxy on 127.0.0.1 in front of the fakes holds the
 * chosen request or its answer. Four publications (TikTok, Instagram, Facebook, YouTube) each walk
 * their own list of crash points in the same worker runs, one point per run (a held publication
 * holds one of the worker's four job slots: four lanes at most); each restart resumes from the
 * stored checkpoint. At the end every fake has exactly one post per publication.
 */
type Point = { label: string; hold: Hold; prepare?: () => void };
type Item = { create: () => Promise<string>; points: Point[] };
type Lane = { name: string; items: Item[] };

const YOUTUBE_CHUNK = 8 * 1024 * 1024;
const KIB256 = 256 * 1024;

describe('publications survive kill -9 of the worker at every state, on every platform', () => {
  let c: CrashApp;
  let media: { video: string; image: string; large: string; largeBytes: number; largeSha: string };
  const accounts = { tiktok: '', instagram: '', facebook: '', youtube: '' };
  const IG_USER = '17841400000009001';
  const PAGE = '9002';
  const CHANNEL = 'UCcrash00001';
  const OPEN_ID = 'open_crash_tiktok';

  beforeAll(async () => {
    c = await startCrashApp();
    c.base.meta.control.pagesByUser.set('fb_crash_ig', [
      { id: '9001', name: 'Crash IG Page', ig: { id: IG_USER, username: 'crash_ig' } },
    ]);
    c.base.meta.control.pagesByUser.set('fb_crash_fb', [{ id: PAGE, name: 'Crash Page' }]);
    const [generated, tiktok, instagram, facebook, youtube] = await Promise.all([
      c.generate(),
      c.connect('tiktok', OPEN_ID),
      c.connect('instagram', 'fb_crash_ig'),
      c.connect('facebook', 'fb_crash_fb'),
      c.connect('youtube', CHANNEL),
    ]);
    Object.assign(accounts, { tiktok, instagram, facebook, youtube });
    const large = await c.largeVideo(generated.generationId, 21);
    const { rows } = await c.a.t.db.systemPool.query('SELECT bytes, sha256 FROM media_assets WHERE id = $1', [
      large,
    ]);
    media = { ...generated, large, largeBytes: Number(rows[0].bytes), largeSha: rows[0].sha256 };
    // Several TikTok chunks (10 MB each) and three YouTube chunks (8 MiB) with an interrupted one.
    expect(chunkPlan(media.largeBytes).chunkCount).toBe(2);
    expect(media.largeBytes).toBeGreaterThan(2 * YOUTUBE_CHUNK + 3 * KIB256);
    // Polling the platforms do: TikTok processes, the Instagram container and the Facebook video take a poll.
    c.fakes.tiktok.control.processingPolls = 2;
    // A chunk sent again after its answer was lost is refused (416), as any chunk out of order: the
    // worker must ask TikTok where the upload stands rather than rely on a repeat being answered.
    c.fakes.tiktok.control.repeatedChunk = 'refused';
    c.fakes.meta.control.inProgressPolls = 1;
    c.fakes.meta.control.videoProcessingPolls = 1;
  }, 180_000);
  afterAll(async () => {
    await c?.close();
  });

  const created = async (accountId: string, body: object) => {
    const res = await publish(c.a, accountId, body);
    if (res.statusCode !== 202) throw new Error(`publication: ${res.statusCode} ${res.body}`);
    return res.json().id as string;
  };
  const at = (label: string, when: Hold['when'], match: (r: ProxiedRequest) => boolean): Point => ({
    label: `${when} ${label}`,
    hold: { label, when, match },
  });
  const both = (label: string, match: (r: ProxiedRequest) => boolean) => [
    at(label, 'before', match),
    at(label, 'after', match),
  ];
  const range = (r: ProxiedRequest) => String(r.headers['content-range'] ?? '');

  // TikTok: creator_info, init, two chunk PUTs, status polls.
  const tiktokApi = (path: string) => (r: ProxiedRequest) =>
    r.method === 'POST' && r.path === `/v2/post/publish/${path}/`;
  const tiktokChunk = (first: number) => (r: ProxiedRequest) =>
    r.method === 'PUT' && r.path === '/video/' && range(r).startsWith(`bytes ${first}-`);
  // Meta: which call, for which account (the fake knows its containers, media and Page objects).
  const meta = (account: string, call: MetaPublishingCall) => (r: ProxiedRequest) => {
    const what = c.fakes.meta.callOf(r.method, r.path);
    return what?.account === account && what.call === call;
  };
  // YouTube: the session POST, the chunk PUTs (by their first byte) and the status query.
  const ytSession = (r: ProxiedRequest) => r.method === 'POST' && r.path === '/upload/youtube/v3/videos';
  const ytChunk = (first: number) => (r: ProxiedRequest) =>
    r.method === 'PUT' && r.path === '/upload/youtube/v3/videos' && range(r).startsWith(`bytes ${first}-`);
  const ytQuery = (r: ProxiedRequest) => r.method === 'PUT' && range(r).startsWith('bytes */');

  const lanes = (): Lane[] => {
    const secondChunk = chunkPlan(media.largeBytes).chunkSize;
    const interruptedAt = YOUTUBE_CHUNK + 3 * KIB256;
    return [
      {
        name: 'tiktok',
        items: [
          {
            create: () =>
              created(accounts.tiktok, {
                media_id: media.large,
                caption: 'Crash-proof #coldbrew',
                privacy: 'PUBLIC_TO_EVERYONE',
              }),
            points: [
              ...both('creator_info', tiktokApi('creator_info/query')),
              // After: a publish TikTok initialised whose id never reached the worker (abandoned).
              ...both('video/init', tiktokApi('video/init')),
              // Between the chunks: the first taken at TikTok, its 206 lost; the restart's repeat is
              // refused, TikTok is asked, and the upload goes on with the second chunk.
              ...both('chunk 1 of 2', tiktokChunk(0)),
              // After the last chunk TikTok publishes; the restart asks TikTok and only polls.
              ...both('chunk 2 of 2', tiktokChunk(secondChunk)),
              ...both('status/fetch', tiktokApi('status/fetch')),
              {
                // Now TikTok answers the repeated last chunk again (201): the restart goes straight
                // to polling, and the kill comes while the publication is processing.
                ...at('status/fetch while processing', 'after', tiktokApi('status/fetch')),
                prepare: () => {
                  c.fakes.tiktok.control.repeatedChunk = 'answered';
                },
              },
            ],
          },
        ],
      },
      {
        name: 'instagram',
        items: [
          {
            create: () => created(accounts.instagram, { media_id: media.video, caption: 'Crash-proof Reel' }),
            points: [
              // After: a container whose id never reached the worker (never published, it expires).
              ...both('container', meta(IG_USER, 'ig.create')),
              ...both('status_code IN_PROGRESS', meta(IG_USER, 'ig.status')),
              at('status_code FINISHED', 'after', meta(IG_USER, 'ig.status')),
              // The step that is about to publish (the checkpoint says so) reads the quota first.
              at('content_publishing_limit before media_publish', 'before', meta(IG_USER, 'ig.limit')),
              // After: Instagram posted it, the media id never reached the worker.
              ...both('media_publish', meta(IG_USER, 'ig.publish')),
              ...both('the media look-up', meta(IG_USER, 'ig.lookup')),
              ...both('the permalink', meta(IG_USER, 'ig.permalink')),
            ],
          },
        ],
      },
      {
        name: 'facebook',
        items: [
          {
            create: () =>
              created(accounts.facebook, { media_id: media.video, caption: 'Crash-proof Page video' }),
            points: [
              // After: an unpublished video nobody sees, whose id never reached the worker.
              ...both('POST /videos', meta(PAGE, 'fb.create_video')),
              ...both('video status', meta(PAGE, 'fb.video')),
              ...both('published=true', meta(PAGE, 'fb.publish_video')),
            ],
          },
          {
            create: () =>
              created(accounts.facebook, { media_id: media.image, caption: 'Crash-proof Page photo' }),
            points: [
              ...both('POST /photos', meta(PAGE, 'fb.create_photo')),
              at('the Page post', 'before', meta(PAGE, 'fb.post')),
              ...both('is_published=true', meta(PAGE, 'fb.publish_post')),
              // The post is public at Facebook; the answer that says so never reached the worker.
              at('the Page post, published', 'after', meta(PAGE, 'fb.post')),
            ],
          },
        ],
      },
      {
        name: 'youtube',
        items: [
          {
            create: () =>
              created(accounts.youtube, {
                media_id: media.large,
                caption: 'Crash-proof video',
                privacy: 'unlisted',
              }),
            points: [
              // After: a session whose URI never reached the worker (an incomplete session makes no video).
              ...both('the upload session', ytSession),
              at('chunk 1', 'before', ytChunk(0)),
              // Google stored chunk 1, the 308 was lost: the restart asks and resumes from its Range.
              at('chunk 1', 'after', ytChunk(0)),
              at('chunk 2 (resumed from the Range)', 'before', ytChunk(YOUTUBE_CHUNK)),
              {
                // The connection broke mid-chunk: Google kept part of it, then the worker died.
                ...at('chunk 2, interrupted', 'after', ytChunk(YOUTUBE_CHUNK)),
                prepare: () => {
                  c.fakes.youtube.control.interruptChunk = { keepBytes: 3 * KIB256 };
                },
              },
              // The next chunk starts where Google's Range says, not at a chunk boundary.
              at('chunk 3 (from the interrupted Range)', 'before', ytChunk(interruptedAt)),
              // The last chunk: Google made the video, its 200 never reached the worker.
              at('the final chunk', 'after', ytChunk(interruptedAt + YOUTUBE_CHUNK)),
              at('the status query answering the video', 'after', ytQuery),
            ],
          },
        ],
      },
    ];
  };

  async function until(what: string, cond: () => boolean | Promise<boolean>, tick?: () => Promise<void>) {
    const deadline = Date.now() + 30_000;
    let lastTick = 0;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; worker: ${c.workerLog()}`);
      if (tick && Date.now() - lastTick > 200) {
        lastTick = Date.now();
        await tick();
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('a kill before and after every call of every platform leaves exactly one post per publication', async () => {
    const plan = lanes();
    const state = plan.map(() => ({ item: 0, point: 0, ids: [] as string[] }));
    const statuses = new Map<string, Set<string>>(plan.map((l) => [l.name, new Set<string>()]));
    const kills: string[] = [];
    const ids = () => state.flatMap((s) => s.ids);
    const stored = async (id: string) =>
      (await c.a.t.db.systemPool.query('SELECT status FROM publications WHERE id = $1', [id])).rows[0].status;

    for (;;) {
      const armed: { lane: Lane; id: string; point: Point }[] = [];
      for (const [i, lane] of plan.entries()) {
        const s = state[i] as (typeof state)[number];
        while (s.item < lane.items.length && s.point >= (lane.items[s.item] as Item).points.length) {
          s.item++;
          s.point = 0;
        }
        const item = lane.items[s.item];
        if (!item) {
          c.proxy.arm(lane.name, null);
          continue;
        }
        if (s.ids.length <= s.item) s.ids.push(await item.create());
        const point = item.points[s.point] as Point;
        point.prepare?.();
        c.proxy.arm(lane.name, point.hold);
        armed.push({ lane, id: s.ids[s.item] as string, point });
      }
      if (armed.length === 0) break;
      c.startWorker();
      const what = armed.map((x) => `${x.lane.name}: ${x.point.label}`).join('; ');
      await until(
        what,
        () => armed.every((x) => c.proxy.held(x.lane.name)),
        () => c.hurry(ids()),
      );
      for (const x of armed) statuses.get(x.lane.name)?.add(await stored(x.id));
      await c.stopWorker('SIGKILL');
      c.proxy.release();
      for (const x of armed) {
        kills.push(`${x.lane.name}: ${x.point.label}`);
        expect((await getPublication(c.a, x.id)).status, x.point.label).not.toMatch(/published|failed/);
      }
      for (const [i, lane] of plan.entries())
        if (armed.some((x) => x.lane === lane)) (state[i] as { point: number }).point++;
    }
    expect(kills).toHaveLength(plan.flatMap((l) => l.items.flatMap((i) => i.points)).length);
    expect(kills.length).toBeGreaterThanOrEqual(44);
    // The kills saw each publication queued (nothing stored), uploading and processing.
    expect([...(statuses.get('tiktok') ?? [])].sort()).toEqual(['processing', 'queued', 'uploading']);
    expect([...(statuses.get('instagram') ?? [])].sort()).toEqual(['processing', 'queued', 'uploading']);
    expect([...(statuses.get('facebook') ?? [])].sort()).toEqual(['processing', 'queued', 'uploading']);
    expect([...(statuses.get('youtube') ?? [])].sort()).toEqual(['queued', 'uploading']);

    // Restarted with nothing held: every publication settles, published.
    c.startWorker();
    await until(
      'every publication published',
      async () => {
        for (const id of ids()) if ((await getPublication(c.a, id)).status !== 'published') return false;
        return true;
      },
      () => c.hurry(ids()),
    );
    await c.stopWorker('SIGTERM');

    const [tiktokId, instagramId, fbVideoId, fbPhotoId, youtubeId] = ids() as [
      string,
      string,
      string,
      string,
      string,
    ];
    const done = async (id: string) => getPublication(c.a, id);

    // TikTok: one post, the whole video, from the second publish (the first, initialised before a kill, abandoned).
    const tiktokPosts = c.fakes.tiktok.postsOf(OPEN_ID);
    expect(tiktokPosts).toHaveLength(1);
    expect(tiktokPosts[0]).toMatchObject({ bytes: media.largeBytes, sha256: media.largeSha });
    // The upload resumed after every kill between chunks: the only unfinished publish is the abandoned one.
    expect(c.fakes.tiktok.unfinished()).toBe(1);
    expect((await done(tiktokId)).platform_post_id).toBe(tiktokPosts[0]?.postId);

    // Instagram: one media, from one of two containers (the first, created before a kill, never published).
    const igPosts = c.fakes.meta.postsOf(IG_USER);
    expect(igPosts).toHaveLength(1);
    expect([...c.fakes.meta.containers.values()].filter((x) => x.igId === IG_USER)).toHaveLength(2);
    expect((await done(instagramId)).platform_post_id).toBe(igPosts[0]?.id);

    // Facebook: one video post and one photo post (each created twice unpublished, published once).
    const fbPosts = c.fakes.meta.postsOf(PAGE);
    expect(fbPosts.map((p) => p.caption).sort()).toEqual([
      'Crash-proof Page photo',
      'Crash-proof Page video',
    ]);
    expect((await done(fbVideoId)).platform_post_id).toBe(
      fbPosts.find((p) => p.caption.endsWith('video'))?.id,
    );
    expect((await done(fbPhotoId)).platform_post_id).toBe(
      fbPosts.find((p) => p.caption.endsWith('photo'))?.id,
    );

    // YouTube: one video with every byte, from one of two sessions, and no protocol violation.
    const videos = c.fakes.youtube.videosOf(CHANNEL);
    expect(videos).toHaveLength(1);
    expect(videos[0]).toMatchObject({
      bytes: media.largeBytes,
      sha256: media.largeSha,
      privacyStatus: 'unlisted',
    });
    expect(c.fakes.youtube.sessions.size).toBe(2);
    expect(c.fakes.youtube.violations).toEqual([]);
    expect((await done(youtubeId)).platform_post_id).toBe(videos[0]?.id);

    // Each publication is in its account's posts and has exactly one publication.published event.
    for (const [accountId, id] of [
      [accounts.tiktok, tiktokId],
      [accounts.instagram, instagramId],
      [accounts.facebook, fbVideoId],
      [accounts.facebook, fbPhotoId],
      [accounts.youtube, youtubeId],
    ] as const) {
      const posts = await c.a.t.app.inject({
        method: 'GET',
        url: `/v1/social-accounts/${accountId}/posts`,
        headers: bearer(c.a.org.secret),
      });
      expect(posts.json().data.map((p: { platform_post_id: string }) => p.platform_post_id)).toContain(
        (await done(id)).platform_post_id,
      );
      const { rows } = await c.a.t.db.systemPool.query(
        `SELECT type FROM webhook_events WHERE org_id = $1 AND data->>'id' = $2`,
        [c.a.org.id, id],
      );
      expect(rows.map((r) => r.type)).toEqual(['publication.published']);
    }
  }, 600_000);
});
