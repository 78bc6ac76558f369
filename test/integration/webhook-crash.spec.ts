import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/tenant-transaction.ts';
import { databaseUrl, MAIN, REPO_ROOT } from '../helpers/cli.ts';
import { exitOf } from '../helpers/server-process.ts';
import { bearer, createOrg, createTestApp, type TestApp, type TestOrg } from '../helpers/test-app.ts';
import { startReceiver, verifyStandardWebhook, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

/**
 * 1,000 events are delivered by a `layers worker` process that is killed with SIGKILL at 10 random
 * moments and restarted. Every event must arrive at least once; an event that arrives twice (its
 * attempt was cut off after the receiver saw it) carries the same webhook-id and body both times.
 */
describe('webhook delivery survives kill -9', () => {
  const EVENTS = 1000;
  let t: TestApp;
  let org: TestOrg;
  let receiver: WebhookReceiver;
  let secret: string;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    t = await createTestApp({ env: { LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' } });
    org = await createOrg(t.app);
    receiver = await startReceiver();
    // Slow enough that a kill lands mid-stream, with several attempts in flight.
    receiver.respond(() => ({ status: 200, delayMs: 10 + Math.floor(Math.random() * 30) }));
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(org.secret),
      payload: { url: receiver.url, events: ['project.created'] },
    });
    secret = res.json().secret;
    // 1,000 real changes, as the app role, ten transactions of a hundred.
    for (let batch = 0; batch < EVENTS / 100; batch++) {
      await withTenant(t.db.app, org.id, async (tx) => {
        const scope = { tx, orgId: org.id, actor: { type: 'system' as const, id: null }, requestId: null };
        for (let i = 0; i < 100; i++)
          await t.container.projects.create({ ...scope, now: new Date() }, { name: `p${batch}-${i}` });
      });
    }
  }, 120_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGKILL');
      await exitOf(worker);
    }
    await receiver.close();
    await t.close();
  });

  it('delivers every event at least once; duplicates share their webhook-id', async () => {
    const env = {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
      LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true',
      LAYERS_JOB_WATCHDOG_MS: '1000',
      LOG_LEVEL: 'warn',
    };
    const start = () => spawn(process.execPath, [MAIN, 'worker'], { cwd: REPO_ROOT, env, stdio: 'ignore' });
    const { rows: events } = await t.db.systemPool.query<{ id: string }>(
      `SELECT id FROM webhook_events WHERE org_id = $1 AND type = 'project.created'`,
      [org.id],
    );
    expect(events).toHaveLength(EVENTS);
    const distinctReceived = () => new Set(receiver.received.map((r) => r.headers['webhook-id'])).size;

    let killedInFlight = 0;
    for (let kill = 0; kill < 10; kill++) {
      worker = start();
      // Wait until this worker is delivering, then kill it at a random moment.
      const seen = receiver.received.length;
      const deadline = Date.now() + 30_000;
      while (receiver.received.length === seen && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      worker.kill('SIGKILL');
      await exitOf(worker);
      if (distinctReceived() < EVENTS) killedInFlight++;
    }
    // Every kill landed while deliveries were still outstanding.
    expect(killedInFlight).toBe(10);
    const beforeLastStart = distinctReceived();
    expect(beforeLastStart).toBeLessThan(EVENTS);

    // The last worker finishes the rest, including attempts the killed ones left half done (their
    // receiver may have seen them, but only the record of a success completes a delivery).
    worker = start();
    const succeeded = async () => {
      const { rows } = await t.db.systemPool.query(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE org_id = $1 AND status = 'succeeded'`,
        [org.id],
      );
      return rows[0].n as number;
    };
    const deadline = Date.now() + 120_000;
    while ((distinctReceived() < EVENTS || (await succeeded()) < EVENTS) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    worker.kill('SIGTERM');
    await exitOf(worker);

    const byId = new Map<string, string[]>();
    for (const r of receiver.received) {
      const id = r.headers['webhook-id'] as string;
      expect(JSON.parse(r.body).id).toBe(id);
      expect(verifyStandardWebhook(secret, r.headers, r.body)).toBe(true);
      byId.set(id, [...(byId.get(id) ?? []), r.body]);
    }
    const missing = events.filter((e) => !byId.has(e.id));
    expect(missing).toEqual([]);
    expect(byId.size).toBe(EVENTS);
    for (const bodies of byId.values()) expect(new Set(bodies).size).toBe(1);

    const { rows } = await t.db.systemPool.query(
      `SELECT status, count(*)::int AS n FROM webhook_deliveries WHERE org_id = $1 GROUP BY 1`,
      [org.id],
    );
    expect(rows).toEqual([{ status: 'succeeded', n: EVENTS }]);
    // For the record: how many repeats the kills cost (each shares its webhook-id, checked above).
    console.info(`webhook crash test: ${receiver.received.length - byId.size} duplicate deliveries`);
  }, 240_000);
});
