import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts a Node script as its own process (so the load generator never shares its event loop);
 * `ipc`: with a message channel to it (`child.send`, `'message'`).
 */
export function startProcess(
  args: string[],
  env: Record<string, string>,
  opts: { ipc?: boolean } = {},
): ChildProcess {
  return spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: opts.ipc ? ['ignore', 'ignore', 'inherit', 'ipc'] : ['ignore', 'ignore', 'inherit'],
  });
}

export async function waitFor(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export type LoadResult = { rps: number; p50: number; p99: number; errors: number; non2xx: number };

/** Closed-loop load with autocannon: `connections` clients, each sending back to back for `seconds`. */
export async function load(opts: {
  url: string;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string;
  /** A fresh body per request (unique event ids, so nothing is a duplicate). */
  makeBody?: () => string;
  connections?: number;
  seconds?: number;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: opts.url,
    method: opts.method ?? 'GET',
    headers: opts.headers ?? {},
    ...(opts.body === undefined ? {} : { body: opts.body }),
    ...(opts.makeBody
      ? {
          requests: [
            {
              setupRequest: (req: Record<string, unknown>) => ({
                ...req,
                body: (opts.makeBody as () => string)(),
              }),
            },
          ],
        }
      : {}),
    connections: opts.connections ?? 10,
    duration: opts.seconds ?? 10,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/**
 * Open-loop load at a steady rate: request i is due at start + i / rate whatever the server does, and
 * its latency counts from that due time, so a stalled server is charged for every request it held up
 * (no coordinated omission). autocannon's rate mode is not this: each connection sends its quota for
 * the second back to back as the second opens, then waits, and it backfills every response longer
 * than 1 ms with one extra sample per millisecond, so its p99 at a fixed rate measures the burst and
 * that backfill more than the server.
 */
export async function openLoopLoad(opts: {
  url: string;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  /** A body per request (built when the request is due: prebuild them if that costs the server). */
  makeBody?: () => string;
  rate: number;
  seconds: number;
  /** Sent at the rate before the measured seconds, on the same sockets, and not counted. */
  warmSeconds?: number;
  /** Enough that the client never runs out of sockets at the rate; extra ones stay idle. */
  connections?: number;
}): Promise<LoadResult> {
  const { Pool } = await import('undici');
  const url = new URL(opts.url);
  const pool = new Pool(url.origin, { connections: opts.connections ?? 64, pipelining: 1 });
  const warm = Math.round(opts.rate * (opts.warmSeconds ?? 0));
  const total = warm + Math.max(1, Math.round(opts.rate * opts.seconds));
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  const send = (due: number, counted: boolean) => {
    const request = pool
      .request({
        method: opts.method ?? 'GET',
        path: url.pathname + url.search,
        headers: opts.headers ?? {},
        ...(opts.makeBody ? { body: opts.makeBody() } : {}),
      })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
        else if (counted) latencies.push(performance.now() - due);
      })
      .catch(() => {
        errors++;
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };
  while (sent < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) / 1000) * opts.rate) + 1);
    for (; sent < due; sent++) send(start + (sent * 1000) / opts.rate, sent >= warm);
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000 - (opts.warmSeconds ?? 0);
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 100) /
    100;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors, non2xx };
}

/**
 * The embedded cluster's superuser, for baselines that write straight into the tables. Idle
 * connections stay open until the pool ends: a backend that exits takes its CPU time out of the
 * cluster's sum that benches read per phase.
 */
export async function superuserPool(dataDir: string, max: number): Promise<pg.Pool> {
  const creds = JSON.parse(await readFile(path.join(dataDir, 'postgres-credentials.json'), 'utf8'));
  return new pg.Pool({
    host: path.join(dataDir, 'run'),
    user: 'postgres',
    password: creds.superuserPassword,
    database: 'layers',
    max,
    idleTimeoutMillis: 0,
  });
}

export const ratio = (value: number, baseline: number) => Math.round((value / baseline) * 1000) / 1000;

export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export type Platform = {
  base: string;
  dataDir: string;
  secret: string;
  projectId: string;
  publishableKey: string;
  project: unknown;
  /** The server process, for memory readings. */
  pid: number;
  stop(): Promise<void>;
};

/** The real platform as its own process on a fresh embedded database, with an org, a project and keys. */
export async function startPlatform(env: Record<string, string> = {}): Promise<Platform> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'layers-bench-'));
  const port = await freePort();
  const child = startProcess(['src/main.ts', 'serve'], {
    LAYERS_DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LAYERS_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    LAYERS_RATE_LIMIT_SECRET_PER_S: '1000000',
    LAYERS_RATE_LIMIT_PUBLISHABLE_PER_S: '1000000',
    // The per-org limits too: a bench's many clients share one org, and measure capacity, not quota.
    LAYERS_RATE_LIMIT_ORG_SECRET_PER_S: '1000000',
    LAYERS_RATE_LIMIT_ORG_PUBLISHABLE_PER_S: '1000000',
    ...env,
  });
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcess(child);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(`${base}/readyz`);
    const post = async (url: string, auth: string, body: unknown) =>
      (await (
        await fetch(`${base}${url}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as Record<string, unknown>;
    const org = (await post('/admin/v1/orgs', BENCH_ADMIN_TOKEN, { name: 'Bench' })) as {
      api_key: { secret: string };
    };
    const project = (await post('/v1/projects', org.api_key.secret, { name: 'Bench project' })) as {
      id: string;
    };
    const key = (await post('/v1/api-keys', org.api_key.secret, {
      name: 'sdk',
      type: 'publishable',
      project_id: project.id,
    })) as {
      secret: string;
    };
    return {
      base,
      dataDir,
      secret: org.api_key.secret,
      projectId: project.id,
      publishableKey: key.secret,
      project,
      pid: child.pid as number,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
