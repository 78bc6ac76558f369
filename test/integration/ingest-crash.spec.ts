import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from '../helpers/cli.ts';
import { exitOf, freePort, startServer, waitForReady } from '../helpers/server-process.ts';
import {
  ADMIN_TOKEN,
  createKey,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
} from '../helpers/test-app.ts';

/**
 * Under steady ingest load the server is killed with SIGKILL at 10 random moments and restarted,
 * while clients retry every batch that was not acknowledged. Afterwards every acknowledged event_id
 * is stored, and none twice.
 */
describe('ingest survives kill -9', () => {
  let t: TestApp;
  let pk: string;
  let projectId: string;
  beforeAll(async () => {
    t = await createTestApp();
    const org = await createOrg(t.app);
    projectId = (await createProject(t.app, org)).id;
    pk = (await createKey(t.app, org, { type: 'publishable', project_id: projectId })).secret;
  });
  afterAll(() => t.close());

  it('loses no acknowledged event and stores none twice', async () => {
    const port = await freePort();
    const env = {
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
      LAYERS_ADMIN_TOKEN: ADMIN_TOKEN,
      PORT: String(port),
      LAYERS_RATE_LIMIT_PUBLISHABLE_PER_S: '100000',
    };
    let server = startServer(env);
    await waitForReady(port, server);

    const acknowledged = new Set<string>();
    let stop = false;
    let batchesAcked = 0;
    let failedAttempts = 0;

    async function client(id: number) {
      while (!stop) {
        const batch = Array.from({ length: 20 }, () => ({
          event_id: randomUUID(),
          type: 'track',
          event: 'load',
          user_id: `u_${id}_${Math.floor(Math.random() * 50)}`,
          timestamp: new Date().toISOString(),
        }));
        // Retry the same batch until it is acknowledged: that is the SDK's contract.
        for (;;) {
          try {
            const res = await fetch(`http://127.0.0.1:${port}/v1/sdk/events`, {
              method: 'POST',
              headers: { authorization: `Bearer ${pk}`, 'content-type': 'application/json' },
              body: JSON.stringify({ batch }),
            });
            if (res.status === 200) {
              const body = (await res.json()) as {
                accepted: number;
                duplicates: number;
                rejected: unknown[];
              };
              expect(body.rejected).toEqual([]);
              expect(body.accepted + body.duplicates).toBe(batch.length);
              for (const e of batch) acknowledged.add(e.event_id);
              batchesAcked++;
              break;
            }
            failedAttempts++;
          } catch {
            failedAttempts++;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }

    const clients = Array.from({ length: 6 }, (_, i) => client(i));
    for (let kill = 0; kill < 10; kill++) {
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 600));
      server.kill('SIGKILL');
      await exitOf(server);
      server = startServer(env);
      await waitForReady(port, server);
    }
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);
    server.kill('SIGTERM');
    await exitOf(server);

    expect(batchesAcked).toBeGreaterThan(50);
    expect(failedAttempts).toBeGreaterThan(0);
    const { rows } = await t.db.systemPool.query<{ event_id: string; n: number }>(
      'SELECT event_id, count(*)::int AS n FROM sdk_events WHERE project_id = $1 GROUP BY event_id',
      [projectId],
    );
    const stored = new Map(rows.map((r) => [r.event_id, r.n]));
    const missing = [...acknowledged].filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
    expect(rows.filter((r) => r.n > 1)).toEqual([]);
  }, 120_000);
});
