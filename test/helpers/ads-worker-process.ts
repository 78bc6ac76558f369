import { type ChildProcess, spawn } from 'node:child_process';
import { databaseUrl, MAIN, REPO_ROOT } from './cli.ts';
import { exitOf } from './server-process.ts';
import type { TestApp } from './test-app.ts';

/**
 * `layers worker` OS processes on an ads test app's database, one at a time, for the kill -9 specs
 * of ad deployments (Meta and TikTok): `start` a worker, `stop` it with SIGKILL (the crash) or
 * SIGTERM (the clean end), `close` whatever is still running when the file ends.
 */
export function adsWorkerProcesses(app: () => { t: TestApp; env: Record<string, string> }) {
  let worker: ChildProcess | undefined;
  const alive = (w: ChildProcess | undefined): w is ChildProcess =>
    w !== undefined && w.exitCode === null && w.signalCode === null;
  return {
    start(): void {
      const { t, env } = app();
      worker = spawn(process.execPath, [MAIN, 'worker'], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: databaseUrl(t.db.superuser),
          LAYERS_ENCRYPTION_KEY: t.config.encryptionKey as string,
          LAYERS_PUBLIC_URL: t.config.publicUrl,
          LOG_LEVEL: 'warn',
          ...env,
        },
        stdio: 'ignore',
      });
    },
    async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
      if (!worker) return;
      worker.kill(signal);
      await exitOf(worker);
    },
    async close(): Promise<void> {
      if (alive(worker)) await this.stop('SIGKILL');
    },
  };
}

/** Polls `cond` every 20 ms until it holds; fails naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
