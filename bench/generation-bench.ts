import { type LoadResult, load, openLoopLoad, ratio, startPlatform } from './bench-support.ts';
import type { BenchResult } from './run.ts';

/**
 * Content generation with the offline `default` provider on the real platform (`layers serve`: API
 * and worker in one process, as a fresh install runs). The question is both figures at the
 * same time: how many generations (copy + 2 images + 1 video each) finish per minute while the API
 * serves a steady load, and how much that rendering costs the API's p99.
 *
 * 1. The idle peak of `GET /v1/projects` (closed loop, nothing rendering).
 * 2. The API load of every later window: an open loop at a fixed rate (requests due at a steady
 *    pace whatever the server does, latency counted from when each was due), half that peak by
 *    default (BENCH_RATE overrides). A closed loop would saturate a small machine, where the
 *    low-priority render process gets no CPU and the count is 0; autocannon's rate mode sends each
 *    second's quota in a burst and backfills slow responses, so its p99 measured the client.
 *    Each window at the rate opens with WARM_SECONDS at that rate, on the same sockets, that are
 *    not counted: both p99s are of a steady state, not of a new pool's connections and the switch.
 * 3. Idle at that rate, for as long as the rendering window: the p99 baseline.
 * 4. Rendering alone (generations back to back, no API load): the generations-per-minute baseline.
 * 5. Rendering under the API load at that rate: generations finished in this window and the p99 in
 *    it, measured together.
 * Goal: p99 under rendering ≤ 2 × idle at the same rate. JSON: generations/min under the load
 * (baseline: alone) and the p99 while rendering (baseline: idle at the same rate).
 */
const PEAK_SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
// Long enough for several generations per window (~15 s each alone on 2 cores): the count is whole.
const RENDER_SECONDS = Number(process.env.BENCH_RENDER_SECONDS ?? 90);
const CONNECTIONS = 10;
const WARM_SECONDS = 3;
// Generations kept queued ahead of the worker, so rendering never pauses during a window.
const QUEUE_AHEAD = 3;
const POLL_MS = 250;

const BRIEF = {
  product: 'Acme Cold Brew',
  audience: 'busy commuters',
  tone: 'bold',
  call_to_action: 'Shop now',
};

const round1 = (n: number) => Math.round(n * 10) / 10;

