import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { freePort, ratio, startPlatform, startProcess, stopProcess, waitFor } from './bench-support.ts';
import type { BenchResult } from './run.ts';

/**
 * Webhook deliveries per second to a local receiver on 127.0.0.1: the real path (events written by
 * the API in their business transactions, then a separate `layers worker` process claiming each
 * delivery, signing, POSTing through the SSRF-guarded client and recording the attempt) against a
 * baseline measured in the same run: the same number of Standard-Webhooks-signed POSTs sent straight
 * to the same receiver by a plain loop with the same concurrency (the worker's 4).
 */
const DELIVERIES = Number(process.env.BENCH_WEBHOOKS ?? 2000);
const CONCURRENCY = 4;

type Stats = { count: number; first_at: number; last_at: number };

const rateOf = (s: Stats) => ((s.count - 1) / (s.last_at - s.first_at)) * 1000;

async function stats(base: string): Promise<Stats> {
  return (await (await fetch(`${base}/stats`)).json()) as Stats;
}

async function untilCount(base: string, n: number, timeoutMs: number): Promise<Stats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await stats(base);
    if (s.count >= n) return s;
    if (Date.now() > deadline) throw new Error(`receiver got ${s.count} of ${n} deliveries`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What a minimal sender does: sign (Standard Webhooks) and POST, `CONCURRENCY` at a time. */
async function plainLoop(url: string, n: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const key = randomBytes(32);
  let next = 0;
  const post = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const id = `evt_baseline_${i}`;
      const timestamp = Math.floor(Date.now() / 1000);
      const body = JSON.stringify({
        id,
        type: 'project.created',
        timestamp: new Date().toISOString(),
        data: { id: `proj_${i}` },
      });
      const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': `v1,${signature}`,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < n; i = next++) await post(i);
    }),
  );
  agent.destroy();
}

export async function run(): Promise<BenchResult[]> {
  const receiverPort = await freePort();
  const receiver = startProcess(['bench/webhook-receiver-server.ts'], { PORT: String(receiverPort) });
  const receiverBase = `http://127.0.0.1:${receiverPort}`;
  // The API alone: deliveries queue up until the worker process starts.
  const platform = await startPlatform({ LAYERS_ROLE: 'api', LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true' });
  let worker: ReturnType<typeof startProcess> | undefined;
  try {
    await waitFor(`${receiverBase}/stats`);
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${platform.base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${platform.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${path} answered ${res.status}`);
      return res.json();
    };
    await post('/v1/webhooks', { url: `${receiverBase}/hooks`, events: ['project.created'] });

    process.stdout.write(`queueing ${DELIVERIES} events (POST /v1/projects, each one delivery)…\n`);
    let made = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (made < DELIVERIES) {
          made++;
          await post('/v1/projects', { name: `bench ${made}` });
        }
      }),
    );

    process.stdout.write(`starting a worker process (concurrency ${CONCURRENCY})…\n`);
    worker = startProcess(['src/main.ts', 'worker'], {
      LAYERS_DATA_DIR: platform.dataDir,
      LAYERS_ALLOW_PRIVATE_WEBHOOKS: 'true',
      LOG_LEVEL: 'warn',
    });
    const delivered = await untilCount(receiverBase, DELIVERIES, 300_000);
    const platformRate = rateOf(delivered);

    await fetch(`${receiverBase}/reset`, { method: 'POST' });
    await plainLoop(`${receiverBase}/hooks`, DELIVERIES);
    const baselineRate = rateOf(await untilCount(receiverBase, DELIVERIES, 60_000));

    const r = ratio(platformRate, baselineRate);
    process.stdout.write(
      [
        `plain signed POST loop     ${baselineRate.toFixed(0).padStart(7)} deliveries/s  (${DELIVERIES}, ${CONCURRENCY} at a time)`,
        `layers worker deliveries   ${platformRate.toFixed(0).padStart(7)} deliveries/s  (claim, sign, guarded POST, record)`,
        `ratio                      ${r}`,
        '',
      ].join('\n'),
    );
    return [
      {
        metric: 'webhook_deliveries_per_s',
        value: Math.round(platformRate),
        unit: 'deliveries/s',
        baseline: Math.round(baselineRate),
        ratio: r,
      },
    ];
  } finally {
    if (worker) await stopProcess(worker);
    await platform.stop();
    await stopProcess(receiver);
  }
}
