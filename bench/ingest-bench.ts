import { Kysely, PostgresDialect, sql } from 'kysely';
import { addMonths, createEventPartition, monthStart } from '../src/modules/ingest/event-partitions.ts';
import { loadGeoResolver } from '../src/privacy/geo-resolver.ts';
import {
  freePort,
  load,
  openLoopLoad,
  ratio,
  startPlatform,
  startProcess,
  stopProcess,
  superuserPool,
  waitFor,
} from './bench-support.ts';
import type { BenchResult } from './run.ts';
import { insertEvents } from './sdk-event-insert.ts';

/**
 * SDK ingest throughput, each figure against a baseline from the same run:
 *  (a) batches of 100 events over HTTP            vs B_copy: the same rows inserted straight into the same
 *                                                   table and indexes, 100 per statement, no HTTP
 *  (b) one event per request                      vs B_http: a bare Fastify route taking the same body
 *  (s) (a)'s batches as Segment messages at /segment/v1/batch (Basic auth) vs (a) itself: goal ≥ 0.9
 * and the p99 latency of (a) and (b) at half their peak rate. Goals: (a) ≥ 0.5 × B_copy, (b) ≥ 0.5 × B_http.
 * (b) is also measured with 100 clients on both sides, the shape of SDK traffic from many devices.
 * The table holds 12 earlier months of events first, as a deployment a year old would.
 *
 * B_durable (bench/durable-floor-server.ts) shows where (b)'s ceiling is: B_http's bare route plus only
 * a group-committed INSERT of the event into the same table, answering after COMMIT as the contract
 * requires; what (b) would reach if everything else the platform does per request cost nothing.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 10;
const MANY_CLIENTS = 100;
const BATCH = 100;

let counter = 0;
const PUBLIC_IPS = ['81.2.69.160', '8.8.8.8', '1.1.1.1', '89.160.20.112', '175.16.199.0', '216.160.83.56'];

function event(prefix: string) {
  counter += 1;
  return {
    event_id: `${prefix}-${counter}`,
    type: 'track',
    event: 'purchase',
    user_id: `u_${counter % 5000}`,
    timestamp: new Date().toISOString(),
    app_id: 'com.example.app',
    properties: { price: 9.99, currency: 'USD', sku: `sku_${counter % 300}`, quantity: 1 },
    context: { ip: PUBLIC_IPS[counter % PUBLIC_IPS.length] as string },
  };
}

const batchBody = (prefix: string, n: number) =>
  JSON.stringify({ batch: Array.from({ length: n }, () => event(prefix)) });

/** The same events as Segment messages (what @segment/analytics-node sends to /v1/batch). */
function segmentMessage(prefix: string) {
  const e = event(prefix);
  return {
    type: 'track',
    messageId: e.event_id,
    userId: e.user_id,
    event: e.event,
    timestamp: e.timestamp,
    properties: e.properties,
    context: { ip: e.context.ip, app: { namespace: e.app_id }, library: { name: '@segment/analytics-node' } },
  };
}

const segmentBatchBody = (prefix: string, n: number) =>
  JSON.stringify({
    batch: Array.from({ length: n }, () => segmentMessage(prefix)),
    sentAt: new Date().toISOString(),
  });

/** `count` bodies made now, handed out in order; fresh ones from `make` after they run out. */
function prebuilt(make: () => string, count: number): () => string {
  const bodies = Array.from({ length: count }, make);
  let next = 0;
  return () => (next < bodies.length ? (bodies[next++] as string) : make());
}

/**
 * B_copy: the rows the pipeline would store for these events, prepared in advance (ids, geo codes
 * resolved once per address) and written straight into sdk_events, 100 per statement, every column
 * as data: what storing them costs PostgreSQL with no HTTP, validation, privacy pipeline or dedup.
 */
async function insertBaseline(dataDir: string, orgId: string, projectId: string): Promise<number> {
  const pool = await superuserPool(dataDir, CONNECTIONS);
  const geo = await loadGeoResolver();
  const geoByIp = new Map(PUBLIC_IPS.map((ip) => [ip, geo.lookup(ip)]));
  let rows = 0;
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        const events = Array.from({ length: BATCH }, () => event('copy'));
        await insertEvents(
          pool,
          { orgId, projectId },
          events.map((e) => {
            const geo = geoByIp.get(e.context.ip);
            return {
              id: `evt_${e.event_id}`,
              event: e,
              country: geo?.country ?? null,
              region: geo?.region ?? null,
            };
          }),
        );
        rows += BATCH;
      }
    }),
  );
  await pool.end();
  return rows / SECONDS;
}

