import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { load, ratio, startPlatform, startProcess, stopProcess, superuserPool } from './bench-support.ts';
import type { MetaFakeStats } from './meta-capi-fake-process.ts';
import type { BenchResult } from './run.ts';

/**
 * `npm run bench -- forwarding`: Conversions API forwarding against plain ingest, one run, one
 * machine, the same load tool (autocannon, closed loop, batches of 100 events over HTTP).
 *
 *  (a) ingest into a project without a destination                      — the ingest bench's (a)
 *  (b) ingest into a project with one enabled Meta destination (every event mapped, with an email,
 *      a phone and a consented IDFA: hashes, device ids, each commit's events sealed into its queue
 *      rows) vs (a): goal ≥ 0.8
 *  (c) end to end: events of (b) per second from the first POST until the Meta fake (127.0.0.1) has
 *      accepted the last of them, forwarded by a `layers worker` process (the API runs as
 *      `layers serve --role api`, as the scale-out path runs them)
 *      vs (b): goal ≥ 0.9 (forwarding keeps up with ingest)
 *
 * Also printed, to see where (b)'s time goes: the CPU seconds each process spent in each phase (the
 * api, the worker, PostgreSQL's processes, the fake, this process: the load tool), the same in µs per
 * event with their total (on a saturated machine (b)/(a) follows the ratio of the totals), the
 * transactions committed (all processes) and PostgreSQL's WAL bytes per event, and the calls the
 * fake received. BENCH_ROLE=api runs no worker; BENCH_ROLE=split starts it only after (b), to
 * drain the queue alone (forwarding's own CPU per event, apart from ingest's); BENCH_PROFILE=<dir>
 * writes CPU profiles of the api and worker processes.
 *
 * The receiver is the tests' Meta fake as it is: it parses every event and checks every field (hash
 * formats, extinfo, event_time, identifiers), refusing a whole batch for one bad event, and counts
 * what it accepted. It runs in its own process (meta-capi-fake-process.ts), not on the load tool's
 * event loop, which its parsing of each ~560 KB call would stall; its CPU still lands on the same
 * cores as the platform's (parsing and checking a call's events costs ~2.7 µs an event in-process,
 * ~0.7 of it the checks).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 10;
const BATCH = 100;
const TOKEN = 'EAA-bench-token';

let counter = 0;
function event(prefix: string) {
  counter += 1;
  const hex = counter.toString(16).padStart(12, '0');
  return {
    event_id: `${prefix}-${counter}`,
    type: 'track',
    event: 'purchase',
    user_id: `u_${counter % 5000}`,
    timestamp: new Date().toISOString(),
    app_id: 'com.example.app',
    properties: { value: 9.99, currency: 'USD', order_id: `o_${counter}` },
    traits: { email: `person${counter % 5000}@example.com`, phone: '+1 (650) 555-1212' },
    context: {
      ip: '81.2.69.160',
      device: { idfa: `6d92078a-8246-4ba4-ae5b-${hex}`, ad_tracking_enabled: true, model: 'iPhone16,1' },
      os: { name: 'iOS', version: '18.1' },
      app: { version: '2.3.0', build: '230' },
      locale: 'en-US',
    },
  };
}
const batchBody = (prefix: string) =>
  JSON.stringify({ batch: Array.from({ length: BATCH }, () => event(prefix)) });

/** CPU seconds (user + system, reaped children included) of a process, from /proc (Linux only). */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((a, i) => a + Number(f[i] ?? 0), 0) / 100;
}

/** The PostgreSQL server's processes (postmaster and its children): their CPU, ended backends included. */
async function postgresSeconds(dataDir: string): Promise<number> {
  const pidFile = await findFile(dataDir, 'postmaster.pid');
  const postmaster = pidFile ? Number((await readFile(pidFile, 'utf8')).split('\n')[0]) : 0;
  let total = await cpuSeconds(postmaster);
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === postmaster) total += await cpuSeconds(Number(entry));
  }
  return total;
}

async function findFile(dir: string, name: string, depth = 3): Promise<string | undefined> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isFile() && e.name === name) return path.join(dir, e.name);
    if (e.isDirectory() && depth > 0) {
      const found = await findFile(path.join(dir, e.name), name, depth - 1);
      if (found) return found;
    }
  }
  return undefined;
}

async function api(base: string, secret: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** The Meta fake in its own process (meta-capi-fake-process.ts): its URL, pid and counts. */
async function startMetaFake(token: string) {
  const child = startProcess(['bench/meta-capi-fake-process.ts'], { META_FAKE_TOKEN: token }, { ipc: true });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', () => reject(new Error('the Meta fake process exited')));
  });
  // Questions in flight, answered in order; the process gone, they fail instead of waiting forever.
  const asked: { resolve(stats: MetaFakeStats): void; reject(error: Error): void }[] = [];
  child.on('message', (m) => {
    if (typeof m === 'object' && m !== null && 'accepted' in m) asked.shift()?.resolve(m as MetaFakeStats);
  });
  child.on('exit', () => {
    for (const a of asked.splice(0)) a.reject(new Error('the Meta fake process exited'));
  });
  const stats = () =>
    new Promise<MetaFakeStats>((resolve, reject) => {
      asked.push({ resolve, reject });
      child.send('stats');
    });
  return {
    url,
    pid: child.pid,
    stats,
    /** Events the fake accepted so far. */
    accepted: async () => (await stats()).accepted,
    stop: () => stopProcess(child),
  };
}

