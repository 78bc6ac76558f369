import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyCheckout } from '../helpers/checkout-copy.ts';
import { databaseUrl } from '../helpers/cli.ts';
import {
  freePort,
  isGone,
  postmasterPid,
  processTree,
  waitForReady,
  waitUntilGone,
} from '../helpers/server-process.ts';
import { startBlackholeProxy } from '../helpers/tcp-blackhole.ts';
import { createTestDatabase } from '../helpers/test-cluster.ts';

/**
 * The README's `npm start` in a fresh checkout, as a new user runs it: the repository's files are
 * copied into a directory of mode 0700 (what `mktemp -d` or a clone under /root gives), with the
 * PostgreSQL binaries really inside it (see checkout-copy.ts). Then, as real processes:
 * - the default data dir inside that checkout: as root the embedded PostgreSQL (run as the
 *   unprivileged `postgres` user) cannot reach it, so the process ends non-zero with a sentence
 *   naming the directory and the fix; as any other user it is ready;
 * - a data dir the unprivileged user can reach: ready (as root the binaries are copied out of the
 *   unreachable checkout), and SIGTERM to npm alone ends every process of the server;
 * - DATABASE_URL at a throwaway database (through a proxy) and a data dir not created yet: ready;
 *   then the database goes silent while a request needs it: SIGTERM still ends the server, within
 *   the shutdown deadline (the default), naming what it abandoned.
 */
const isRoot = process.getuid?.() === 0;
const ADMIN = 'fresh-clone-admin-token-0123456789';

type Started = { npm: ChildProcess; output: () => string; track: (pids: number[]) => number[] };

