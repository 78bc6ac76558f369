import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TikTokAdKind } from '../fakes/tiktok/tiktok-ads-fake.ts';
import { createDeployment, generateVideo, getDeployment } from '../helpers/ads-app.ts';
import { startTikTokAdsApp, type TikTokAdsApp, tiktokDeploymentBody } from '../helpers/ads-tiktok-app.ts';
import { adsWorkerProcesses, until } from '../helpers/ads-worker-process.ts';
import { closeSocialApp } from '../helpers/social-app.ts';

/**
 * A `layers worker` OS process deploying a TikTok ad is killed with SIGKILL at every state: while
 * each create call is at TikTok (the fake holds its answer after the object exists, so the
 * checkpoint never learns its id) and while the video is processing. Each restart resumes from the
 * stored checkpoint; at the end there is exactly one video, identity, campaign, ad group and ad.
 */
describe('TikTok ad deployments survive kill -9 of the worker', () => {
  let a: TikTokAdsApp;
  let mediaId: string;
  const workers = adsWorkerProcesses(() => a);

  beforeAll(async () => {
    a = await startTikTokAdsApp({ LAYERS_JOB_WATCHDOG_MS: '1000' });
    mediaId = await generateVideo(a);
  }, 120_000);
  afterAll(async () => {
    await workers.close();
    await closeSocialApp(a.t, a.fake);
  });

  it('a kill at every state leaves exactly one of each object, all disabled', async () => {
    const res = await createDeployment(a, tiktokDeploymentBody(a, mediaId));
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const NAME = {
      video: 'video',
      image: 'creative',
      campaign: 'campaign',
      ad_group: 'ad_set',
      ad: 'ad',
    } as const;
    const mine = (kind: TikTokAdKind) =>
      a.fake
        .ofKind(kind)
        .filter((o) =>
          kind === 'identity' ? o.name === 'acme_brand' : o.name === `layers ${id} ${NAME[kind]}`,
        );
    const stored = async () =>
      (await a.t.db.systemPool.query(`SELECT checkpoint FROM ad_deployments WHERE id = $1`, [id])).rows[0]
        .checkpoint;
    const KEY = {
      video: 'video_id',
      image: 'creative_id',
      identity: 'identity_id',
      campaign: 'campaign_id',
      ad_group: 'ad_set_id',
      ad: 'ad_id',
    } as const;

    const kills: string[] = [];
    for (const kind of ['video', 'image', 'identity', 'campaign', 'ad_group', 'ad'] as const) {
      a.fake.control.holdMs.set(kind, 3_000);
      workers.start();
      // The object exists at TikTok and its answer is held: the worker has not stored its id.
      await until(`${kind} created`, () => mine(kind).length > 0);
      expect((await stored())[KEY[kind]]).toBeUndefined();
      await workers.stop('SIGKILL');
      a.fake.control.holdMs.delete(kind);
      kills.push(kind);
      if (kind === 'video') {
        // And once more while the video is processing (its id stored, no cover yet).
        workers.start();
        await until('video id stored', async () => (await stored()).video_id !== undefined);
        await workers.stop('SIGKILL');
        kills.push('video processing');
      }
    }
    expect(kills).toHaveLength(7);
    workers.start();
    await until('created', async () => (await getDeployment(a, id)).status === 'created');
    await workers.stop('SIGTERM');

    const done = await getDeployment(a, id);
    for (const kind of ['video', 'identity', 'campaign', 'ad_group', 'ad'] as const) {
      expect(mine(kind), kind).toHaveLength(1);
      expect(done.platform_ids[KEY[kind]] ?? (await stored())[KEY[kind]], kind).toBe(mine(kind)[0]?.id);
    }
    // The cover has no look-up at TikTok (library images are not searchable by name): the one the
    // killed upload made stays unused in the library, the ad uses the one stored.
    expect(mine('image')).toHaveLength(2);
    expect(mine('ad')[0]?.fields.image_ids).toEqual([done.platform_ids.creative_id]);
    for (const kind of ['campaign', 'ad_group', 'ad'] as const) expect(mine(kind)[0]?.status).toBe('DISABLE');
    expect(a.fake.control.refused).toEqual([]);
  }, 300_000);
});
