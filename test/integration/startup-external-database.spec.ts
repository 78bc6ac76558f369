import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { databaseUrl, runCli } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-cluster.ts';

/**
 * Start-up against a bring-your-own PostgreSQL (DATABASE_URL), as separate processes: a fresh data
 * dir is created, and the database roles the README requires are checked before anything runs.
 */
describe('start-up with DATABASE_URL', () => {
  const cluster = inject('testCluster');
  const suffix = randomBytes(4).toString('hex');
  const ownerNoBypass = `owner_nobypass_${suffix}`;
  const appBypass = `app_bypass_${suffix}`;
  const appOk = `app_ok_${suffix}`;
  const ownedDb = `t_owned_${suffix}`;
  const password = randomBytes(12).toString('hex');
  let db: TestDatabase;
  let scratch: string;

  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ ...cluster.superuser, database: 'postgres' });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    scratch = await mkdtemp(path.join(tmpdir(), 'layers-byo-'));
    await admin(async (c) => {
      await c.query(
        `CREATE ROLE ${ownerNoBypass} LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE PASSWORD '${password}'`,
      );
      await c.query(`CREATE DATABASE ${ownedDb} OWNER ${ownerNoBypass}`);
      await c.query(`CREATE ROLE ${appBypass} LOGIN NOSUPERUSER BYPASSRLS PASSWORD '${password}'`);
      await c.query(
        `CREATE ROLE ${appOk} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '${password}' IN ROLE layers_app`,
      );
    });
  });

  afterAll(async () => {
    await db?.drop();
    await admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${ownedDb} WITH (FORCE)`);
      for (const role of [ownerNoBypass, appBypass, appOk]) await c.query(`DROP ROLE IF EXISTS ${role}`);
    });
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const urlFor = (user: string, database: string) =>
    databaseUrl({ ...cluster.superuser, user, password, database });

  it('creates a fresh LAYERS_DATA_DIR (for the development key) instead of failing with ENOENT', async () => {
    const dataDir = path.join(scratch, 'fresh', 'data');
    const res = await runCli(['org', 'create', '--name', 'BYO', '--json'], {
      DATABASE_URL: databaseUrl(db.superuser),
      LAYERS_DATA_DIR: dataDir,
    });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).api_key.secret).toMatch(/^lyr_sk_/);
    expect((await stat(path.join(dataDir, 'encryption.key'))).mode & 0o777).toBe(0o600);
    // The data dir holds that key: nobody but its owner may enter it.
    expect((await stat(dataDir)).mode & 0o077).toBe(0);
  });

  it('refuses a DATABASE_URL login that is neither superuser nor BYPASSRLS, naming it and the fix', async () => {
    const res = await runCli(['migrate', '--json'], {
      DATABASE_URL: urlFor(ownerNoBypass, ownedDb),
      LAYERS_DATA_DIR: path.join(scratch, 'nobypass'),
    });
    const said = res.stdout + res.stderr;
    expect(res.code, said).toBe(1);
    expect(said).toContain(ownerNoBypass);
    expect(said).toContain('BYPASSRLS');
    expect(said).toContain(`ALTER ROLE ${ownerNoBypass} BYPASSRLS`);
    expect(said).not.toContain(password);
    // Nothing was done to a database it could not have served: no migration ran.
    const tables = await admin(async () => {
      const c = new pg.Client({ ...cluster.superuser, database: ownedDb });
      await c.connect();
      try {
        return (await c.query(`SELECT to_regclass('layers_migrations') AS t`)).rows[0]?.t;
      } finally {
        await c.end();
      }
    });
    expect(tables).toBeNull();
  });

  it('refuses a DATABASE_APP_URL login that bypasses row-level security, naming it and the fix', async () => {
    const res = await runCli(['migrate', '--json'], {
      DATABASE_URL: databaseUrl(db.superuser),
      DATABASE_APP_URL: urlFor(appBypass, db.name),
      LAYERS_DATA_DIR: path.join(scratch, 'appbypass'),
    });
    const said = res.stdout + res.stderr;
    expect(res.code, said).toBe(1);
    expect(said).toContain(appBypass);
    expect(said).toContain(`ALTER ROLE ${appBypass} NOSUPERUSER NOBYPASSRLS`);
    expect(said).not.toContain(password);
  });

  it('accepts an app login without BYPASSRLS (a member of layers_app)', async () => {
    const res = await runCli(['migrate', '--json'], {
      DATABASE_URL: databaseUrl(db.superuser),
      DATABASE_APP_URL: urlFor(appOk, db.name),
      LAYERS_DATA_DIR: path.join(scratch, 'appok'),
    });
    expect(res.code, res.stdout + res.stderr).toBe(0);
  });
});
