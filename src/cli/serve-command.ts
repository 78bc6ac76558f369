import type { Runner } from 'graphile-worker';
import type { Logger } from 'pino';
import { buildApp, type PlatformApp } from '../app.ts';
import type { Config } from '../config.ts';
import type { Container } from '../container.ts';
import type { PlatformDatabase } from '../db/open-platform-database.ts';
import { startWorker } from '../jobs/worker.ts';
import { openRuntime } from './runtime.ts';

/** The same signal again within this long is the same request (see `stop`), not a second one. */
const DUPLICATE_SIGNAL_MS = 1_000;

/**
 * `layers serve` (role `all`: HTTP API and job worker in one process), `--role api` (HTTP only) and
 * `layers worker` (jobs only). The database is the embedded one unless DATABASE_URL is set.
 *
 * SIGINT/SIGTERM (also during start-up): stop accepting, finish in-flight requests, flush buffered
 * writes, let running jobs finish, then stop the embedded PostgreSQL cleanly, and exit 0. All of that
 * within LAYERS_SHUTDOWN_TIMEOUT_MS: past it (a database that has gone away, a job that never
 * returns) one log line names what was abandoned, the embedded PostgreSQL is told to stop, and the
 * process exits 1. A second signal (a second later or more) exits at once (130).
 *
 * A fatal start-up error releases what was opened and rejects: the CLI then exits non-zero.
 */
export async function serveCommand(config: Config, logger: Logger): Promise<void> {
  const started = Date.now();
  let db: PlatformDatabase | undefined;
  let container: Container | undefined;
  let app: PlatformApp | undefined;
  let worker: Runner | undefined;

  /** What shutdown still has to do, in order; a deadline names what is left. A failed step does not stop the rest. */
  const pending = new Set<string>();
  const drain = async (stopEmbedded: 'always' | 'if-started-here') => {
    const steps: [string, () => Promise<unknown> | undefined][] = [
      ['HTTP requests', () => app?.close()],
      ['buffered writes', () => container?.stop()],
      ['jobs', () => worker?.stop()],
      ['database', () => db?.shutdown({ stopEmbedded })],
    ];
    for (const [name] of steps) pending.add(name);
    const failed: unknown[] = [];
    for (const [name, fn] of steps) {
      await Promise.resolve()
        .then(fn)
        .catch((error: unknown) => failed.push(error));
      pending.delete(name);
    }
    if (failed.length > 0) throw failed[0];
  };

  let starting = true;
  let stopping: string | undefined;
  let stoppingAt = 0;
  const stop = (signal: string) => {
    if (stopping) {
      // A terminal's Ctrl-C reaches npm and this process, and npm forwards it: one press, two signals.
      if (Date.now() - stoppingAt < DUPLICATE_SIGNAL_MS) return;
      logger.warn('second signal: exiting without a clean shutdown');
      stopEmbeddedNow();
      process.exit(130);
    }
    stopping = signal;
    stoppingAt = Date.now();
    logger.info({ signal }, 'shutting down: draining requests and jobs');
    setTimeout(() => abandon(), config.shutdownTimeoutMs);
    if (!starting) void finish();
  };
  const abandon = () => {
    const left = pending.size > 0 ? [...pending] : ['start-up'];
    logger.error(
      { abandoned: left, timeout_ms: config.shutdownTimeoutMs },
      `shutdown did not finish within ${config.shutdownTimeoutMs} ms: abandoned ${left.join(', ')}; exiting`,
    );
    stopEmbeddedNow();
    process.exit(1);
  };
  // Not left running without us: PostgreSQL's fast shutdown goes on after this process is gone.
  const stopEmbeddedNow = () => {
    if (db?.embedded) void db.embedded.stop().catch(() => undefined);
  };
  const finish = async () => {
    try {
      await drain('always');
      logger.info('stopped cleanly');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    ({ db, container } = await openRuntime(config, logger));
    if (config.role !== 'worker' && !stopping) {
      app = await buildApp({ config, container, logger });
      container.start();
      await app.listen({ port: config.port, host: config.host });
    }
    if (config.role !== 'api' && !stopping) worker = await startWorker({ container, logger });
  } catch (error) {
    // Release what was opened (within the same deadline as a shutdown), then the CLI exits non-zero.
    if (!stopping) setTimeout(() => abandon(), config.shutdownTimeoutMs);
    await drain('if-started-here').catch(() => undefined);
    throw error;
  } finally {
    starting = false;
  }
  if (stopping) {
    void finish();
    return;
  }

  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  logger.info(
    {
      port: config.port,
      role: config.role,
      database: db.embedded ? 'embedded' : 'external',
      startup_ms: Date.now() - started,
    },
    app
      ? `Layers is listening on http://${shownHost}:${config.port} (API docs at /docs)`
      : 'Layers worker is running',
  );
}
