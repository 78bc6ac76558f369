import { freePort, load, ratio, startPlatform, startProcess, stopProcess, waitFor } from './bench-support.ts';
import type { BenchResult } from './run.ts';

/**
 * Authenticated `GET /v1/projects/:id` on the real platform (key check, tenant transaction with RLS,
 * request log, metrics, logging at info) against a bare Fastify route returning the same JSON.
 * Same tool (autocannon), same connections and duration, same run. Goal: ratio ≥ 0.5.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 10;

export async function run(): Promise<BenchResult[]> {
  const platform = await startPlatform();
  let bare: ReturnType<typeof startProcess> | undefined;
  try {
    const auth = { authorization: `Bearer ${platform.secret}` };
    const barePort = await freePort();
    bare = startProcess(['bench/bare-project-server.ts'], {
      PORT: String(barePort),
      BENCH_PROJECT_JSON: JSON.stringify(platform.project),
    });
    const bareUrl = `http://127.0.0.1:${barePort}/v1/projects/${platform.projectId}`;
    const platformUrl = `${platform.base}/v1/projects/${platform.projectId}`;
    await waitFor(bareUrl);

    process.stdout.write(`warming up (${CONNECTIONS} connections)…\n`);
    await load({ url: bareUrl, seconds: 2, connections: CONNECTIONS });
    await load({ url: platformUrl, headers: auth, seconds: 2, connections: CONNECTIONS });

    const baseline = await load({ url: bareUrl, seconds: SECONDS, connections: CONNECTIONS });
    const platformRun = await load({
      url: platformUrl,
      headers: auth,
      seconds: SECONDS,
      connections: CONNECTIONS,
    });
    if (platformRun.non2xx > 0 || platformRun.errors > 0) {
      throw new Error(
        `platform answered ${platformRun.non2xx} non-2xx and ${platformRun.errors} errors during the run`,
      );
    }

    const r = ratio(platformRun.rps, baseline.rps);
    process.stdout.write(
      [
        `bare Fastify route      ${baseline.rps.toFixed(0).padStart(7)} req/s   p50 ${baseline.p50} ms   p99 ${baseline.p99} ms`,
        `GET /v1/projects/:id    ${platformRun.rps.toFixed(0).padStart(7)} req/s   p50 ${platformRun.p50} ms   p99 ${platformRun.p99} ms`,
        `ratio                   ${r} (goal ≥ 0.5)`,
        '',
      ].join('\n'),
    );
    return [
      {
        metric: 'authenticated_get_project_rps',
        value: Math.round(platformRun.rps),
        unit: 'req/s',
        baseline: Math.round(baseline.rps),
        ratio: r,
      },
    ];
  } finally {
    if (bare) await stopProcess(bare);
    await platform.stop();
  }
}
