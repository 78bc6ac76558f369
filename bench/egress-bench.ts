import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { loadConfig } from '../src/config.ts';
import { createAllowlist } from '../src/egress/egress-allowlist.ts';
import { attempt, DEFAULT_MAX_RESPONSE_BYTES } from '../src/egress/egress-attempt.ts';
import { createEgressGateway, type EgressLedgerSink } from '../src/egress/egress-gateway.ts';
import { createEgressMetrics } from '../src/egress/egress-metrics.ts';
import type { EgressCall } from '../src/egress/egress-types.ts';
import { createEgressLedgerDal } from '../src/modules/egress-ledger/egress-ledger-dal.ts';
import { createEgressLedgerWriter } from '../src/modules/egress-ledger/egress-ledger-writer.ts';
import { loadSubprocessors } from '../src/privacy/subprocessors.ts';
import {
  freePort,
  ratio,
  startPlatform,
  startProcess,
  stopProcess,
  superuserPool,
  waitFor,
} from './bench-support.ts';
import type { BenchResult } from './run.ts';

/**
 * Vendor calls per second through the egress gateway (allowlist, description checks, content guard
 * on a ~1 KB prompt, undici, the ledger row group-committed to PostgreSQL)
 * against a baseline measured in the same run: the same undici POSTs (the gateway's own attempt,
 * egress-attempt.ts), same body, same concurrency, straight to the same local server (its own
 * process on 127.0.0.1; the gateway reaches it through the redirect map, as tests reach fakes).
 * Phases alternate (baseline, undici's request() API, gateway, accounted; three rounds) and each
 * side's figure is its best phase; the request() figure is shown for the gateway's ratio to what a
 * caller without it would likely write. Two gateway figures: calls answered before their ledger
 * row commits (`accounted: false`; the row is group-committed behind them, paced), and calls
 * answered after it (the default: EgressCall.accounted). Also reported: the most ledger
 * rows that were ever unacknowledged at once, i.e. what a crash at the worst moment could have
 * lost, the rows each COPY carried, and this process's garbage-collection time per call (objects
 * a call leaves reachable from long-lived structures are promoted and cost GC time here: see
 * egress-deadlines.ts), and how busy its event loop was (below 1: every call in flight was waiting
 * on another process).
 *
 * Two more phases say what the gap to the baseline is made of: the gateway with a ledger writer
 * whose COPY is never sent (everything the gateway does in its caller's process, and PostgreSQL
 * idle), and the direct call followed by the row the gateway would append, through the real writer
 * (the ledger's cost, without the checks and the guard). On the bench's 2 cores PostgreSQL, the
 * stand-in vendor and the caller share the CPU, which a deployment's database and vendors do not.
 */
const SECONDS = Number(process.env.BENCH_EGRESS_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_EGRESS_CONCURRENCY ?? 32);
/** Rounds of the phases: each side's figure is its best (a shared box's other load slows some). */
const ROUNDS = Number(process.env.BENCH_EGRESS_ROUNDS ?? 3);

const PROMPT = {
  model: 'gpt-bench',
  store: false,
  instructions: 'You write short, upbeat social captions for a retail brand. Answer with JSON.',
  input: `Product: trail running shoe, breathable mesh, recycled sole. Audience: weekend runners. Tone: warm, concise. Call to action: shop the summer collection. Language: en. ${'Keep it under 150 characters and avoid hashtags beyond two. '.repeat(12)}`,
};

/**
 * CPU time (10 ms ticks, from /proc) of a process, or of a PostgreSQL postmaster and its children:
 * on a shared box the CPU each side spends per call is steadier than calls/s.
 */
function ticksOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}
function clusterTicks(postmaster: number): number {
  let sum = ticksOf(postmaster);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(postmaster))
        sum += ticksOf(Number(d));
    } catch {
      // gone
    }
  }
  return sum;
}

async function closedLoop(seconds: number, one: () => Promise<unknown>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await one();
        done++;
      }
    }),
  );
  return done / seconds;
}

