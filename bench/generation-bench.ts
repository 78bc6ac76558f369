import { load, ratio, startPlatform } from './bench-support.ts';
import type { BenchResult } from './run.ts';

/**
 * Content generation with the offline `default` provider on the real platform (`layers serve`: API
 * and worker in one process, as a fresh install runs): generations per minute (copy + 2 images + 1
 * video each), and the p99 latency of `GET /v1/projects` measured while generations render, against
 * the same GET with nothing rendering (same tool, connections and duration, same run).
 * Goal: p99 under rendering ≤ 2 × idle.
 */
const IDLE_SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const RENDER_SECONDS = Number(process.env.BENCH_RENDER_SECONDS ?? 60);
const CONNECTIONS = 10;
// Generations kept queued ahead of the worker, so rendering never pauses during the measurement.
const QUEUE_AHEAD = 3;
// Optional fixed request rate (autocannon overallRate) for both phases; unset: closed loop, which
// saturates a small machine and leaves a nice-10 render almost no CPU (renders yield to the API).
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const rate = RATE === undefined ? {} : { overallRate: RATE };

const BRIEF = {
  product: 'Acme Cold Brew',
  audience: 'busy commuters',
  tone: 'bold',
  call_to_action: 'Shop now',
};

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
    const waitDone = async (id: string) => {
      for (;;) {
        const s = await status(id);
        if (s === 'succeeded') return;
        if (s === 'failed') throw new Error('a generation failed during the bench');
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    process.stdout.write('warming up: one generation alone, and the list route…\n');
    const t0 = performance.now();
    await waitDone(await start());
    const aloneS = (performance.now() - t0) / 1000;
    await load({ url: listUrl, headers: auth, seconds: 2, connections: CONNECTIONS });

    const idle = await load({
      url: listUrl,
      headers: auth,
      seconds: IDLE_SECONDS,
      connections: CONNECTIONS,
      ...rate,
    });

    // Rendering phase: keep QUEUE_AHEAD generations pending, count those that finish inside the window.
    let stop = false;
    let finished = 0;
    const pending = new Set<string>();
    let feederError: unknown;
    const feeder = (async () => {
      while (!stop) {
        while (pending.size < QUEUE_AHEAD) pending.add(await start());
        for (const id of [...pending]) {
          const s = await status(id);
          if (s === 'succeeded') {
            pending.delete(id);
            if (!stop) finished++;
          } else if (s === 'failed') throw new Error('a generation failed during the bench');
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })().catch((e: unknown) => {
      feederError = e;
    });
    // Let the first render start before measuring.
    await new Promise((r) => setTimeout(r, 1500));
    const began = performance.now();
    const busy = await load({
      url: listUrl,
      headers: auth,
      seconds: RENDER_SECONDS,
      connections: CONNECTIONS,
      ...rate,
    });
    const elapsedMin = (performance.now() - began) / 60_000;
    stop = true;
    await feeder;
    if (feederError) throw feederError;
    if (idle.non2xx + busy.non2xx + idle.errors + busy.errors > 0)
      throw new Error('the list route answered errors during the bench');

    const perMinute = Math.round((finished / elapsedMin) * 10) / 10;
    const alonePerMinute = Math.round((60 / aloneS) * 10) / 10;
    const p99Ratio = ratio(busy.p99, Math.max(idle.p99, 1));
    process.stdout.write(
      [
        `one generation alone        ${aloneS.toFixed(1)} s (${alonePerMinute}/min if back to back)`,
        `generations under load      ${finished} in ${(elapsedMin * 60).toFixed(0)} s = ${perMinute}/min`,
        `GET /v1/projects idle       ${idle.rps.toFixed(0).padStart(6)} req/s   p50 ${idle.p50} ms   p99 ${idle.p99} ms`,
        `GET /v1/projects rendering  ${busy.rps.toFixed(0).padStart(6)} req/s   p50 ${busy.p50} ms   p99 ${busy.p99} ms`,
        `p99 ratio                   ${p99Ratio} (goal ≤ 2)`,
        '',
      ].join('\n'),
    );
    return [
      {
        metric: 'default_generations_per_minute',
        value: perMinute,
        unit: 'generations/min',
        baseline: alonePerMinute,
        ratio: ratio(perMinute, alonePerMinute),
      },
      {
        metric: 'list_projects_p99_while_rendering',
        value: busy.p99,
        unit: 'ms',
        baseline: idle.p99,
        ratio: p99Ratio,
      },
    ];
  } finally {
    await platform.stop();
  }
}