export async function run(): Promise<BenchResult[]> {
  const platform = await startPlatform({ LOG_LEVEL: 'warn' });
  try {
    const auth = { authorization: `Bearer ${platform.secret}` };
    const listUrl = `${platform.base}/v1/projects`;
    const start = async () => {
      const res = await fetch(`${platform.base}/v1/projects/${platform.projectId}/generations`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ brief: BRIEF }),
      });
      if (res.status !== 202) throw new Error(`POST generations answered ${res.status}`);
      return ((await res.json()) as { id: string }).id;
    };
    const status = async (id: string) =>
      (
        (await (await fetch(`${platform.base}/v1/generations/${id}`, { headers: auth })).json()) as {
          status: string;
        }
      ).status;
    /** Closed loop: the route's capacity. */
    const peakLoad = (seconds: number) =>
      load({ url: listUrl, headers: auth, seconds, connections: CONNECTIONS });
    /** Open loop at a steady rate: the latency a client sees at that rate. */
    const atRate = (seconds: number, rate: number) =>
      openLoopLoad({ url: listUrl, headers: auth, seconds, rate, warmSeconds: WARM_SECONDS });

    const waitDone = async (id: string) => {
      for (let s = await status(id); s !== 'succeeded'; s = await status(id)) {
        if (s === 'failed') throw new Error('a generation failed during the bench');
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    };

    process.stdout.write('warming up: one generation alone, and the list route…\n');
    const t0 = performance.now();
    await waitDone(await start());
    const oneS = (performance.now() - t0) / 1000;
    await peakLoad(2);

    const peak = await peakLoad(PEAK_SECONDS);
    const rate = process.env.BENCH_RATE
      ? Number(process.env.BENCH_RATE)
      : Math.max(1, Math.floor(peak.rps / 2));
    process.stdout.write(`idle peak ${peak.rps.toFixed(0)} req/s; the later windows at ${rate} req/s\n`);
    // As long as the rendering window: a p99 of the same number of requests, with as many of the
    // platform's own periodic pauses in it.
    const idle = await atRate(RENDER_SECONDS, rate);

    // From here to the end QUEUE_AHEAD generations stay pending, so the worker renders without a
    // pause through both windows; `finished` counts completions as the poll sees them.
    let stop = false;
    let finished = 0;
    const pending = new Set<string>();
    const feeder = (async () => {
      while (!stop) {
        while (pending.size < QUEUE_AHEAD) pending.add(await start());
        for (const id of [...pending]) {
          const s = await status(id);
          if (s === 'failed') throw new Error('a generation failed during the bench');
          if (s === 'succeeded') {
            pending.delete(id);
            finished++;
          }
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    })();
    // Settles only when the feeder fails, so that a window ends with the failure instead of its load.
    const feederFailed = feeder.then(() => new Promise<never>(() => undefined));
    feederFailed.catch(() => undefined);
    /** Generations finished while `during` runs, per minute of it. */
    async function measure<T>(during: () => Promise<T>) {
      const before = finished;
      const began = performance.now();
      const result = await Promise.race([during(), feederFailed]);
      const minutes = (performance.now() - began) / 60_000;
      return { result, finished: finished - before, minutes };
    }
    let alone: Awaited<ReturnType<typeof measure<void>>>;
    let busy: Awaited<ReturnType<typeof measure<LoadResult>>>;
    try {
      // The first render is under way before the first window opens.
      await Promise.race([new Promise((r) => setTimeout(r, 1500)), feederFailed]);
      process.stdout.write(`rendering alone for ${RENDER_SECONDS} s…\n`);
      alone = await measure(() => new Promise<void>((r) => setTimeout(r, RENDER_SECONDS * 1000)));
      process.stdout.write(`rendering under ${rate} req/s for ${RENDER_SECONDS} s…\n`);
      busy = await measure(() => atRate(RENDER_SECONDS, rate));
    } finally {
      stop = true;
      await feeder.catch(() => undefined);
    }
    const loads: LoadResult[] = [peak, idle, busy.result];
    if (loads.some((l) => l.non2xx + l.errors > 0))
      throw new Error('the list route answered errors during the bench');

    const alonePerMinute = round1(alone.finished / alone.minutes);
    const busyPerMinute = round1(busy.finished / busy.minutes);
    const p99Ratio = ratio(busy.result.p99, Math.max(idle.p99, 1));
    const row = (name: string, l: LoadResult) =>
      `${name.padEnd(38)} ${l.rps.toFixed(0).padStart(6)} req/s   p50 ${l.p50} ms   p99 ${l.p99} ms`;
    process.stdout.write(
      [
        row('GET /v1/projects idle, closed loop', peak),
        `one generation alone (warm-up)         ${oneS.toFixed(1)} s`,
        row(`GET /v1/projects idle at ${rate} req/s`, idle),
        row(`GET /v1/projects rendering at ${rate} req/s`, busy.result),
        `p99 ratio rendering / idle at ${rate} req/s   ${p99Ratio} (goal ≤ 2)`,
        `generations alone (no API load)        ${alone.finished} in ${(alone.minutes * 60).toFixed(0)} s = ${alonePerMinute}/min`,
        `generations under the API load         ${busy.finished} in ${(busy.minutes * 60).toFixed(0)} s = ${busyPerMinute}/min`,
        '',
      ].join('\n'),
    );
    return [
      {
        metric: 'default_generations_per_minute',
        value: busyPerMinute,
        unit: 'generations/min',
        baseline: alonePerMinute,
        ratio: ratio(busyPerMinute, Math.max(alonePerMinute, 0.1)),
      },
      {
        metric: 'list_projects_p99_while_rendering',
        value: busy.result.p99,
        unit: 'ms',
        baseline: idle.p99,
        ratio: p99Ratio,
      },
    ];
  } finally {
    await platform.stop();
  }
}
