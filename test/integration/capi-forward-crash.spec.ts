import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetaFake, startMetaCapiFake } from '../fakes/meta-capi/meta-capi-fake.ts';
import { databaseUrl, MAIN, REPO_ROOT } from '../helpers/cli.ts';
import { sendEvents, trackEvent } from '../helpers/sdk-events.ts';
import { exitOf } from '../helpers/server-process.ts';
import {
  bearer,
  createSdkProject,
  createTestApp,
  type SdkProject,
  type TestApp,
} from '../helpers/test-app.ts';

/**
 * Events are ingested (batches of 100) while a `layers worker` process forwarding them to Meta is
 * killed with SIGKILL at 10 moments and restarted. Every queued event must reach the platform at
 * least once, always with its own event_id (a repeat after a kill carries the same id, which Meta
 * deduplicates on), and the queue must end empty.
 */
describe('Conversions API forwarding survives kill -9 of the worker', () => {
  const TOKEN = 'EAA-crash-test-token';
  let t: TestApp;
  let meta: MetaFake;
  let p: SdkProject;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    // Slow enough that a kill lands while a batch is at the platform.
    meta = await startMetaCapiFake({ token: TOKEN, delayMs: () => 20 + Math.floor(Math.random() * 60) });
    t = await createTestApp({ env: { LAYERS_EGRESS_REDIRECT: `graph.facebook.com=${meta.url}` } });
    p = await createSdkProject(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/projects/${p.projectId}/destinations`,
      headers: bearer(p.org.secret),
      payload: {
        type: 'meta_capi',
        pixel_id: '987',
        access_token: TOKEN,
        event_map: { purchase: 'Purchase' },
        enabled: true,
      },
    });
    expect(res.statusCode).toBe(201);
  }, 60_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGKILL');
      await exitOf(worker);
    }
    await t.close();
    await meta.close();
  });

  it('every queued event reaches the platform at least once, with the same event_id', async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
      LAYERS_EGRESS_REDIRECT: `graph.facebook.com=${meta.url}`,
      LAYERS_JOB_WATCHDOG_MS: '1000',
      LOG_LEVEL: 'warn',
    };
    const start = () => spawn(process.execPath, [MAIN, 'worker'], { cwd: REPO_ROOT, env, stdio: 'ignore' });
    const sent: string[] = [];
    const event = () =>
      trackEvent(
        'u_crash',
        'purchase',
        { value: 1 },
        {
          event_id: randomUUID(),
          context: {
            device: { idfa: randomUUID(), ad_tracking_enabled: true },
            os: { name: 'iOS', version: '18.1' },
          },
        },
      );
    // The load: batches of 100 ingested all the while workers come and go.
    let stop = false;
    const ingest = (async () => {
      while (!stop) {
        const batch = Array.from({ length: 100 }, event);
        const res = await sendEvents(t.app, p.publishableKey, batch);
        expect(res.accepted).toBe(100);
        sent.push(...batch.map((e) => e.event_id as string));
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const received = () => new Set(meta.events.map((e) => e.event.event_id as string));

    let killedInFlight = 0;
    for (let kill = 0; kill < 10; kill++) {
      worker = start();
      // Kill it at a random moment while it has a batch at the platform (the fake holds each answer).
      const seen = meta.requests();
      const deadline = Date.now() + 30_000;
      while (meta.requests() === seen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, Math.random() * 200));
      while (meta.inFlight() === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      if (meta.inFlight() > 0) killedInFlight++;
      worker.kill('SIGKILL');
      await exitOf(worker);
    }
    stop = true;
    await ingest;
    expect(killedInFlight).toBe(10);

    // The last worker sends the rest, including the batches the killed ones had not settled (their
    // destination lock died with their connection).
    const queued = async () =>
      (await t.db.systemPool.query(`SELECT count(*)::int AS n FROM capi_forward_queue`)).rows[0].n as number;
    // The last kill left the batch it had at the platform unsettled: still queued, to be sent again.
    expect(await queued()).toBeGreaterThan(0);
    worker = start();
    const deadline = Date.now() + 120_000;
    while ((received().size < sent.length || (await queued()) > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    worker.kill('SIGTERM');
    await exitOf(worker);

    const got = received();
    expect(sent.filter((id) => !got.has(id))).toEqual([]);
    // Nothing arrives that was not sent: a repeat is the same event under the same id.
    const sentIds = new Set(sent);
    expect(meta.events.filter((e) => !sentIds.has(e.event.event_id as string))).toEqual([]);
    expect(await queued()).toBe(0);
    expect(meta.refused).toEqual([]);
    console.info(`capi crash test: ${meta.events.length - got.size} repeated events (same event_id)`);
  }, 240_000);
});
