import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/http/logging.ts';
import { JOB_CATALOG } from '../../src/jobs/job-catalog.ts';
import { DAY_MS, fixedClock, HOUR_MS } from '../../src/lib/clock.ts';
import { ensureEventPartitions } from '../../src/modules/ingest/event-partitions.ts';
import { createPurgeDal } from '../../src/modules/retention/purge-dal.ts';
import type { SweepReport } from '../../src/modules/retention/retention-sweeper.ts';
import { at, count, extraSweeper, partnerOrg, plantEvents, plusMs } from '../helpers/retention-fixtures.ts';
import { createOrg, createProject, createTestApp, type TestApp, type TestOrg } from '../helpers/test-app.ts';

/**
 * Two sweepers (two workers) at once over the same expired rows: together they purge each row
 * exactly once, whatever the interleaving; a second pass finds nothing; the job reports counts in
 * metrics and one log line without personal data.
 */
describe('retention sweeps running concurrently', () => {
  const clock = fixedClock(at('2026-09-15T00:00:00.000Z'));
  let t: TestApp;
  let a: TestOrg;
  let b: TestOrg;
  const expected = {
    request_log: 700,
    idempotency_cache: 250,
    sdk_events: 300 + 120,
    user_profiles: 40,
    partner_config: 1,
  };

  async function plantRequestLogs(orgId: string, createdAt: Date, n: number, tag: string) {
    await t.db.systemPool.query(
      `INSERT INTO request_log (id, org_id, method, route, status, latency_ms, created_at)
       SELECT 'req_' || $4 || g, $1, 'GET', '/v1/projects', 200, 1, $2 FROM generate_series(1, $3::int) g`,
      [orgId, createdAt, n, tag],
    );
  }
  async function plantIdempotency(orgId: string, expiresAt: Date, n: number, tag: string) {
    await t.db.systemPool.query(
      `INSERT INTO idempotency_keys (org_id, key, request_hash, status_code, response_body, created_at, expires_at)
       SELECT $1, $4 || g, 'h', 201, '{}', $2::timestamptz - interval '24 hours', $2 FROM generate_series(1, $3::int) g`,
      [orgId, expiresAt, n, tag],
    );
  }
  async function plantProfiles(orgId: string, projectId: string, updatedAt: Date, n: number, tag: string) {
    await t.db.systemPool.query(
      `INSERT INTO user_profiles (org_id, project_id, user_id, created_at, updated_at)
       SELECT $1, $2, $5 || g, $3, $3 FROM generate_series(1, $4::int) g`,
      [orgId, projectId, updatedAt, n, tag],
    );
  }

  beforeAll(async () => {
    t = await createTestApp({ clock });
    a = await createOrg(t.app, 'A');
    b = await partnerOrg(t, 'B', { sdk_events: '60d', request_log: '7d' });
    const now = clock.now();
    await plantRequestLogs(a.id, plusMs(now, -40 * DAY_MS), 400, 'a_old_');
    await plantRequestLogs(a.id, plusMs(now, -1 * DAY_MS), 50, 'a_new_');
    await plantRequestLogs(b.id, plusMs(now, -8 * DAY_MS), 300, 'b_old_');
    await plantIdempotency(a.id, plusMs(now, -HOUR_MS), 250, 'old-');
    await plantIdempotency(a.id, plusMs(now, HOUR_MS), 20, 'live-');

    const june = at('2026-06-12T00:00:00.000Z');
    const lastYear = at('2025-06-12T00:00:00.000Z');
    await ensureEventPartitions(t.db.system, june);
    await ensureEventPartitions(t.db.system, lastYear);
    const projectA = (await createProject(t.app, a, 'A')).id;
    const projectB = (await createProject(t.app, b, 'B')).id;
    const doomed = (await createProject(t.app, a, 'Doomed')).id;
    await plantEvents(t.db.systemPool, { orgId: a.id, projectId: projectA, receivedAt: lastYear, n: 500 });
    await plantEvents(t.db.systemPool, { orgId: a.id, projectId: projectA, receivedAt: june, n: 100 });
    await plantEvents(t.db.systemPool, { orgId: b.id, projectId: projectB, receivedAt: june, n: 300 });
    await plantEvents(t.db.systemPool, { orgId: a.id, projectId: doomed, receivedAt: june, n: 120 });
    await plantProfiles(b.id, projectB, june, 40, 'b_');
    await plantProfiles(a.id, projectA, june, 10, 'a_');
    await t.db.systemPool.query(
      `UPDATE projects SET status = 'pending_deletion', deleted_at = $2, purge_after = $3 WHERE id = $1`,
      [doomed, plusMs(now, -31 * DAY_MS), plusMs(now, -DAY_MS)],
    );
  });
  afterAll(() => t.close());

  const total = (reports: SweepReport[], cls: string) =>
    reports.reduce((n, r) => n + (r.purged[cls] ?? 0), 0);

  it('two sweepers at once purge each expired row exactly once', async () => {
    const one = extraSweeper(t, { clock, batchSize: 7 });
    const two = extraSweeper(t, { clock, batchSize: 7 });
    const reports = await Promise.all([one.sweep(), two.sweep(), one.sweep()]);

    for (const [cls, n] of Object.entries(expected)) expect(total(reports, cls), cls).toBe(n);
    // June 2025 (planted) and July 2025 (created ahead, empty) are past every org's retention; each dropped once.
    expect(reports.flatMap((r) => r.partitions_dropped.map((p) => p.partition)).sort()).toEqual([
      'sdk_events_2025_06',
      'sdk_events_2025_07',
    ]);
    expect(reports.reduce((n, r) => n + r.projects_purged, 0)).toBe(1);

    expect(await count(t.db.systemPool, 'SELECT 1 FROM request_log')).toBe(50);
    expect(await count(t.db.systemPool, 'SELECT 1 FROM idempotency_keys')).toBe(20);
    expect(await count(t.db.systemPool, 'SELECT 1 FROM sdk_events')).toBe(100);
    expect(await count(t.db.systemPool, 'SELECT 1 FROM user_profiles')).toBe(10);
    expect(await count(t.db.systemPool, `SELECT 1 FROM user_profiles WHERE org_id = $1`, [b.id])).toBe(0);
  });

  it('below the phase locks, batches from two connections at once still take each row once', async () => {
    await t.db.systemPool.query(
      `CREATE TABLE standin_rows AS SELECT g AS n, 'org_x'::text AS org_id FROM generate_series(1, 3000) g`,
    );
    const dal = createPurgeDal();
    const where = { orgId: 'org_x' };
    const counts = await Promise.all([
      dal.deleteInBatches(t.db.system, 'standin_rows', where, 7),
      dal.deleteInBatches(t.db.system, 'standin_rows', where, 11),
      dal.deleteInBatches(t.db.system, 'standin_rows', where, 5),
    ]);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(3000);
    expect(await count(t.db.systemPool, 'SELECT 1 FROM standin_rows')).toBe(0);
  });

  it('is idempotent: the next sweeps find nothing', async () => {
    const reports = await Promise.all([
      extraSweeper(t, { clock }).sweep(),
      t.container.retentionSweeper.sweep(),
    ]);
    for (const r of reports) {
      expect(r.purged).toEqual({});
      expect(r.partitions_dropped).toEqual([]);
      expect(r.projects_purged).toBe(0);
    }
    expect((await t.container.retentionSweeper.overdue()).filter((o) => o.rows > 0)).toEqual([]);
  });

  it('the hourly job reports counts in Prometheus metrics and one log line, with no ids or personal data', async () => {
    await plantRequestLogs(a.id, plusMs(clock.now(), -45 * DAY_MS), 12, 'job_');
    const job = JOB_CATALOG.find((j) => j.name === 'retention.sweep');
    expect(job?.cron).toBe('7 * * * *');
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      stream: new Writable({
        write(chunk, _e, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    await job?.run({}, { container: t.container, logger });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string);
    expect(line.msg).toBe('retention sweep finished');
    expect(line.retention.purged).toEqual({ request_log: 12 });
    for (const id of [a.id, b.id, 'req_job_']) expect(lines[0]).not.toContain(id);

    const metrics = (await t.app.inject('/metrics')).body;
    expect(metrics).toContain('layers_retention_purged_rows_total{data_class="request_log"} 12');
    expect(metrics).toContain('layers_retention_last_sweep_timestamp_seconds');
    expect(metrics).not.toContain(a.id);
  });
});
