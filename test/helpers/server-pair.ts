import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { databaseUrl } from './cli.ts';
import { exitOf, freePort, startServer, waitForReady } from './server-process.ts';
import { ADMIN_TOKEN, type TestApp } from './test-app.ts';

export type ServerProcess = { url: string; child: ChildProcess };
export type ServerPair = { servers: ServerProcess[]; stop(): Promise<void> };

/**
 * `count` real `layers serve --role api` processes on the test app's database (its encryption key,
 * its admin token), as separate machines behind a load balancer would run: nothing shared but
 * PostgreSQL. `env` adds settings; each gets its own port and data dir.
 */
export async function startServerProcesses(
  t: TestApp,
  count: number,
  env: Record<string, string> = {},
): Promise<ServerPair> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'layers-servers-'));
  const servers: ServerProcess[] = [];
  // Warnings and start-up errors (LOG_LEVEL warn), for the message when a process does not start.
  const stderr: string[] = [];
  const stop = async () => {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => exitOf(s.child)));
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const child = startServer({
        DATABASE_URL: databaseUrl(t.db.superuser),
        LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
        LAYERS_ADMIN_TOKEN: ADMIN_TOKEN,
        LAYERS_DATA_DIR: path.join(dataDir, String(i)),
        LAYERS_ROLE: 'api',
        PORT: String(port),
        ...env,
      });
      child.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()));
      servers.push({ url: `http://127.0.0.1:${port}`, child });
      // One after the other: each start-up finds the schema (and this month's partitions) ready.
      await waitForReady(port, child);
    }
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}: ${stderr.join('').slice(-2_000)}`);
  }
  return { servers, stop };
}
