import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config.ts';
import { openPlatformDatabase, type PlatformDatabase } from '../src/db/open-platform-database.ts';
import type { Database } from '../src/db/schema.ts';
import { systemClock } from '../src/lib/clock.ts';
import { createAuditLogDal } from '../src/modules/audit-log/audit-log-dal.ts';
import { createAuditLogService } from '../src/modules/audit-log/audit-log-service.ts';
import { protectEventPartition } from '../src/modules/ingest/event-partitions.ts';
import { createPartnershipEnd } from '../src/modules/retention/partnership-end.ts';
import { createPurgeScheduleDal } from '../src/modules/retention/purge-schedule-dal.ts';
import { PURGE_BATCH } from '../src/modules/retention/purge-types.ts';
import { createRetentionMetrics } from '../src/modules/retention/retention-metrics.ts';
import { createRetentionOverridesDal } from '../src/modules/retention/retention-overrides-dal.ts';
import { createRetentionSweeper } from '../src/modules/retention/retention-sweeper.ts';
import { createSweeperDals } from '../src/modules/retention/sweeper-dals.ts';
import { ratio } from './bench-support.ts';
import type { BenchResult } from './run.ts';

/**
 * Retention: the time the real sweeper takes to purge one month of 10,000,000 expired SDK events,
 * against baselines measured in the same run on the same embedded PostgreSQL:
 *  - B_rows: the sweeper's own row-by-row path (batched ctid DELETEs of 5,000) over a sample month of
 *    SAMPLE rows, extrapolated linearly to 10M: what purging would cost without partition drops;
 *  - B_drop: dropping an empty table, the floor of any catalog change.
 * Goal: under 5 s for the month, because a partition drop does not read the rows.
 *
 * Rows are generated inside PostgreSQL (INSERT … SELECT generate_series) into a plain table that is
 * then attached as the month's partition, so setup builds each index once instead of row by row.
 */
const ROWS = Number(process.env.BENCH_RETENTION_ROWS ?? 10_000_000);
const SAMPLE = Number(process.env.BENCH_RETENTION_SAMPLE ?? 500_000);
const LOADERS = 2;
const ORG = 'org_0000000000bench0000000000';
const PROJECT = 'proj_000000000bench0000000000';

