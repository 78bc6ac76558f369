import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import { ratio, startPlatform, superuserPool } from './bench-support.ts';
import type { BenchResult } from './run.ts';

/**
 * Data-subject requests for a user with 1,000,000 events:
 *  - export (NDJSON over HTTP, streamed): events/s and the server's peak RSS growth, against the same
 *    rows read straight from PostgreSQL by this script in keyset pages of 2,000 (no HTTP, no JSON);
 *  - erasure (the API's DELETE, carried out by the worker in 10,000-row batches with a receipt):
 *    seconds, against one plain DELETE of another 1,000,000-row user.
 */
const EVENTS = Number(process.env.BENCH_DSR_EVENTS ?? 1_000_000);

async function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

export async function run(): Promise<BenchResult[]> {
  const platform = await startPlatform();
  const pool = await superuserPool(platform.dataDir, 10);
  try {
    const { rows } = await pool.query<{ org_id: string }>('SELECT org_id FROM projects WHERE id = $1', [
      platform.projectId,
    ]);
    const orgId = rows[0]?.org_id as string;
    process.stdout.write(`writing 2 × ${EVENTS.toLocaleString()} events…\n`);
    for (const user of ['u_big', 'u_baseline']) {
      await pool.query(
        `INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at, received_month, properties, traits, geo_country, geo_region)
         SELECT 'evt_' || $3 || g, $1, $2, $3 || '-' || g, 'track', 'purchase', $3, now() - (g || ' ms')::interval, now(),
                date_trunc('month', now())::date, '{"price": 9.99, "currency": "USD", "sku": "sku_1"}', '{}', 'GB', 'GB-ENG'
         FROM generate_series(1, ${EVENTS}) g`,
        [orgId, platform.projectId, user],
      );
    }
    await pool.query('VACUUM ANALYZE sdk_events');

    // Baseline read: the same rows, same keyset pages, straight from PostgreSQL.
    let t0 = performance.now();
    let read = 0;
    let after: [string, string] | null = null;
    for (;;) {
      const page: pg.QueryResult<{ ts: string; id: string }> = await pool.query(
        `SELECT *, timestamp::text AS ts FROM sdk_events WHERE project_id = $1 AND user_id = 'u_big' AND ($2::timestamptz IS NULL OR (timestamp, id) > ($2::timestamptz, $3))
         ORDER BY timestamp, id LIMIT 2000`,
        [platform.projectId, after?.[0] ?? null, after?.[1] ?? null],
      );
      read += page.rows.length;
      if (page.rows.length < 2000) break;
      const last = page.rows.at(-1) as { ts: string; id: string };
      after = [last.ts, last.id];
    }
    const baselineReadPerS = read / ((performance.now() - t0) / 1000);

    const pid = platform.pid;
    const rssBefore = await rssKiB(pid, 'VmRSS');
    const hwmBefore = await rssKiB(pid, 'VmHWM');
    t0 = performance.now();
    const res = await fetch(`${platform.base}/v1/projects/${platform.projectId}/events/users/u_big`, {
      headers: { authorization: `Bearer ${platform.secret}`, accept: 'application/x-ndjson' },
    });
    let lines = 0;
    let peakRss = rssBefore;
    const decoder = new TextDecoder();
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const ch of decoder.decode(value, { stream: true })) if (ch === '\n') lines++;
      if (++chunks % 200 === 0) peakRss = Math.max(peakRss, await rssKiB(pid, 'VmRSS'));
    }
    const exportSeconds = (performance.now() - t0) / 1000;
    const hwmAfter = await rssKiB(pid, 'VmHWM');
    peakRss = Math.max(peakRss, await rssKiB(pid, 'VmRSS'));
    if (lines !== EVENTS + 1) throw new Error(`export returned ${lines - 1} events, expected ${EVENTS}`);
    const exportPerS = EVENTS / exportSeconds;
    const growthMiB = Math.max(peakRss - rssBefore, hwmAfter - hwmBefore) / 1024;

    // Erasure through the API and the worker, against one plain DELETE of the baseline user.
    t0 = performance.now();
    const dsr = (await (
      await fetch(`${platform.base}/v1/projects/${platform.projectId}/events/users/u_big`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${platform.secret}` },
      })
    ).json()) as { id: string };
    let receipt: { erased: Record<string, number> } | null = null;
    while (!receipt) {
      await new Promise((r) => setTimeout(r, 200));
      const body = (await (
        await fetch(`${platform.base}/v1/data-subject-requests/${dsr.id}`, {
          headers: { authorization: `Bearer ${platform.secret}` },
        })
      ).json()) as { status: string; receipt: { erased: Record<string, number> } | null };
      if (body.status === 'completed') receipt = body.receipt;
    }
    const erasureSeconds = (performance.now() - t0) / 1000;
    if (receipt.erased.sdk_events !== EVENTS)
      throw new Error(`receipt counts ${receipt.erased.sdk_events} events`);
    t0 = performance.now();
    await pool.query(`DELETE FROM sdk_events WHERE project_id = $1 AND user_id = 'u_baseline'`, [
      platform.projectId,
    ]);
    const baselineDeleteSeconds = (performance.now() - t0) / 1000;

    process.stdout.write(
      [
        `export (NDJSON, HTTP)          ${exportPerS.toFixed(0).padStart(9)} events/s   ${exportSeconds.toFixed(1)} s for ${EVENTS.toLocaleString()} events`,
        `  baseline (SQL pages, no HTTP) ${baselineReadPerS.toFixed(0).padStart(9)} events/s   ratio ${ratio(exportPerS, baselineReadPerS)}`,
        `  server RSS ${(rssBefore / 1024).toFixed(0)} MiB before, peak growth ${growthMiB.toFixed(1)} MiB during the export (goal ≤ ~50 MB)`,
        `erasure (API + worker, receipt) ${erasureSeconds.toFixed(1).padStart(8)} s`,
        `  baseline (one DELETE)          ${baselineDeleteSeconds.toFixed(1).padStart(8)} s   ratio ${ratio(erasureSeconds, baselineDeleteSeconds)}`,
        '',
      ].join('\n'),
    );
    return [
      {
        metric: 'export_events_per_s',
        value: Math.round(exportPerS),
        unit: 'events/s',
        baseline: Math.round(baselineReadPerS),
        ratio: ratio(exportPerS, baselineReadPerS),
      },
      {
        metric: 'export_peak_rss_growth',
        value: Math.round(growthMiB * 10) / 10,
        unit: 'MiB',
        baseline: 50,
        ratio: ratio(growthMiB, 50),
      },
      {
        metric: 'erasure_seconds',
        value: Math.round(erasureSeconds * 10) / 10,
        unit: 's',
        baseline: Math.round(baselineDeleteSeconds * 10) / 10,
        ratio: ratio(erasureSeconds, baselineDeleteSeconds),
      },
    ];
  } finally {
    await pool.end();
    await platform.stop();
  }
}