describe('a fresh checkout under a 0700 directory, started with npm start', () => {
  let parent: string;
  let checkout: string;
  const cleanup: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    parent = await mkdtemp(path.join(tmpdir(), 'layers-clone-'));
    expect((await stat(parent)).mode & 0o777).toBe(0o700);
    checkout = path.join(parent, 'layers');
    await copyCheckout(checkout);
  }, 60_000);

  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  /** `group`: npm leads its own process group, as a terminal's foreground job does. */
  function npmStart(env: Record<string, string>, opts: { group?: boolean } = {}): Started {
    const npm = spawn('npm', ['start'], {
      cwd: checkout,
      detached: opts.group === true,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        LAYERS_ADMIN_TOKEN: ADMIN,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    npm.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    // Whatever a failed assertion leaves running is ended by pid (only what this test started).
    const seen = new Set<number>();
    cleanup.push(async () => {
      for (const pid of [...seen, ...(await processTree(npm.pid as number))]) {
        if (await isGone(pid)) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    return {
      npm,
      output: () => output,
      track: (pids) => {
        for (const pid of pids) seen.add(pid);
        return pids;
      },
    };
  }

  const exited = (child: ChildProcess, timeoutMs: number): Promise<number | null | 'running'> =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      const timer = setTimeout(() => resolve('running'), timeoutMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });

  it('with its default data dir inside the checkout: the clear error and a non-zero exit as root, ready otherwise', async () => {
    const port = await freePort();
    const server = npmStart({ PORT: String(port) });
    if (isRoot) {
      const code = await exited(server.npm, 45_000);
      expect(code, server.output()).not.toBe('running');
      expect(code, server.output()).not.toBe(0);
      const said = server.output();
      expect(said).toContain(`cannot enter ${parent}`);
      expect(said).toContain('LAYERS_DATA_DIR');
    } else {
      await waitForReady(port, server.npm, 45_000);
      server.npm.kill('SIGTERM');
      expect(await exited(server.npm, 30_000)).toBe(0);
    }
  }, 60_000);

  it('with a data dir PostgreSQL can reach: ready, and SIGTERM to npm alone ends every process of the server within 15 s', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'layers-clone-data-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const server = npmStart({ PORT: String(port), LAYERS_DATA_DIR: dataDir });
    await waitForReady(port, server.npm, 45_000);

    const postgres = await postmasterPid(dataDir);
    expect(postgres).toBeDefined();
    // As root, PostgreSQL runs from a copy of its binaries in the data dir (the checkout's are out of reach).
    if (isRoot) expect(path.relative(dataDir, await readlink(`/proc/${postgres}/exe`))).toMatch(/^pg-bin\//);
    const pids = server.track([
      ...(await processTree(server.npm.pid as number)),
      ...(await processTree(postgres as number)),
    ]);
    // npm, the server (and, without exec, the shell between them), PostgreSQL and its backends.
    expect(pids.length).toBeGreaterThanOrEqual(3);

    process.kill(server.npm.pid as number, 'SIGTERM');
    expect(await waitUntilGone(pids, 15_000), server.output()).toEqual([]);
    // It stopped cleanly: PostgreSQL removed its pid file.
    await expect(stat(path.join(dataDir, 'pg', 'postmaster.pid'))).rejects.toThrow();
    expect(await isGone(server.npm.pid as number)).toBe(true);
  }, 60_000);

  it('Ctrl-C in a terminal (SIGINT to the whole foreground group: npm forwards it too) stops cleanly, exit 0', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'layers-clone-ctrlc-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const server = npmStart({ PORT: String(port), LAYERS_DATA_DIR: dataDir }, { group: true });
    await waitForReady(port, server.npm, 45_000);
    const postgres = await postmasterPid(dataDir);
    const pids = server.track([
      ...(await processTree(server.npm.pid as number)),
      ...(await processTree(postgres as number)),
    ]);

    process.kill(-(server.npm.pid as number), 'SIGINT');
    expect(await waitUntilGone(pids, 15_000), server.output()).toEqual([]);
    // One Ctrl-C is one request to stop cleanly, though the server receives it twice.
    expect(await exited(server.npm, 1_000), server.output()).toBe(0);
    await expect(stat(path.join(dataDir, 'pg', 'postmaster.pid'))).rejects.toThrow();
  }, 60_000);

  it('with DATABASE_URL at a database that then goes silent mid-request: SIGTERM still ends the server within 30 s, saying what it abandoned', async () => {
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const proxy = await startBlackholeProxy(db.superuser);
    cleanup.push(() => proxy.close());
    const dataDir = await mkdtemp(path.join(tmpdir(), 'layers-clone-byo-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const server = npmStart({
      PORT: String(port),
      LAYERS_DATA_DIR: path.join(dataDir, 'fresh'), // not created yet, as on a new machine
      LOG_LEVEL: 'info', // the start-up's last line says when the worker is running too
      DATABASE_URL: databaseUrl({ ...db.superuser, host: '127.0.0.1', port: proxy.port }),
    });
    await waitForReady(port, server.npm, 45_000);
    // Ready answers once HTTP listens; the job worker starts after it. Wait for the whole start-up
    // (its last log line), so that what the deadline abandons is the drain, not the worker's start.
    const startDeadline = Date.now() + 30_000;
    while (!server.output().includes('startup_ms') && Date.now() < startDeadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(server.output()).toContain('startup_ms');
    const pids = server.track(await processTree(server.npm.pid as number));

    // The database's host vanishes (no byte passes, nothing is refused) while a request needs it.
    proxy.blackhole();
    const inFlight = fetch(`http://127.0.0.1:${port}/admin/v1/orgs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Never stored' }),
    }).catch(() => undefined);
    const deadline = Date.now() + 10_000;
    while (proxy.swallowed() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(proxy.swallowed()).toBeGreaterThan(0);

    process.kill(server.npm.pid as number, 'SIGTERM');
    expect(await waitUntilGone(pids, 30_000), server.output()).toEqual([]);
    expect(await exited(server.npm, 1_000)).toBe(1);
    const abandoned = server
      .output()
      .split('\n')
      .filter((line) => line.includes('"abandoned"'));
    expect(abandoned).toHaveLength(1);
    expect(JSON.parse(abandoned[0] as string).abandoned).toContain('HTTP requests');
    await inFlight;
  }, 60_000);
});