const seconds = (ms: number) => Math.round(ms) / 1000;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/** Loads `rows` events of one month into a new table and attaches it as that month's partition. */
async function loadMonth(db: PlatformDatabase, month: string, rows: number): Promise<string> {
  const name = `sdk_events_${month.slice(0, 4)}_${month.slice(5, 7)}`;
  const next = new Date(`${month}T00:00:00.000Z`);
  next.setUTCMonth(next.getUTCMonth() + 1);
  const until = next.toISOString().slice(0, 10);
  const pool = db.systemPool;
  await pool.query(`CREATE TABLE ${name} (LIKE sdk_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  const per = Math.ceil(rows / LOADERS);
  await Promise.all(
    Array.from({ length: LOADERS }, async (_, i) => {
      const from = i * per + 1;
      const to = Math.min(rows, (i + 1) * per);
      const client = await pool.connect();
      try {
        await client.query('SET synchronous_commit = off');
        await client.query(
          `INSERT INTO ${name} (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at,
             received_month, app_id, properties, geo_country, geo_region)
           SELECT 'evt_' || g, $1, $2, 'e' || g, 'track', 'opened', 'u_' || (g % 100000),
             $3::timestamptz + (g % 2500000) * interval '1 second', $3::timestamptz + (g % 2500000) * interval '1 second',
             $3::date, 'com.example.app', '{"price": 9.99, "sku": "sku_1"}', 'US', 'US-CA'
           FROM generate_series($4::bigint, $5::bigint) g`,
          [ORG, PROJECT, month, from, to],
        );
      } finally {
        client.release();
      }
    }),
  );
  // A matching CHECK lets ATTACH skip its validation scan; the partition's indexes are built once here.
  await pool.query(
    `ALTER TABLE ${name} ADD CONSTRAINT ${name}_month CHECK (received_month >= '${month}' AND received_month < '${until}')`,
  );
  await pool.query(
    `ALTER TABLE sdk_events ATTACH PARTITION ${name} FOR VALUES FROM ('${month}') TO ('${until}')`,
  );
  await protectEventPartition(db.system, name);
  await pool.query(`ANALYZE ${name}`);
  return name;
}

export async function run(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'layers-retention-bench-'));
  const db = await openPlatformDatabase(loadConfig({ LAYERS_DATA_DIR: dataDir }), () => undefined);
  try {
    await db.systemPool.query(
      `INSERT INTO orgs (id, name, tier, created_at) VALUES ($1, 'Bench', 'standard', now());
       INSERT INTO projects (id, org_id, name, created_at, updated_at) VALUES ($2, $1, 'Bench', now(), now())`
        .replace(/\$1/g, `'${ORG}'`)
        .replace(/\$2/g, `'${PROJECT}'`),
    );

    process.stdout.write(`loading ${ROWS.toLocaleString('en-US')} expired events into one month…\n`);
    const load = await timed(() => loadMonth(db, '2024-01-01', ROWS));
    process.stdout.write(`  loaded in ${seconds(load.ms)} s\n`);
    process.stdout.write(
      `loading a ${SAMPLE.toLocaleString('en-US')}-event sample month for the row-by-row baseline…\n`,
    );
    const sampleTable = await loadMonth(db, '2023-06-01', SAMPLE);

    // B_rows: the sweeper's row-by-row path on the sample month, extrapolated to ROWS.
    const dals = createSweeperDals();
    const rowByRow = await timed(() =>
      // The predicate the sweeper's row-by-row path uses for an org on the default retention.
      dals.purgeDal.deleteLeafInBatches(
        db.system as Kysely<Database>,
        sampleTable,
        { before: { column: 'received_month', at: new Date('2024-01-01T00:00:00.000Z') } },
        PURGE_BATCH,
      ),
    );
    if (rowByRow.value !== SAMPLE) throw new Error(`baseline deleted ${rowByRow.value} of ${SAMPLE} rows`);
    // The emptied sample month goes now, so the measured sweep handles the 10M-row month alone.
    await db.systemPool.query(`DROP TABLE ${sampleTable}`);
    const rowsPerS = SAMPLE / (rowByRow.ms / 1000);
    const extrapolatedMs = (rowByRow.ms * ROWS) / SAMPLE;

    // B_drop: dropping an empty table.
    await db.systemPool.query('CREATE TABLE bench_empty (id int)');
    const dropEmpty = await timed(() => db.systemPool.query('DROP TABLE bench_empty'));

    // The measured value: the real sweeper, one hourly run, over the expired month.
    const overridesDal = createRetentionOverridesDal();
    const scheduleDal = createPurgeScheduleDal();
    const sweeper = createRetentionSweeper({
      db: db.system,
      clock: systemClock,
      overridesDal,
      scheduleDal,
      ...dals,
      partnershipEnd: createPartnershipEnd({ overridesDal, scheduleDal, purgeDal: dals.purgeDal }),
      auditLog: createAuditLogService({ auditLogDal: createAuditLogDal() }),
      metrics: createRetentionMetrics(new Registry()),
    });
    const sweep = await timed(() => sweeper.sweep());
    const dropped = sweep.value.partitions_dropped.find((p) => p.partition === 'sdk_events_2024_01');
    if (!dropped) throw new Error('the sweep did not drop the expired month');
    const { rows: left } = await db.systemPool.query(`SELECT count(*)::int AS n FROM sdk_events`);
    if (left[0].n !== 0) throw new Error(`${left[0].n} expired events left after the sweep`);

    const sweepS = seconds(sweep.ms);
    const r = ratio(sweep.ms, extrapolatedMs);
    process.stdout.write(
      [
        '',
        `sweep purging one month of ${ROWS.toLocaleString('en-US')} events (partition drop)   ${sweepS.toFixed(3).padStart(9)} s   goal < 5 s: ${sweepS < 5 ? 'met' : 'NOT met'}`,
        `  partitions dropped: ${sweep.value.partitions_dropped.map((p) => `${p.partition} (~${p.estimated_rows} rows)`).join(', ')}`,
        `B_rows batched DELETE of ${SAMPLE.toLocaleString('en-US')} rows                   ${seconds(rowByRow.ms).toFixed(3).padStart(9)} s   (${Math.round(rowsPerS).toLocaleString('en-US')} rows/s)`,
        `       extrapolated to ${ROWS.toLocaleString('en-US')} rows                       ${seconds(extrapolatedMs).toFixed(3).padStart(9)} s   ratio ${r}`,
        `B_drop DROP TABLE of an empty table                          ${seconds(dropEmpty.ms).toFixed(3).padStart(9)} s`,
        '',
      ].join('\n'),
    );
    return [
      {
        metric: 'purge_month_10m_events',
        value: sweepS,
        unit: 's',
        baseline: seconds(extrapolatedMs),
        ratio: r,
      },
      {
        metric: 'purge_month_vs_drop_empty_table',
        value: sweepS,
        unit: 's',
        baseline: seconds(dropEmpty.ms),
        ratio: ratio(sweep.ms, dropEmpty.ms),
      },
    ];
  } finally {
    await db.shutdown({ stopEmbedded: 'always' });
    await rm(dataDir, { recursive: true, force: true });
  }
}