/**
 * The table as a deployment a year old holds it: 12 earlier months of events, each in the partition
 * the keeper would have made, so that whatever ingest pays per retained month (dedup looks into
 * earlier months) shows in (a) and (b) as it would in production.
 */
const EARLIER_MONTHS = 12;
const EVENTS_PER_EARLIER_MONTH = 50_000;

async function retainEarlierMonths(dataDir: string, orgId: string, projectId: string): Promise<void> {
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: await superuserPool(dataDir, 1) }) });
  try {
    for (let i = 1; i <= EARLIER_MONTHS; i += 1) {
      const month = addMonths(monthStart(new Date()), -i);
      await createEventPartition(db, month);
      await sql`
        INSERT INTO sdk_events (id, org_id, project_id, event_id, type, event, user_id, timestamp, received_at,
          received_month, app_id, properties, traits)
        SELECT 'evt_old_' || ${String(i)}::text || '_' || g, ${orgId}, ${projectId}, 'old-' || ${String(i)}::text || '-' || g,
          'track', 'purchase', 'u_' || (g % 5000), ${month}::timestamptz + g * interval '1 second',
          ${month}::timestamptz + g * interval '1 second', ${month}::timestamptz::date,
          'com.example.app', '{"price": 9.99, "currency": "USD"}', '{}'
        FROM generate_series(1, ${EVENTS_PER_EARLIER_MONTH}) g`.execute(db);
    }
    await sql`VACUUM ANALYZE sdk_events`.execute(db);
  } finally {
    await db.destroy();
  }
}

/**
 * Each measured phase starts from a checkpoint, so that none pays for the WAL and dirty pages an
 * earlier phase left behind (without it the phase after B_copy ran into B_copy's checkpoint).
 */
async function checkpoint(dataDir: string): Promise<void> {
  const pool = await superuserPool(dataDir, 1);
  await pool.query('CHECKPOINT');
  await pool.end();
}

