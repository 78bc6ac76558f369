import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN, REPO_ROOT, runCli } from '../helpers/cli.ts';

const ADMIN = 'lifecycle-admin-token-0123456789';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForHealthy(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early with ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become ready');
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

/** `layers serve` as a real process on a fresh data dir: start, serve, Ctrl-C, restart, CLI alongside. */
describe('process lifecycle (embedded PostgreSQL)', () => {
  let dataDir: string;
  const env = () => ({
    LAYERS_DATA_DIR: dataDir,
    LAYERS_ADMIN_TOKEN: ADMIN,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  });
  const start = (port: number) =>
    spawn(process.execPath, [MAIN, 'serve'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env(), PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('starts within 20 s on a fresh data dir, stops cleanly on SIGINT, and keeps all data across restarts', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'layers-life-'));
    const port = await freePort();
    const t0 = Date.now();
    const first = start(port);
    await waitForHealthy(port, first, 20_000);
    expect(Date.now() - t0).toBeLessThan(20_000);

    const created = await fetch(`http://127.0.0.1:${port}/admin/v1/orgs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Before restart' }),
    });
    expect(created.status).toBe(201);

    // The CLI works while the server runs on the same data dir (it attaches to the running database).
    const alongside = await runCli(['org', 'create', '--name', 'While running', '--json'], env());
    expect(alongside.code, alongside.stderr).toBe(0);
    expect(JSON.parse(alongside.stdout).api_key.secret).toMatch(/^lyr_sk_/);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    first.kill('SIGINT');
    expect(await exitOf(first)).toBe(0);
    await expect(stat(path.join(dataDir, 'pg', 'postmaster.pid'))).rejects.toThrow();

    // …and while it does not (it starts the database, then stops it again).
    const offline = await runCli(['org', 'create', '--name', 'While stopped', '--json'], env());
    expect(offline.code, offline.stderr).toBe(0);
    await expect(stat(path.join(dataDir, 'pg', 'postmaster.pid'))).rejects.toThrow();

    const second = start(port);
    await waitForHealthy(port, second, 20_000);
    const orgs = (await (
      await fetch(`http://127.0.0.1:${port}/admin/v1/orgs?limit=10`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      })
    ).json()) as { data: { name: string }[] };
    expect(orgs.data.map((o: { name: string }) => o.name).sort()).toEqual([
      'Before restart',
      'While running',
      'While stopped',
    ]);
    second.kill('SIGTERM');
    expect(await exitOf(second)).toBe(0);
  }, 90_000);

  it('a fatal start-up error (port taken) ends the process non-zero and stops the database it started', async () => {
    const busyDir = await mkdtemp(path.join(tmpdir(), 'layers-life-busy-'));
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const address = blocker.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const child = spawn(process.execPath, [MAIN, 'serve'], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', ...env(), LAYERS_DATA_DIR: busyDir, PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let said = '';
      child.stdout?.on('data', (c: Buffer) => {
        said += c.toString();
      });
      child.stderr?.on('data', (c: Buffer) => {
        said += c.toString();
      });
      expect(await exitOf(child), said).toBe(1);
      expect(said).toContain('EADDRINUSE');
      // No PostgreSQL is left running on the data dir without a server.
      await expect(stat(path.join(busyDir, 'pg', 'postmaster.pid'))).rejects.toThrow();
    } finally {
      blocker.close();
      await rm(busyDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('explains usage errors with exit code 2', async () => {
    const res = await runCli(['org', 'create'], { LAYERS_DATA_DIR: '/nonexistent-not-used' });
    expect(res.code).toBe(2);
    expect(res.stderr + res.stdout).toContain('--name is required');
  });
});
