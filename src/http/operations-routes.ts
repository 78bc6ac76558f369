import { sql } from 'kysely';
import type { Databases } from '../db/database.ts';
import { migrationsApplied } from '../db/migrate.ts';
import type { AppInstance } from './app-types.ts';
import type { Metrics } from './metrics.ts';

const tags = ['Operations'];

/** Liveness, readiness and Prometheus metrics: unauthenticated, and carrying nothing about tenants. */
export function registerOperationsRoutes(app: AppInstance, deps: { dbs: Databases; metrics: Metrics }): void {
  app.get('/healthz', { schema: { tags, summary: 'The process is up' } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { schema: { tags, summary: 'The database is reachable and migrated' } },
    async (_req, reply) => {
      try {
        await sql`SELECT 1`.execute(deps.dbs.app);
        if (!(await migrationsApplied(deps.dbs.system as never))) {
          return reply.code(503).send({ status: 'migrations_pending' });
        }
        return { status: 'ready' };
      } catch {
        return reply.code(503).send({ status: 'database_unreachable' });
      }
    },
  );

  app.get(
    '/metrics',
    { schema: { tags, summary: 'Prometheus metrics', hide: true } },
    async (_req, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
}
