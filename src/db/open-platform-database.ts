import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.ts';
import { ensureJobQueue } from '../jobs/job-queue.ts';
import { connectDatabases, type Databases } from './database.ts';
import { assertAppRoleIsBoundByRls, assertSystemRoleBypassesRls } from './database-roles.ts';
import { type EmbeddedPostgres, ensureEmbeddedPostgres } from './embedded-postgres.ts';
import { migrateToLatest } from './migrate.ts';
import { APP_ROLE } from './tenancy-sql.ts';

const EMBEDDED_DATABASE = 'layers';

export type PlatformDatabase = Databases & {
  embedded: EmbeddedPostgres | undefined;
  /** Closes the pools and, when this process started the embedded cluster, stops it. */
  shutdown(opts?: { stopEmbedded?: 'always' | 'if-started-here' }): Promise<void>;
};

/**
 * Connects to the platform's database, migrated to the latest schema: `DATABASE_URL` when set,
 * otherwise the embedded PostgreSQL in the data dir (started, or attached to when already running).
 */
export async function openPlatformDatabase(
  config: Config,
  log: (msg: string) => void,
): Promise<PlatformDatabase> {
  if (config.databaseUrl) {
    const system = config.databaseUrl;
    // Before anything is changed: a login that cannot see every tenant's rows is refused.
    await withClient(system, (client) => assertSystemRoleBypassesRls(client, 'DATABASE_URL'));
    await migrateWith(system);
    await allowOwnerToActAsAppRole(system);
    // Without a separate login for the app role, the owner's connection switches to it at start-up.
    const app = config.databaseAppUrl ?? { connectionString: system, options: `-c role=${APP_ROLE}` };
    const source = config.databaseAppUrl ? 'DATABASE_APP_URL' : `DATABASE_URL (as ${APP_ROLE})`;
    return withShutdown(await checkedApp(connectDatabases({ system, app }), source), undefined);
  }

  const embedded = await ensureEmbeddedPostgres(config.dataDir, log);
  await createDatabaseIfMissing(embedded.superuser, EMBEDDED_DATABASE);
  const system: pg.PoolConfig = { ...embedded.superuser, database: EMBEDDED_DATABASE };
  await migrateWith(system, async (db) => {
    await sql`ALTER ROLE ${sql.id(APP_ROLE)} PASSWORD ${sql.lit(embedded.credentials.appPassword)}`.execute(
      db,
    );
  });
  // The app logs in as layers_app itself, so its powers are read by name (no extra connection that
  // would still be closing when a CLI command asks whether anyone else uses the cluster).
  await withClient(system, (client) => assertAppRoleIsBoundByRls(client, APP_ROLE, APP_ROLE));
  const app: pg.PoolConfig = { ...system, user: APP_ROLE, password: embedded.credentials.appPassword };
  return withShutdown(connectDatabases({ system, app }), embedded);
}

/** The app pool's login must be bound by row-level security (see database-roles.ts). */
async function checkedApp(dbs: Databases, source: string): Promise<Databases> {
  try {
    await assertAppRoleIsBoundByRls(dbs.appPool, source);
    return dbs;
  } catch (error) {
    await dbs.close();
    throw error;
  }
}

async function withClient<T>(
  target: string | pg.ClientConfig,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(typeof target === 'string' ? { connectionString: target } : target);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function withShutdown(dbs: Databases, embedded: EmbeddedPostgres | undefined): PlatformDatabase {
  return {
    ...dbs,
    embedded,
    async shutdown(opts = {}) {
      await dbs.close();
      if (!embedded) return;
      const mode = opts.stopEmbedded ?? 'if-started-here';
      if (mode === 'always' || embedded.startedHere) await stopUnlessOthersConnected(embedded, mode);
    },
  };
}

/**
 * A CLI command that started the cluster itself stops it afterwards, unless a server attached to it
 * in the meantime (it then becomes the server's to stop).
 */
async function stopUnlessOthersConnected(
  embedded: EmbeddedPostgres,
  mode: 'always' | 'if-started-here',
): Promise<void> {
  if (mode === 'if-started-here') {
    const client = new pg.Client(embedded.superuser);
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      if ((rows[0]?.n ?? 0) > 0) return;
    } finally {
      await client.end();
    }
  }
  await embedded.stop();
}

async function migrateWith(target: string | pg.PoolConfig, after?: (db: Kysely<unknown>) => Promise<void>) {
  const dbs = connectDatabases({ system: target, app: target });
  try {
    await migrateToLatest(dbs.system as unknown as Kysely<unknown>);
    await ensureJobQueue(dbs.systemPool, dbs.system as unknown as Kysely<unknown>);
    if (after) await after(dbs.system as unknown as Kysely<unknown>);
  } finally {
    await dbs.close();
  }
}

async function allowOwnerToActAsAppRole(target: string): Promise<void> {
  await withClient(target, (client) =>
    client.query(`GRANT ${APP_ROLE} TO CURRENT_USER`).catch(() => undefined),
  );
}

export async function createDatabaseIfMissing(
  target: pg.ClientConfig,
  name: string,
  template?: string,
): Promise<void> {
  const client = new pg.Client({ ...target, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    const templateClause = template ? ` TEMPLATE ${pg.escapeIdentifier(template)}` : '';
    await client
      .query(`CREATE DATABASE ${pg.escapeIdentifier(name)}${templateClause}`)
      .catch((error: { code?: string }) => {
        // 42P04: created concurrently by another process — what we wanted.
        if (error.code !== '42P04') throw error;
      });
  } finally {
    await client.end();
  }
}