export async function run(): Promise<BenchResult[]> {
  const platform = await startPlatform();
  let bare: ReturnType<typeof startProcess> | undefined;
  let floor: ReturnType<typeof startProcess> | undefined;
  try {
    const url = `${platform.base}/v1/sdk/events`;
    const headers = {
      authorization: `Bearer ${platform.publishableKey}`,
      'content-type': 'application/json',
    };
    const orgId = await orgIdOf(platform.base, platform.secret);
    process.stdout.write(`retaining ${EARLIER_MONTHS} earlier months of events…\n`);
    await retainEarlierMonths(platform.dataDir, orgId, platform.projectId);

    /**
     * Closed-loop POSTs of fresh `size`-event batches (unique event ids, so nothing is a duplicate).
     * `bodies`: batches built before the clock starts, so that on two cores the load generator's JSON
     * work does not take CPU from the server while it is measured (fresh ones once they run out).
     */
    const post = (
      target: string,
      prefix: string,
      size: number,
      opts: { seconds?: number; connections?: number; bodies?: number } = {},
    ) =>
      load({
        url: target,
        method: 'POST',
        headers,
        makeBody: prebuilt(() => batchBody(prefix, size), opts.bodies ?? 0),
        seconds: opts.seconds ?? SECONDS,
        connections: opts.connections ?? CONNECTIONS,
      });
    const halfOf = (rps: number) => Math.max(1, Math.floor(rps / 2));
    const HALF_WARM_SECONDS = 2;
    /**
     * Open-loop POSTs at half a peak's rate (openLoopLoad: each request's latency from when it was
     * due), warmed at that rate first, every body prebuilt.
     */
    const atHalfPeak = (prefix: string, size: number, peakRps: number) =>
      openLoopLoad({
        url,
        method: 'POST',
        headers,
        makeBody: prebuilt(
          () => batchBody(prefix, size),
          Math.ceil(halfOf(peakRps) * (SECONDS + HALF_WARM_SECONDS)),
        ),
        rate: halfOf(peakRps),
        seconds: SECONDS,
        warmSeconds: HALF_WARM_SECONDS,
      });

    process.stdout.write('warming up…\n');
    const warm = await post(url, 'warm', BATCH, { seconds: 2 });
    // Enough prebuilt batches for a peak run at half again the warm-up's rate.
    const peakBodies = Math.ceil(warm.rps * SECONDS * 1.5);

    await checkpoint(platform.dataDir);
    const bCopy = await insertBaseline(platform.dataDir, orgId, platform.projectId);
    await checkpoint(platform.dataDir);
    const batchPeak = await post(url, 'a', BATCH, { bodies: peakBodies });
    assertClean('batches of 100', batchPeak);
    const batchEventsPerS = batchPeak.rps * BATCH;
    const batchHalf = await atHalfPeak('a2', BATCH, batchPeak.rps);
    assertClean('batches of 100 at half the peak rate', batchHalf);

    // (s) the same batches of 100 as Segment messages at /segment/v1/batch, Basic auth: goal ≥ 0.9 × (a).
    // A-B-A: (a) is measured again right after (s), and (s) is compared with the mean of the two, so
    // that neither side gains from what the machine was doing meanwhile.
    const postSegment = (prefix: string, opts: { seconds: number; bodies: number }) =>
      load({
        url: `${platform.base}/segment/v1/batch`,
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${platform.publishableKey}:`).toString('base64')}`,
          'content-type': 'application/json',
        },
        makeBody: prebuilt(() => segmentBatchBody(prefix, BATCH), opts.bodies),
        seconds: opts.seconds,
        connections: CONNECTIONS,
      });
    // Warmed up as (a) was: measured cold, (s) paid for compiling the Segment path in its first second.
    await postSegment('sw', { seconds: 2, bodies: 0 });
    await checkpoint(platform.dataDir);
    const segmentPeak = await postSegment('s', { seconds: SECONDS, bodies: peakBodies });
    assertClean('Segment batches of 100', segmentPeak);
    const segmentEventsPerS = segmentPeak.rps * BATCH;
    await checkpoint(platform.dataDir);
    const batchAgain = await post(url, 'a3', BATCH, { bodies: peakBodies });
    assertClean('batches of 100, again', batchAgain);
    const nativeAround = (batchEventsPerS + batchAgain.rps * BATCH) / 2;

    const barePort = await freePort();
    bare = startProcess(['bench/bare-ingest-server.ts'], { PORT: String(barePort) });
    const bareUrl = `http://127.0.0.1:${barePort}/v1/sdk/events`;
    await waitFor(`http://127.0.0.1:${barePort}/`, 10_000).catch(() => undefined);
    await post(bareUrl, 'bw', 1, { seconds: 2 });
    const bHttp = await post(bareUrl, 'bh', 1);

    const floorPort = await freePort();
    floor = startProcess(['bench/durable-floor-server.ts'], {
      PORT: String(floorPort),
      DATA_DIR: platform.dataDir,
      ORG_ID: orgId,
      PROJECT_ID: platform.projectId,
    });
    const floorUrl = `http://127.0.0.1:${floorPort}/v1/sdk/events`;
    await waitFor(`http://127.0.0.1:${floorPort}/`, 10_000).catch(() => undefined);
    await post(floorUrl, 'dw', 1, { seconds: 2 });
    await checkpoint(platform.dataDir);
    const bDurable = await post(floorUrl, 'd', 1);
    assertClean('durable floor', bDurable);
    await checkpoint(platform.dataDir);
    const singlePeak = await post(url, 'b', 1);
    assertClean('single events', singlePeak);
    const singleHalf = await atHalfPeak('b2', 1, singlePeak.rps);
    assertClean('single events at half the peak rate', singleHalf);

    // The same single-event traffic from many devices at once, both sides at MANY_CLIENTS: with 10
    // closed-loop clients (b) is bound by each request's commit latency, not by throughput.
    const bHttpMany = await post(bareUrl, 'bm', 1, { connections: MANY_CLIENTS });
    await checkpoint(platform.dataDir);
    const bDurableMany = await post(floorUrl, 'dm', 1, { connections: MANY_CLIENTS });
    assertClean('durable floor, many clients', bDurableMany);
    await checkpoint(platform.dataDir);
    const singleMany = await post(url, 'm', 1, { connections: MANY_CLIENTS });
    assertClean('single events, many clients', singleMany);

    const ra = ratio(batchEventsPerS, bCopy);
    const rs = ratio(segmentEventsPerS, nativeAround);
    const rm = ratio(singleMany.rps, bHttpMany.rps);
    const rb = ratio(singlePeak.rps, bHttp.rps);
    const rd = ratio(bDurable.rps, bHttp.rps);
    const rdm = ratio(bDurableMany.rps, bHttpMany.rps);
    process.stdout.write(
      [
        `B_copy (prepared rows, 100/statement, ${CONNECTIONS} connections)     ${bCopy.toFixed(0).padStart(8)} events/s`,
        `(a) HTTP batches of 100                                ${batchEventsPerS.toFixed(0).padStart(8)} events/s   ratio ${ra} (goal ≥ 0.5)`,
        `    p99 at half the peak rate (${halfOf(batchPeak.rps)} req/s)              ${batchHalf.p99} ms`,
        `(s) Segment /segment/v1/batch, 100 messages            ${segmentEventsPerS.toFixed(0).padStart(8)} events/s   ratio ${rs} to (a) around it (goal ≥ 0.9)`,
        `    (a) again after (s)                                ${(batchAgain.rps * BATCH).toFixed(0).padStart(8)} events/s`,
        `B_http (bare Fastify, same body)                       ${bHttp.rps.toFixed(0).padStart(8)} req/s`,
        `B_durable (bare route + group-committed INSERT)        ${bDurable.rps.toFixed(0).padStart(8)} req/s     ratio ${rd} (ceiling for (b))`,
        `(b) one event per request                              ${singlePeak.rps.toFixed(0).padStart(8)} req/s     ratio ${rb} (goal ≥ 0.5)`,
        `    p99 at half the peak rate (${halfOf(singlePeak.rps)} req/s)             ${singleHalf.p99} ms`,
        `B_http with ${MANY_CLIENTS} clients                                ${bHttpMany.rps.toFixed(0).padStart(8)} req/s`,
        `B_durable with ${MANY_CLIENTS} clients                             ${bDurableMany.rps.toFixed(0).padStart(8)} req/s     ratio ${rdm}`,
        `(b) with ${MANY_CLIENTS} clients                                   ${singleMany.rps.toFixed(0).padStart(8)} req/s     ratio ${rm}`,
        '',
      ].join('\n'),
    );
    return [
      {
        metric: 'batch100_events_per_s',
        value: Math.round(batchEventsPerS),
        unit: 'events/s',
        baseline: Math.round(bCopy),
        ratio: ra,
      },
      {
        metric: 'segment_batch100_events_per_s',
        value: Math.round(segmentEventsPerS),
        unit: 'events/s',
        baseline: Math.round(nativeAround),
        ratio: rs,
      },
      {
        metric: 'single_event_requests_per_s',
        value: Math.round(singlePeak.rps),
        unit: 'req/s',
        baseline: Math.round(bHttp.rps),
        ratio: rb,
      },
      {
        metric: 'durable_floor_requests_per_s',
        value: Math.round(bDurable.rps),
        unit: 'req/s',
        baseline: Math.round(bHttp.rps),
        ratio: rd,
      },
      {
        metric: `durable_floor_requests_per_s_${MANY_CLIENTS}_clients`,
        value: Math.round(bDurableMany.rps),
        unit: 'req/s',
        baseline: Math.round(bHttpMany.rps),
        ratio: rdm,
      },
      {
        metric: `single_event_requests_per_s_${MANY_CLIENTS}_clients`,
        value: Math.round(singleMany.rps),
        unit: 'req/s',
        baseline: Math.round(bHttpMany.rps),
        ratio: rm,
      },
      {
        metric: 'batch100_p99_at_half_peak',
        value: batchHalf.p99,
        unit: 'ms',
        baseline: batchPeak.p99,
        ratio: ratio(batchHalf.p99, batchPeak.p99),
      },
      {
        metric: 'single_event_p99_at_half_peak',
        value: singleHalf.p99,
        unit: 'ms',
        baseline: singlePeak.p99,
        ratio: ratio(singleHalf.p99, singlePeak.p99),
      },
    ];
  } finally {
    if (bare) await stopProcess(bare);
    if (floor) await stopProcess(floor);
    await platform.stop();
  }
}

function assertClean(name: string, r: { non2xx: number; errors: number }) {
  if (r.non2xx > 0 || r.errors > 0)
    throw new Error(`${name}: ${r.non2xx} non-2xx answers and ${r.errors} errors`);
}

async function orgIdOf(base: string, secret: string): Promise<string> {
  const res = (await (
    await fetch(`${base}/v1/audit-log?limit=100&action=org.created`, {
      headers: { authorization: `Bearer ${secret}` },
    })
  ).json()) as {
    data: { resource: { id: string } }[];
  };
  const id = res.data[0]?.resource.id;
  if (!id) throw new Error('could not find the bench org id');
  return id;
}
