import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdObject } from '../fakes/meta/meta-ads-fake.ts';
import {
  type AdsApp,
  createDeployment,
  deploymentBody,
  generateVideo,
  getDeployment,
  startAdsApp,
} from '../helpers/ads-app.ts';
import { adsWorkerProcesses, until } from '../helpers/ads-worker-process.ts';
import { closeSocialApp } from '../helpers/social-app.ts';

/**
 * A `layers worker` OS process deploying an ad is killed with SIGKILL at every state: while each
 * object's create call is at the platform (the fake holds its answer after the object exists, so
 * the checkpoint never learns its id), and while the video is processing. Each restart resumes from
 * the stored checkpoint; at the end there is exactly one video, campaign, ad set, creative and ad.
 */
describe('ad deployments survive kill -9 of the worker', () => {
  let a: AdsApp;
  let mediaId: string;
  const workers = adsWorkerProcesses(() => a);

  beforeAll(async () => {
    a = await startAdsApp({ LAYERS_JOB_WATCHDOG_MS: '1000' });
    mediaId = await generateVideo(a);
  }, 120_000);
  afterAll(async () => {
    await workers.close();
    await closeSocialApp(a.t, a.fake);
  });

  it('a kill at every state leaves exactly one of each object, all paused', async () => {
    const res = await createDeployment(a, deploymentBody(a, mediaId));
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;
    const mine = (kind: AdObject['kind']) =>
      [...a.ads.objects.values(), ...a.ads.deleted].filter(
        (o) => o.kind === kind && o.name === `layers ${id} ${kind}`,
      );
    const stored = async () =>
      (await a.t.db.systemPool.query(`SELECT checkpoint FROM ad_deployments WHERE id = $1`, [id])).rows[0]
        .checkpoint;

    const kills: string[] = [];
    for (const kind of ['video', 'campaign', 'ad_set', 'creative', 'ad'] as const) {
      a.ads.control.holdMs.set(kind, 3_000);
      workers.start();
      // The object exists at the platform and its answer is held: the worker has not stored its id.
      await until(`${kind} created`, () => mine(kind).length > 0);
      expect((await stored())[`${kind}_id`]).toBeUndefined();
      await workers.stop('SIGKILL');
      a.ads.control.holdMs.delete(kind);
      kills.push(kind);
      if (kind === 'video') {
        // And once more while the video is processing (its id stored, not ready yet).
        workers.start();
        await until('video id stored', async () => (await stored()).video_id !== undefined);
        await workers.stop('SIGKILL');
        kills.push('video processing');
      }
    }
    expect(kills).toHaveLength(6);
    // The last worker finishes (the ad's create was killed too: it is found by name, not made again).
    workers.start();
    await until('created', async () => (await getDeployment(a, id)).status === 'created');
    await workers.stop('SIGTERM');

    const done = await getDeployment(a, id);
    for (const kind of ['video', 'campaign', 'ad_set', 'creative', 'ad'] as const) {
      expect(mine(kind), kind).toHaveLength(1);
      expect(done.platform_ids[`${kind}_id`], kind).toBe(mine(kind)[0]?.id);
    }
    for (const kind of ['campaign', 'ad_set', 'ad'] as const)
      expect(mine(kind)[0]?.fields.status).toBe('PAUSED');
    expect(a.ads.control.refused).toEqual([]);
  }, 240_000);
});