export async function run(): Promise<BenchResult[]> {
  const port = await freePort();
  const receiver = startProcess(['bench/webhook-receiver-server.ts'], { PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  // The platform gives a migrated embedded database (and an org for the ledger's foreign key).
  const platform = await startPlatform({ LAYERS_ROLE: 'api', LOG_LEVEL: 'warn' });
  const pool = await superuserPool(platform.dataDir, 10);
  const agent = new Agent({ connections: CONCURRENCY });
  try {
    await waitFor(`${base}/stats`);
    const orgId = (await pool.query<{ id: string }>('SELECT id FROM orgs LIMIT 1')).rows[0]?.id as string;
    // COPYs committed, for the rows each carried (the writer's pacing: egress-ledger-writer.ts).
    let copies = 0;
    const writer = createEgressLedgerWriter({
      pool,
      dal: createEgressLedgerDal(),
      metrics: { written: () => void copies++, dropped: () => undefined },
    });
    const allowlist = createAllowlist(loadSubprocessors(loadConfig({}).subprocessorsFile));
    const gatewayWith = (ledger: EgressLedgerSink) =>
      createEgressGateway({
        allowlist,
        redirects: new Map([['api.openai.com', base]]),
        ledger,
        metrics: createEgressMetrics(new Registry()),
        dispatcher: agent,
      });
    const gateway = gatewayWith(writer);
    // The decomposition's writer: rows are taken and encoded as the real one does, and the COPY is
    // not sent (so PostgreSQL does nothing): what the gateway costs its caller's own process.
    const unsentWriter = createEgressLedgerWriter({
      pool,
      dal: { ...createEgressLedgerDal(), copyIn: async () => undefined },
    });
    const gatewayUnsent = gatewayWith(unsentWriter);
    const call: EgressCall = {
      orgId,
      projectId: platform.projectId,
      vendor: 'openai',
      purpose: 'llm',
      dataClasses: ['project_content'],
      records: 1,
      method: 'POST',
      url: 'https://api.openai.com/v1/responses',
      headers: { authorization: 'Bearer sk-bench' },
      body: { json: PROMPT },
    };
    const BODY_BYTES = Buffer.byteLength(JSON.stringify(PROMPT));
    // The gateway's own HTTP attempt (egress-attempt.ts: undici's dispatch API, the body collected
    // whole), with no deadline watch: what the gateway adds is then its checks, guard and ledger.
    // It answers with what it got: the decomposition's +row phase records that in its ledger row.
    const direct = async () => {
      const answer = await attempt(
        agent,
        {
          origin: base,
          path: '/v1/responses',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
          body: Buffer.from(JSON.stringify(PROMPT)),
        },
        DEFAULT_MAX_RESPONSE_BYTES,
      );
      return answer;
    };
    // The same POST through undici's request() API, as a caller without the gateway would make it
    // (a Readable body stream and its machinery per call): the gateway's ratio to it is shown too.
    const viaRequestApi = async () => {
      const res = await request(`${base}/v1/responses`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
        body: Buffer.from(JSON.stringify(PROMPT)),
      });
      await res.body.arrayBuffer();
    };
    // A call answered before its ledger row commits (`accounted: false`: the forwarder's calls,
    // whose rows it awaits together once per batch), and one answered after (the default: the
    // call waits for its row's group commit, an fsync'd COPY).
    const unaccounted: EgressCall = { ...call, accounted: false };
    const through = async () => {
      await gateway.request(unaccounted);
    };
    const accounted = async () => {
      const res = await gateway.request(call);
      if (!(await res.recorded)) throw new Error('ledger row dropped');
    };
    // The decomposition: the gateway with its COPY not sent (above), and the direct call followed by
    // the row the gateway would append, written by the real writer (no checks, no guard).
    const unsent = async () => {
      await gatewayUnsent.request(unaccounted);
    };
    const directAndRow = async () => {
      const started = performance.now();
      const answer = await direct();
      writer.enqueue({
        org_id: orgId,
        project_id: platform.projectId,
        vendor: 'openai',
        host: 'api.openai.com',
        purpose: 'llm',
        data_classes: ['project_content'],
        records: 1,
        bytes_out: BODY_BYTES,
        bytes_in: answer.body.length,
        attempts: 1,
        status: answer.status,
        outcome: 'ok',
        latency_ms: performance.now() - started,
        created_at: new Date(),
      });
    };

    process.stdout.write(`warming up; then ${SECONDS} s per phase, ${CONCURRENCY} calls in flight…\n`);
    await closedLoop(1, direct);
    await closedLoop(1, through);
    await writer.flush();
    const baseline: number[] = [];
    const requested: number[] = [];
    const gated: number[] = [];
    const awaited: number[] = [];
    const unsentPhases: number[] = [];
    const rowPhases: number[] = [];
    const postmaster = Number(
      readFileSync(path.join(platform.dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    const cpu: string[] = [];
    // This process's GC pauses (ms), summed as V8 reports them.
    let gcMs = 0;
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcMs += e.duration;
    });
    gc.observe({ entryTypes: ['gc'] });
    // One phase; its CPU per call is read after the ledger rows it appended are committed.
    const phase = async (name: string, one: () => Promise<unknown>): Promise<number> => {
      const copiesBefore = copies;
      const t0 = [process.cpuUsage(), ticksOf(receiver.pid as number), clusterTicks(postmaster)] as const;
      const gc0 = gcMs;
      const elu0 = performance.eventLoopUtilization();
      const rate = await closedLoop(SECONDS, one);
      const busy = performance.eventLoopUtilization(elu0).utilization;
      await writer.flush();
      const used = process.cpuUsage(t0[0]);
      const perCall = (ms: number) => ((ms * 1000) / (rate * SECONDS)).toFixed(1);
      cpu.push(
        `  ${name.padEnd(9)} loop busy ${busy.toFixed(2)}, bench ${perCall((used.user + used.system) / 1000)} (GC ${perCall(gcMs - gc0)}), receiver ${perCall((ticksOf(receiver.pid as number) - t0[1]) * 10)}, postgres ${perCall((clusterTicks(postmaster) - t0[2]) * 10)}${copies > copiesBefore ? `; rows a COPY ${((rate * SECONDS) / (copies - copiesBefore)).toFixed(0)}` : ''}`,
      );
      return rate;
    };
    for (let i = 0; i < ROUNDS; i++) {
      baseline.push(await phase('direct', direct));
      requested.push(await phase('request()', viaRequestApi));
      gated.push(await phase('gateway', through));
      awaited.push(await phase('awaited', accounted));
      unsentPhases.push(await phase('unsent', unsent));
      rowPhases.push(await phase('+row', directAndRow));
    }
    await writer.flush();
    const rows = Number((await pool.query('SELECT count(*) AS n FROM egress_ledger')).rows[0].n);
    const b = Math.max(...baseline);
    const g = Math.max(...gated);
    const a = Math.max(...awaited);
    const q = Math.max(...requested);
    const u = Math.max(...unsentPhases);
    const w = Math.max(...rowPhases);
    const r = ratio(g, b);
    const atRisk = writer.unacknowledgedHighWater();
    process.stdout.write(
      [
        `undici straight to 127.0.0.1   ${b.toFixed(0).padStart(7)} calls/s  (phases: ${baseline.map((x) => x.toFixed(0)).join(', ')})`,
        `through the egress gateway      ${g.toFixed(0).padStart(7)} calls/s  (phases: ${gated.map((x) => x.toFixed(0)).join(', ')}; ledger rows: ${rows})`,
        `ratio                           ${r}  (goal ≥ 0.8)`,
        `undici request() API, straight  ${q.toFixed(0).padStart(7)} calls/s  (phases: ${requested.map((x) => x.toFixed(0)).join(', ')}; the gateway's ratio to it ${ratio(g, q)})`,
        `… answered after its row commits ${a.toFixed(0).padStart(7)} calls/s  (phases: ${awaited.map((x) => x.toFixed(0)).join(', ')}; ratio ${ratio(a, b)})`,
        'What the shortfall is made of (each its best phase, against the same baseline):',
        `  the gateway, its ledger COPY not sent  ${u.toFixed(0).padStart(7)} calls/s  (ratio ${ratio(u, b)}: checks, guard, the ledger's ring and encoding; PostgreSQL idle)`,
        `  direct calls, each followed by its row ${w.toFixed(0).padStart(7)} calls/s  (ratio ${ratio(w, b)}: no checks or guard; the writer and PostgreSQL at work)`,
        `ledger rows unacknowledged at once, at most: ${atRisk} (${CONCURRENCY} calls in flight; rows of calls answered first)`,
        'CPU µs per call, by phase (the ledger rows of a phase committed before it is read):',
        ...cpu,
        '',
      ].join('\n'),
    );
    gc.disconnect();
    await gateway.close();
    await gatewayUnsent.close();
    await writer.stop();
    await unsentWriter.stop();
    return [
      {
        metric: 'egress_calls_per_s',
        value: Math.round(g),
        unit: 'calls/s',
        baseline: Math.round(b),
        ratio: r,
      },
      {
        metric: 'egress_accounted_calls_per_s',
        value: Math.round(a),
        unit: 'calls/s',
        baseline: Math.round(b),
        ratio: ratio(a, b),
      },
      {
        metric: 'egress_own_work_calls_per_s',
        value: Math.round(u),
        unit: 'calls/s',
        baseline: Math.round(b),
        ratio: ratio(u, b),
      },
      {
        metric: 'egress_direct_with_row_calls_per_s',
        value: Math.round(w),
        unit: 'calls/s',
        baseline: Math.round(b),
        ratio: ratio(w, b),
      },
      {
        metric: 'egress_ledger_unacknowledged_max',
        value: atRisk,
        unit: 'rows',
        baseline: CONCURRENCY,
        ratio: ratio(atRisk, CONCURRENCY),
      },
    ];
  } finally {
    await agent.close();
    await pool.end();
    await platform.stop();
    await stopProcess(receiver);
  }
}
