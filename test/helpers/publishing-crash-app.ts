import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { withTenant } from '../../src/db/tenant-transaction.ts';
import { enqueueJob } from '../../src/jobs/job-queue.ts';
import { PUBLISHING_TASK, publishingJobKey } from '../../src/modules/publishing/publishing-service.ts';
import { startGoogleFake } from '../fakes/google/google-fake.ts';
import { addYouTubeUploads } from '../fakes/google/youtube-upload-fake.ts';
import { startMetaFake } from '../fakes/meta/meta-fake.ts';
import { useMetaPublishing } from '../fakes/meta/meta-publishing-fake.ts';
import { startTikTokFake } from '../fakes/tiktok/tiktok-fake.ts';
import { useTikTokPublishing } from '../fakes/tiktok/tiktok-publishing-fake.ts';
import { databaseUrl, MAIN, REPO_ROOT } from './cli.ts';
import { mediaDir } from './generation-helpers.ts';
import { startHoldingProxy } from './holding-proxy.ts';
import { freePort } from './meta-publishing.ts';
import type { PublishingApp } from './publishing-app.ts';
import { exitOf } from './server-process.ts';
import { followCallback, startConnect } from './social-accounts.ts';
import { bearer, createOrg, createProject, createTestApp } from './test-app.ts';

const run = promisify(execFile);
const TIKTOK = { clientKey: 'tt_crash_key', clientSecret: 'tt_crash_secret_canary' };
const META = { appId: 'meta_crash_app', appSecret: 'meta_crash_secret_canary' };
const GOOGLE = { clientId: 'crash.apps.googleusercontent.com', clientSecret: 'google_crash_secret_canary' };

/**
 * One app for the publication crash tests: the API in this process (listening on 127.0.0.1, so Meta's
 * fake fetches the signed media URLs from it) against the TikTok, Meta and Google fakes with their
 * publishing extensions, every vendor host redirected through one holding proxy; and `layers worker`
 * OS processes for the same database, started and killed with SIGKILL by the test.
 */
