import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { connectDatabases, type Databases } from '../../src/db/database.ts';
import { APP_ROLE } from '../../src/db/tenancy-sql.ts';

export const TEMPLATE_DATABASE = 'layers_template';

export type TestCluster = { superuser: pg.ClientConfig; appPassword: string | undefined };

export type TestDatabase = Databases & {
  name: string;
  /** Connection settings of this database for the schema owner (child processes, raw checks). */
  superuser: pg.ClientConfig;
  app: Databases['app'];
  drop(): Promise<void>;
};

/** A fresh database cloned from the migrated template, with the app-role and system pools on it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const cluster = inject('testCluster');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ ...cluster.superuser, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const superuser = { ...cluster.superuser, database: name };
  const app = cluster.appPassword
    ? { ...superuser, user: APP_ROLE, password: cluster.appPassword }
    : { ...superuser, options: `-c role=${APP_ROLE}` };
  const dbs = connectDatabases({ system: superuser, app });
  return {
    ...dbs,
    name,
    superuser,
    async drop() {
      await dbs.close();
      const client = new pg.Client({ ...cluster.superuser, database: 'postgres' });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
