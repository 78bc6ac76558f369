import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, MAIN, REPO_ROOT } from '../helpers/cli.ts';
import { exitOf } from '../helpers/server-process.ts';
import {
  bearer,
  createOrg,
  createProject,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../helpers/test-app.ts';

/**
 * A worker process is killed with SIGKILL in the middle of erasing a large user; a new worker picks
 * the request up (through its watchdog) and completes it with a receipt that counts every row once.
 */
describe('erasure survives kill -9', () => {
  let t: TestApp;
  let org: TestOrg;
  let projectId: string;
  const TOTAL = 120_000;
  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app);
    projectId = (await createProject(t.app, org)).id;
    // A large user, written straight into the event table (ingesting 120k events would test ingest).
    await t.db.systemPool.query(
      `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at, received_month, properties, traits)
       SELECT 'evt_big_' || g, $1, $2, 'e' || g, 'track', 'view', 'u_big', now() - (g || ' seconds')::interval, now(),
              date_trunc('month', now())::date, '{"n": 1}', '{}'
       FROM generate_series(1, ${TOTAL}) g`,
      [org.id, projectId],
    );
    await t.db.systemPool.query(
      `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at, received_month, properties, traits)
       VALUES ('evt_keep', $1, $2, 'keep', 'track', 'view', 'u_keep', now(), now(), date_trunc('month', now())::date, '{}', '{}')`,
      [org.id, projectId],
    );
  });
  afterAll(() => t.close());

  it('completes after a crash with a correct receipt', async () => {
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1/projects/${projectId}/events/users/u_big?suppress=true`,
      headers: bearer(org.secret),
    });
    expect(res.statusCode).toBe(202);
    const dsrId = res.json().id as string;
    const env = {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
      LAYERS_JOB_WATCHDOG_MS: '1500',
      LOG_LEVEL: 'warn',
    };
    const startWorker = () =>
      spawn(process.execPath, [MAIN, 'worker'], { cwd: REPO_ROOT, env, stdio: 'ignore' });
    const progress = async () => {
      const { rows } = await t.db.systemPool.query(
        `SELECT status, erased FROM data_subject_requests WHERE id = $1`,
        [dsrId],
      );
      return { status: rows[0].status as string, events: Number(rows[0].erased.sdk_events ?? 0) };
    };

    const first = startWorker();
    let seen = await progress();
    const deadline = Date.now() + 60_000;
    while (seen.events === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      seen = await progress();
    }
    first.kill('SIGKILL');
    await exitOf(first);
    const atCrash = await progress();
    expect(atCrash.events).toBeGreaterThan(0);
    expect(atCrash.events).toBeLessThan(TOTAL);
    expect(atCrash.status).toBe('running');
    // The suppression was recorded before the first delete: nothing new enters while the erasure is down.
    const suppressed = async () =>
      (await t.db.systemPool.query('SELECT dsr_id FROM suppressions WHERE project_id = $1', [projectId]))
        .rows;
    expect(await suppressed()).toEqual([{ dsr_id: dsrId }]);

    const second = startWorker();
    try {
      while ((await progress()).status !== 'completed' && Date.now() < deadline + 60_000)
        await new Promise((r) => setTimeout(r, 100));
    } finally {
      second.kill('SIGTERM');
      await exitOf(second);
    }
    const status = await t.app.inject({
      method: 'GET',
      url: `/v1/data-subject-requests/${dsrId}`,
      headers: bearer(org.secret),
    });
    expect(status.json()).toMatchObject({
      status: 'completed',
      receipt: { erased: { sdk_events: TOTAL, user_profiles: 0 } },
    });
    const { rows } = await t.db.systemPool.query(
      `SELECT user_id, count(*)::int AS n FROM sdk_events WHERE project_id = $1 GROUP BY 1`,
      [projectId],
    );
    expect(rows).toEqual([{ user_id: 'u_keep', n: 1 }]);
    expect(await suppressed()).toEqual([{ dsr_id: dsrId }]);
  }, 180_000);
});