export async function startCrashApp() {
  const proxy = startHoldingProxy();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const callback = (p: string) => `${base}/v1/oauth/callback/${p}`;
  const [tiktok, meta, google] = await Promise.all([
    startTikTokFake({ ...TIKTOK, redirectUris: [callback('tiktok')] }),
    startMetaFake({ ...META, redirectUris: [callback('instagram'), callback('facebook')] }),
    startGoogleFake({ ...GOOGLE, redirectUris: [callback('youtube')] }),
  ]);
  const fakes = {
    tiktok: useTikTokPublishing(tiktok),
    meta: useMetaPublishing(meta),
    youtube: addYouTubeUploads(google),
  };
  const [tiktokFront, metaFront, googleFront] = await Promise.all([
    proxy.front(tiktok.url),
    proxy.front(meta.url),
    proxy.front(google.url),
  ]);
  const redirects: Record<string, string> = {
    'open.tiktokapis.com': tiktokFront,
    'open-upload.tiktokapis.com': tiktokFront,
    'graph.facebook.com': metaFront,
    'oauth2.googleapis.com': googleFront,
    'www.googleapis.com': googleFront,
  };
  const env: Record<string, string> = {
    TIKTOK_CLIENT_KEY: TIKTOK.clientKey,
    TIKTOK_CLIENT_SECRET: TIKTOK.clientSecret,
    META_APP_ID: META.appId,
    META_APP_SECRET: META.appSecret,
    GOOGLE_CLIENT_ID: GOOGLE.clientId,
    GOOGLE_CLIENT_SECRET: GOOGLE.clientSecret,
    LAYERS_PUBLIC_URL: base,
    LAYERS_MEDIA_DIR: mediaDir(),
    LAYERS_VIDEO_DURATION_MS: '6000',
    // A killed worker's lease runs out within a second: the next worker resumes at once.
    LAYERS_JOB_WATCHDOG_MS: '1000',
    LAYERS_EGRESS_REDIRECT: Object.entries(redirects)
      .map(([h, u]) => `${h}=${u}`)
      .join(','),
  };
  const t = await createTestApp({ env });
  await t.app.listen({ port, host: '127.0.0.1' });
  const org = await createOrg(t.app);
  const projectId = (await createProject(t.app, org)).id;
  // The publishing helpers (publish, getPublication) read t, org and projectId only.
  const a = { t, org, projectId, env } as unknown as PublishingApp;

  async function connect(platform: 'tiktok' | 'instagram' | 'facebook' | 'youtube', user: string) {
    const fake = platform === 'tiktok' ? tiktok : platform === 'youtube' ? google : meta;
    const back = await followCallback(
      t,
      fake.authorize(await startConnect(t, org, projectId, platform), user),
    );
    for (const id of back.location?.searchParams.get('social_account_ids')?.split(',') ?? []) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/v1/social-accounts/${id}`,
        headers: bearer(org.secret),
      });
      if (res.json().platform === platform) return id;
    }
    throw new Error(`connect ${platform} failed: ${back.status} ${back.body}`);
  }

  /** A generation with a video and an image (the default provider's real files). */
  async function generate(): Promise<{ generationId: string; video: string; image: string }> {
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/projects/${projectId}/generations`,
      headers: bearer(org.secret),
      payload: { brief: { product: 'Acme Cold Brew', tone: 'bold' }, outputs: ['copy', 'video', 'image'] },
    });
    if (res.statusCode !== 202) throw new Error(`generation: ${res.statusCode} ${res.body}`);
    const generationId = res.json().id as string;
    await t.container.generations.run(org.id, generationId, 1);
    const { rows } = await t.db.systemPool.query(
      'SELECT id, kind FROM media_assets WHERE generation_id = $1',
      [generationId],
    );
    const of = (kind: string) => rows.find((r) => r.kind === kind)?.id as string;
    if (!of('video') || !of('image')) throw new Error('the generation made no video or image');
    return { generationId, video: of('video'), image: of('image') };
  }

  /**
   * A real MP4 of about `megabytes` (ffmpeg, noise at a fixed bitrate) stored as a media of the
   * generation: big enough for several TikTok chunks and YouTube chunks.
   */
  async function largeVideo(generationId: string, megabytes: number): Promise<string> {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'layers-crash-')), 'large.mp4');
    const seconds = 4;
    const bitrate = Math.ceil((megabytes * 8 * 1024) / seconds);
    await run('ffmpeg', [
      ...['-loglevel', 'error', '-f', 'lavfi', '-i', 'nullsrc=s=640x360:r=25,geq=random(1)*255:128:128'],
      ...['-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast'],
      ...[
        '-b:v',
        `${bitrate}k`,
        '-minrate',
        `${bitrate}k`,
        '-maxrate',
        `${bitrate}k`,
        '-bufsize',
        `${bitrate}k`,
      ],
      ...['-pix_fmt', 'yuv420p', '-movflags', '+faststart', file],
    ]);
    const media = {
      kind: 'video' as const,
      contentType: 'video/mp4',
      width: 640,
      height: 360,
      durationMs: 4000,
      file,
    };
    const stored = await t.container.media.upload(org.id, projectId, media);
    const row = await withTenant(t.container.dbs.system, org.id, (tx) =>
      t.container.media.insert(tx, {
        orgId: org.id,
        projectId,
        generationId,
        media,
        ...stored,
        now: new Date(),
      }),
    );
    return row.id;
  }

  let worker: ChildProcess | undefined;
  /** The end of the last worker's stderr (warnings and errors only), for a failing test's message. */
  let stderr = '';
  const startWorker = () => {
    stderr = '';
    worker = spawn(process.execPath, [MAIN, 'worker'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: databaseUrl(t.db.superuser),
        LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    worker.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    });
    return worker;
  };
  async function stopWorker(signal: 'SIGKILL' | 'SIGTERM') {
    const w = worker;
    if (!w || w.exitCode !== null || w.signalCode !== null) return;
    w.kill(signal);
    await exitOf(w);
  }

  /**
   * A publication waiting out a platform's poll interval (no runner holds it, its next step later)
   * runs now: the crash tests are about where a worker dies, not about the platforms' waits.
   */
  async function hurry(ids: string[]): Promise<void> {
    await t.container.dbs.system.transaction().execute(async (tx) => {
      const { rows } = await sql<{ id: string }>`
        UPDATE publications SET next_step_at = NULL
         WHERE id = ANY(${ids}) AND lease_id IS NULL AND next_step_at > now() RETURNING id`.execute(tx);
      for (const r of rows)
        await enqueueJob(
          tx,
          PUBLISHING_TASK,
          { org_id: org.id, publication_id: r.id },
          { jobKey: publishingJobKey(r.id), runAt: new Date() },
        );
    });
  }

  return {
    a,
    proxy,
    fakes,
    base: { tiktok, meta, google },
    connect,
    generate,
    largeVideo,
    startWorker,
    stopWorker,
    hurry,
    workerLog: () => stderr,
    async close() {
      await stopWorker('SIGKILL');
      await proxy.close();
      await t.close();
      await Promise.all([tiktok.close(), meta.close(), google.close()]);
    },
  };
}

export type CrashApp = Awaited<ReturnType<typeof startCrashApp>>;
