import type { Runner } from 'graphile-worker';
import type { Logger } from 'pino';
import { buildApp, type PlatformApp } from '../app.ts';
import type { Config } from '../config.ts';
import { startWorker } from '../jobs/worker.ts';
import { openRuntime } from './runtime.ts';

/**
 * `layers serve` (role `all`: HTTP API and job worker in one process), `--role api` (HTTP only) and
 * `layers worker` (jobs only). The database is the embedded one unless DATABASE_URL is set.
 * SIGINT/SIGTERM: stop accepting, finish in-flight requests, flush buffered writes, let running jobs
 * finish, then stop the embedded PostgreSQL cleanly. A second signal exits at once.
 */
export async function serveCommand(config: Config, logger: Logger): Promise<void> {
  const started = Date.now();
  const { db, container } = await openRuntime(config, logger);
  let app: PlatformApp | undefined;
  let worker: Runner | undefined;

  if (config.role !== 'worker') {
    app = await buildApp({ config, container, logger });
    container.start();
    await app.listen({ port: config.port, host: config.host });
  }
  if (config.role !== 'api') worker = await startWorker({ container, logger });

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

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting without a clean shutdown');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests and jobs');
    try {
      await app?.close();
      await container.stop();
      await worker?.stop();
      await db.shutdown({ stopEmbedded: 'always' });
      logger.info('stopped cleanly');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
