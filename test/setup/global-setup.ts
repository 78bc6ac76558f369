import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { TestProject } from 'vitest/node';
import { connectDatabases } from '../../src/db/database.ts';
import { type EmbeddedPostgres, ensureEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createDatabaseIfMissing } from '../../src/db/open-platform-database.ts';
import { APP_ROLE } from '../../src/db/tenancy-sql.ts';
import { ensureJobQueue } from '../../src/jobs/job-queue.ts';
import { TEMPLATE_DATABASE, type TestCluster } from '../helpers/test-cluster.ts';

/**
 * Starts one real PostgreSQL for the whole run (the embedded one, or the server at DATABASE_URL),
 * migrates a template database once, and hands its coordinates to the test files, each of which
 * clones the template (CREATE DATABASE … TEMPLATE): fast, isolated, real.
 */
let embedded: EmbeddedPostgres | undefined;
let dataDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  let cluster: TestCluster;
  if (process.env.DATABASE_URL) {
    cluster = { superuser: clientConfigFromUrl(process.env.DATABASE_URL), appPassword: undefined };
  } else {
    dataDir = await mkdtemp(path.join(tmpdir(), 'layers-test-'));
    embedded = await ensureEmbeddedPostgres(dataDir, () => undefined);
    cluster = { superuser: { ...embedded.superuser }, appPassword: embedded.credentials.appPassword };
  }
  const superuser = cluster.superuser;
  await dropIfExists(cluster, TEMPLATE_DATABASE);
  await createDatabaseIfMissing(superuser, TEMPLATE_DATABASE);
  const template = { ...superuser, database: TEMPLATE_DATABASE };
  const dbs = connectDatabases({ system: template, app: template });
  try {
    await migrateToLatest(dbs.system as never);
    await ensureJobQueue(dbs.systemPool, dbs.system as never);
    if (cluster.appPassword) {
      await sql`ALTER ROLE ${sql.id(APP_ROLE)} PASSWORD ${sql.lit(cluster.appPassword)}`.execute(dbs.system);
    }
  } finally {
    await dbs.close();
  }
  project.provide('testCluster', cluster);
}

/** Explicit fields, so that each clone can swap the database name (a connection string would win). */
function clientConfigFromUrl(url: string) {
  const u = new URL(url);
  return {
    host: u.searchParams.get('host') ?? u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1) || 'postgres',
  };
}

async function dropIfExists(cluster: TestCluster, name: string) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ ...cluster.superuser, database: 'postgres' });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    testCluster: TestCluster;
  }
}
