import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/http/logging.ts';
import { JOB_CATALOG } from '../../src/jobs/job-catalog.ts';
import { fixedClock } from '../../src/lib/clock.ts';
import { ensureEventPartitions } from '../../src/modules/ingest/event-partitions.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The `sdk_events` partition keeper: months ahead are created at boot and by a daily cron job, and
 * rows that fell into the default partition (a keeper that did not run for months) are moved into
 * their month's partition without losing one.
 */
describe('sdk_events partition keeper', () => {
  const clock = fixedClock(new Date('2031-01-10T12:00:00Z'));
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock });
  });
  afterAll(() => t.close());

  const partitions = async (): Promise<string[]> => {
    const { rows } = await t.db.systemPool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'sdk_events'::regclass ORDER BY 1`,
    );
    return rows.map((r) => r.name);
  };

  const count = async (table: string): Promise<number> => {
    const { rows } = await t.db.systemPool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    return rows[0]?.n ?? 0;
  };

  it('a daily cron job keeps the months ahead of the clock, not only boot', async () => {
    const job = JOB_CATALOG.find((j) => j.name === 'sdk_events.partitions');
    expect(job?.cron).toMatch(/^\d+ \d+ \* \* \*$/);
    expect(await partitions()).toContain('sdk_events_2031_03');
    expect(await partitions()).not.toContain('sdk_events_2031_05');

    // Three months of uptime later, the job (not a restart) creates the new months.
    clock.set(new Date('2031-04-02T03:00:00Z'));
    const logger = createLogger({ level: 'silent' });
    await job?.run({}, { container: t.container, logger });
    expect(await partitions()).toEqual(
      expect.arrayContaining(['sdk_events_2031_04', 'sdk_events_2031_05', 'sdk_events_2031_06']),
    );
    // Idempotent: a second run is harmless.
    await job?.run({}, { container: t.container, logger });
  });

  it('boot moves rows already sitting in the default partition into their months, losing none', async () => {
    // Rows of three months with no partition (the keeper did not run): they sit in the default one.
    const months = ['2032-02-01', '2032-05-01', '2032-06-01'];
    await t.db.systemPool.query(
      `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at, received_month)
       SELECT 'sev_' || m || '_' || n, 'org_p', 'proj_p', 'e_' || m || '_' || n, 'track', 'view', 'u_' || n,
              m::timestamptz, m::timestamptz, m::date
       FROM unnest($1::text[]) AS m, generate_series(1, 50) AS n`,
      [months],
    );
    expect(await count('sdk_events_default')).toBe(150);

    // The next boot, in one of those months: creates the months ahead, and the months found in default.
    const created = await ensureEventPartitions(t.db.system, new Date('2032-05-20T00:00:00Z'));
    expect(created).toEqual(
      expect.arrayContaining([
        'sdk_events_2032_02',
        'sdk_events_2032_05',
        'sdk_events_2032_06',
        'sdk_events_2032_07',
      ]),
    );
    expect(await count('sdk_events_default')).toBe(0);
    expect(await count('sdk_events')).toBeGreaterThanOrEqual(150);
    for (const month of ['2032_02', '2032_05', '2032_06'])
      expect(await count(`sdk_events_${month}`)).toBe(50);

    // The moved partitions are protected like every other: forced RLS, no direct grant to the app role.
    const { rows } = await t.db.systemPool.query<{ forced: boolean; app_grant: boolean }>(
      `SELECT relforcerowsecurity AS forced,
              has_table_privilege('layers_app', oid, 'SELECT') AS app_grant
       FROM pg_class WHERE relname = 'sdk_events_2032_02'`,
    );
    expect(rows[0]).toEqual({ forced: true, app_grant: false });
    // Dedup still holds for a moved event: the primary key came with the partition.
    await expect(
      t.db.systemPool.query(
        `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, user_id, timestamp, received_at, received_month)
         VALUES ('sev_dup', 'org_p', 'proj_p', 'e_2032-02-01_1', 'track', 'u_1', now(), now(), '2032-02-01')`,
      ),
    ).rejects.toThrow(/duplicate key/);
  });
});
