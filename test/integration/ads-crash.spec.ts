import { type ChildProcess, spawn } from 'node:child_process';
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
import { databaseUrl, MAIN, REPO_ROOT } from '../helpers/cli.ts';
import { exitOf } from '../helpers/server-process.ts';
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
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    a = await startAdsApp({ LAYERS_JOB_WATCHDOG_MS: '1000' });
    mediaId = await generateVideo(a);
  }, 120_000);
  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGKILL');
      await exitOf(worker);
    }
    await closeSocialApp(a.t, a.fake);
  });

  const start = () =>
    spawn(process.execPath, [MAIN, 'worker'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: databaseUrl(a.t.db.superuser),
        LAYERS_ENCRYPTION_KEY: a.t.config.encryptionKey as string,
        LAYERS_PUBLIC_URL: a.t.config.publicUrl,
        LOG_LEVEL: 'warn',
        ...a.env,
      },
      stdio: 'ignore',
    });

  async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000) {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

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
      worker = start();
      // The object exists at the platform and its answer is held: the worker has not stored its id.
      await until(`${kind} created`, () => mine(kind).length > 0);
      expect((await stored())[`${kind}_id`]).toBeUndefined();
      worker.kill('SIGKILL');
      await exitOf(worker);
      a.ads.control.holdMs.delete(kind);
      kills.push(kind);
      if (kind === 'video') {
        // And once more while the video is processing (its id stored, not ready yet).
        worker = start();
        await until('video id stored', async () => (await stored()).video_id !== undefined);
        worker.kill('SIGKILL');
        await exitOf(worker);
        kills.push('video processing');
      }
    }
    expect(kills).toHaveLength(6);
    // The last worker finishes (the ad's create was killed too: it is found by name, not made again).
    worker = start();
    await until('created', async () => (await getDeployment(a, id)).status === 'created');
    worker.kill('SIGTERM');
    await exitOf(worker);

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
