import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, load, ratio, startProcess, stopProcess, waitFor } from './bench-support.ts';
import type { BenchResult } from './run.ts';

/**
 * Authenticated `GET /v1/projects/:id` on the real platform (key check, tenant transaction with RLS,
 * request log, metrics, logging at info) against a bare Fastify route returning the same JSON.
 * Same tool (autocannon), same connections and duration, same run. Goal: ratio ≥ 0.5.
 */
const ADMIN = 'bench-admin-token-0123456789abcdef';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 10;

export async function run(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'layers-bench-'));
  const platformPort = await freePort();
  const platform = startProcess(['src/main.ts', 'serve'], {
    LAYERS_DATA_DIR: dataDir,
    PORT: String(platformPort),
    HOST: '127.0.0.1',
    LAYERS_ADMIN_TOKEN: ADMIN,
    LAYERS_RATE_LIMIT_SECRET_PER_S: '1000000',
  });
  let bare: ReturnType<typeof startProcess> | undefined;
  try {
    const base = `http://127.0.0.1:${platformPort}`;
    await waitFor(`${base}/readyz`);
    const org = (await (
      await fetch(`${base}/admin/v1/orgs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Bench' }),
      })
    ).json()) as { api_key: { secret: string } };
    const auth = { authorization: `Bearer ${org.api_key.secret}` };
    const project = (await (
      await fetch(`${base}/v1/projects`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Bench project' }),
      })
    ).json()) as { id: string };

    const barePort = await freePort();
    bare = startProcess(['bench/bare-project-server.ts'], {
      PORT: String(barePort),
      BENCH_PROJECT_JSON: JSON.stringify(project),
    });
    await waitFor(`http://127.0.0.1:${barePort}/v1/projects/${project.id}`);

    process.stdout.write(`warming up (${CONNECTIONS} connections)…\n`);
    await load({
      url: `http://127.0.0.1:${barePort}/v1/projects/${project.id}`,
      seconds: 2,
      connections: CONNECTIONS,
    });
    await load({
      url: `${base}/v1/projects/${project.id}`,
      headers: auth,
      seconds: 2,
      connections: CONNECTIONS,
    });

    const baseline = await load({
      url: `http://127.0.0.1:${barePort}/v1/projects/${project.id}`,
      seconds: SECONDS,
      connections: CONNECTIONS,
    });
    const platformRun = await load({
      url: `${base}/v1/projects/${project.id}`,
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
      {
        metric: 'authenticated_get_project_p99',
        value: platformRun.p99,
        unit: 'ms',
        baseline: baseline.p99,
        ratio: ratio(platformRun.p99, baseline.p99),
      },
    ];
  } finally {
    if (bare) await stopProcess(bare);
    await stopProcess(platform);
    await rm(dataDir, { recursive: true, force: true });
  }
}