export async function run(): Promise<BenchResult[]> {
  const meta = await startMetaFake(TOKEN);
  // As the scale-out path runs it: `layers serve --role api` and a `layers worker` process on the
  // same database (one Node process doing both would put forwarding on ingest's event loop).
  // BENCH_ROLE=api: no worker at all (ingest alone, to see where (b)'s time goes).
  // BENCH_ROLE=split: the worker starts only after (b) and drains what it queued alone, so the
  // forwarding's own CPU per event (worker, PostgreSQL, fake) is measured apart from ingest's.
  const apiOnly = process.env.BENCH_ROLE === 'api';
  const split = process.env.BENCH_ROLE === 'split';
  const redirect = `graph.facebook.com=${meta.url}`;
  // BENCH_PROFILE=<dir>: CPU profiles of the api and worker processes (written when they stop).
  const profile: Record<string, string> = process.env.BENCH_PROFILE
    ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE)}` }
    : {};
  const platform = await startPlatform({
    LAYERS_EGRESS_REDIRECT: redirect,
    LOG_LEVEL: 'warn',
    LAYERS_ROLE: 'api',
    ...profile,
  });
  const startWorker = () =>
    startProcess(['src/main.ts', 'worker'], {
      LAYERS_DATA_DIR: platform.dataDir,
      LAYERS_EGRESS_REDIRECT: redirect,
      LOG_LEVEL: 'warn',
      ...profile,
    });
  let worker = apiOnly || split ? undefined : startWorker();
  // Where each phase's CPU went: the api process, the worker, PostgreSQL, the fake, this process (load).
  const cpu = async () => ({
    api: await cpuSeconds(platform.pid),
    worker: await cpuSeconds(worker?.pid),
    postgres: await postgresSeconds(platform.dataDir),
    fake: await cpuSeconds(meta.pid),
    load: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
  });
  const spent = (from: Awaited<ReturnType<typeof cpu>>, to: Awaited<ReturnType<typeof cpu>>) =>
    (Object.keys(from) as (keyof typeof from)[])
      .map((k) => `${k} ${(to[k] - from[k]).toFixed(1)}`)
      .join(', ');
  // The same, per event of the phase, with the total: what the ratio (b)/(a) follows on a saturated machine.
  const perEvent = (
    from: Awaited<ReturnType<typeof cpu>>,
    to: Awaited<ReturnType<typeof cpu>>,
    events: number,
  ) => {
    const keys = Object.keys(from) as (keyof typeof from)[];
    const us = keys.map((k) => ((to[k] - from[k]) / events) * 1e6);
    return `${keys.map((k, i) => `${k} ${us[i]?.toFixed(1)}`).join(', ')}; total ${us.reduce((x, y) => x + y, 0).toFixed(1)}`;
  };
  try {
    // A second project with one Meta destination.
    const project = (await api(platform.base, platform.secret, '/v1/projects', {
      name: 'With destination',
    })) as {
      id: string;
    };
    const key = (await api(platform.base, platform.secret, '/v1/api-keys', {
      name: 'sdk2',
      type: 'publishable',
      project_id: project.id,
    })) as { secret: string };
    await api(platform.base, platform.secret, `/v1/projects/${project.id}/destinations`, {
      type: 'meta_capi',
      pixel_id: '1234567890',
      access_token: TOKEN,
      event_map: { purchase: 'Purchase' },
      enabled: true,
    });
    const post = (publishableKey: string, prefix: string, seconds = SECONDS) =>
      load({
        url: `${platform.base}/v1/sdk/events`,
        method: 'POST',
        headers: { authorization: `Bearer ${publishableKey}`, 'content-type': 'application/json' },
        makeBody: () => batchBody(prefix),
        seconds,
        connections: CONNECTIONS,
      });
    process.stdout.write('warming up…\n');
    await post(platform.publishableKey, 'warm-a', 2);
    await post(key.secret, 'warm-b', 2);
    const deadline = Date.now() + 60_000;
    let warmed = await meta.accepted();
    while (!apiOnly && !split && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      const now = await meta.accepted();
      if (now === warmed) break;
      warmed = now;
    }

    const su = await superuserPool(platform.dataDir, 2);
    su.on('error', () => {});
    // PostgreSQL's WAL bytes: what each phase made it write.
    const wal = async () =>
      Number((await su.query<{ b: string }>('SELECT wal_bytes AS b FROM pg_stat_wal')).rows[0]?.b ?? 0);
    // Committed transactions (all processes): how many events a commit carried in each phase.
    const commits = async () =>
      Number(
        (
          await su.query<{ n: string }>(
            `SELECT xact_commit AS n FROM pg_stat_database WHERE datname = 'layers'`,
          )
        ).rows[0]?.n ?? 0,
      );
    const tx0 = await commits();
    const wal0 = await wal();
    const cpu0 = await cpu();
    const a = await post(platform.publishableKey, 'a');
    const aEvents = a.rps * BATCH;
    const cpu1 = await cpu();
    const wal1 = await wal();
    const tx1 = await commits();

    const { accepted: before, requests: requestsBefore } = await meta.stats();
    const started = Date.now();
    const b = await post(key.secret, 'b');
    const cpu2 = await cpu();
    const wal2 = await wal();
    const tx2 = await commits();
    const bEvents = b.rps * BATCH;
    const ingested = Math.round(b.rps * SECONDS) * BATCH;
    // Wait until the fake has accepted everything (b) committed (autocannon's count is an average:
    // wait for the count to stop moving once it is close).
    const wait = Date.now() + (apiOnly || split ? 0 : 5 * 60_000);
    let last = -1;
    while (Date.now() < wait) {
      const now = (await meta.accepted()) - before;
      if (now >= ingested * 0.999 && now === last) break;
      last = now;
      await new Promise((r) => setTimeout(r, 250));
    }
    const afterB = await meta.stats();
    const forwarded = afterB.accepted - before;
    const callsB = afterB.requests - requestsBefore;
    const cpu3 = await cpu();
    // split: the worker alone drains what warm-up and (b) queued (until the fake's count stops).
    let alone = '';
    if (split) {
      const queuedFrom = await meta.accepted();
      worker = startWorker();
      // Measured from its first call on: its start (loading the code) is not forwarding.
      const until = Date.now() + 5 * 60_000;
      while ((await meta.accepted()) === queuedFrom && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      const from = await meta.accepted();
      const cpu4 = await cpu();
      let seen = -1;
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, 3_000));
        const now = await meta.accepted();
        if (now === seen && seen > from) break;
        seen = now;
      }
      const cpu5 = await cpu();
      const n = (await meta.accepted()) - from;
      alone = `CPU µs per event, the worker alone forwarding ${n} queued events (from its first call): ${perEvent(cpu4, cpu5, n)}`;
    }
    await su.end();
    const fakeCounts = await meta.stats();
    const endToEnd = forwarded / ((fakeCounts.lastAcceptedAt - started) / 1000);

    const rb = ratio(bEvents, aEvents);
    const rc = ratio(endToEnd, bEvents);
    process.stdout.write(
      [
        `(a) ingest, no destination, batches of 100          ${aEvents.toFixed(0).padStart(8)} events/s  p99 ${a.p99} ms`,
        `(b) ingest, one Meta destination                    ${bEvents.toFixed(0).padStart(8)} events/s  p99 ${b.p99} ms   ratio ${rb} to (a) (goal ≥ 0.8)`,
        `(c) end to end, ingest → Meta fake                  ${endToEnd.toFixed(0).padStart(8)} events/s  (${forwarded} events)   ratio ${rc} to (b) (goal ≥ 0.9)`,
        `errors: (a) ${a.errors + a.non2xx}, (b) ${b.errors + b.non2xx}; refused by the fake: ${fakeCounts.refused}; calls to the fake ${callsB} (${(forwarded / Math.max(1, callsB)).toFixed(0)} events a call)`,
        `CPU seconds (a): ${spent(cpu0, cpu1)}; WAL ${((wal1 - wal0) / (a.rps * SECONDS * BATCH)).toFixed(0)} bytes/event; ${tx1 - tx0} commits`,
        `CPU seconds (b): ${spent(cpu1, cpu2)}; WAL ${((wal2 - wal1) / (b.rps * SECONDS * BATCH)).toFixed(0)} bytes/event; ${tx2 - tx1} commits`,
        `CPU µs per event (a): ${perEvent(cpu0, cpu1, a.rps * SECONDS * BATCH)}`,
        `CPU µs per event (b): ${perEvent(cpu1, cpu2, b.rps * SECONDS * BATCH)}`,
        `CPU seconds after (b), until the fake has all: ${spent(cpu2, cpu3)}`,
        ...(alone ? [alone] : []),
        '',
      ].join('\n'),
    );
    return [
      {
        metric: 'ingest_no_destination_events_per_s',
        value: aEvents,
        unit: 'events/s',
        baseline: aEvents,
        ratio: 1,
      },
      {
        metric: 'ingest_with_destination_events_per_s',
        value: bEvents,
        unit: 'events/s',
        baseline: aEvents,
        ratio: rb,
      },
      {
        metric: 'forwarding_end_to_end_events_per_s',
        value: endToEnd,
        unit: 'events/s',
        baseline: bEvents,
        ratio: rc,
      },
    ];
  } finally {
    if (worker) await stopProcess(worker);
    await platform.stop();
    await meta.stop();
  }
}
