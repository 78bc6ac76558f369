import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

/**
 * Two connection pools with different powers:
 * - `app` connects as the app role (no BYPASSRLS, owns nothing): every request-path query runs here,
 *   inside a tenant transaction, so row-level security always applies.
 * - `system` connects as the schema owner: migrations, the operator API, the CLI and the background
 *   jobs that work across tenants (batched request-log writes, retention). It is never handed to a
 *   partner-facing route.
 */
export type PgTarget = string | pg.PoolConfig;

export type Databases = {
  app: Kysely<Database>;
  system: Kysely<Database>;
  appPool: pg.Pool;
  systemPool: pg.Pool;
  /** Connection settings of the system pool, for graphile-worker and child processes. */
  systemTarget: pg.PoolConfig;
  close(): Promise<void>;
};

// Timestamps come back as Date; bigint (seq) stays a string so no precision is lost silently.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => v);

export function poolConfig(target: PgTarget, extra: pg.PoolConfig = {}): pg.PoolConfig {
  const base = typeof target === 'string' ? { connectionString: target } : target;
  return { ...base, ...extra };
}

export function connectDatabases(opts: { system: PgTarget; app: PgTarget; appPoolSize?: number }): Databases {
  const systemTarget = poolConfig(opts.system);
  const systemPool = new pg.Pool({ ...systemTarget, max: 10, application_name: 'layers-system' });
  const appPool = new pg.Pool(
    poolConfig(opts.app, { max: opts.appPoolSize ?? 20, application_name: 'layers-app' }),
  );
  // A client that loses its server (restart, failover) must not crash the process; the pool drops it
  // and the next query gets a fresh connection.
  for (const pool of [systemPool, appPool]) {
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
  }
  const system = new Kysely<Database>({ dialect: new PostgresDialect({ pool: systemPool }) });
  const app = new Kysely<Database>({ dialect: new PostgresDialect({ pool: appPool }) });
  return {
    app,
    system,
    appPool,
    systemPool,
    systemTarget,
    async close() {
      await Promise.all([app.destroy(), system.destroy()]);
    },
  };
}
