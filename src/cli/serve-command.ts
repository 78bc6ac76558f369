import type { Logger } from 'pino';
import { buildApp } from '../app.ts';
import type { Config } from '../config.ts';
import { openRuntime } from './runtime.ts';

/**
 * `layers serve`: database (embedded unless DATABASE_URL), migrations, HTTP API and, in the `all`
 * role, the job worker. SIGINT/SIGTERM: stop accepting, finish in-flight requests, flush buffered
 * writes, stop the worker, then stop the embedded PostgreSQL cleanly. A second signal exits at once.
 */
export async function serveCommand(config: Config, logger: Logger): Promise<void> {
  const started = Date.now();
  const { db, container } = await openRuntime(config, logger);
  const app = await buildApp({ config, container, logger });
  container.start();
  await app.listen({ port: config.port, host: config.host });
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  logger.info(
    {
      port: config.port,
      role: config.role,
      database: db.embedded ? 'embedded' : 'external',
      startup_ms: Date.now() - started,
    },
    `Layers is listening on http://${shownHost}:${config.port} (API docs at /docs)`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting without a clean shutdown');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    try {
      await app.close();
      await container.stop();
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
