import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryCoverage } from '../../src/modules/verify/registry-check.ts';
import { DATA_CLASSES } from '../../src/privacy/data-classes.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The registry against the migrated database: every table that holds tenant data (a column org_id;
 * partitions belong to their parent) is claimed by exactly one data class, every table the registry
 * names exists, and every clock column the registry names exists on each of its class's tables. A
 * migration that adds a tenant table without a data class fails here.
 */
describe('data-class registry against the database catalog', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  async function catalogTenantTables(): Promise<string[]> {
    const { rows } = await t.db.systemPool.query<{ name: string }>(`
      SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped)
      ORDER BY 1`);
    return rows.map((r) => r.name);
  }

  it('claims every tenant table exactly once, and names only tables that exist', async () => {
    const tables = await catalogTenantTables();
    expect(tables).toEqual(
      expect.arrayContaining(['sdk_events', 'user_profiles', 'request_log', 'dpa_requests']),
    );
    const claims = new Map<string, string[]>();
    for (const cls of DATA_CLASSES)
      for (const table of cls.tables) claims.set(table, [...(claims.get(table) ?? []), cls.name]);
    const unclaimed = tables.filter((table) => !claims.has(table));
    expect(unclaimed, 'tenant tables no data class claims (add them to src/privacy/data-classes.ts)').toEqual(
      [],
    );
    for (const [table, classes] of claims) {
      expect(classes, `${table} is claimed by several classes`).toHaveLength(1);
      expect(tables, `${table} is named in the registry but absent from the database`).toContain(table);
    }
  });

  it('names clock columns that exist on every table of the class', async () => {
    for (const cls of DATA_CLASSES) {
      if (!('column' in cls.clock)) continue;
      for (const table of cls.tables) {
        const { rows } = await t.db.systemPool.query(
          `SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2`,
          [table, cls.clock.column],
        );
        expect(rows.length, `${cls.name}: ${table}.${cls.clock.column}`).toBe(1);
      }
    }
  });

  it('a new tenant table without a class is reported (and a partition of a claimed table is not)', async () => {
    expect(await registryCoverage(t.db.system)).toEqual({ unclaimed: [], claimedTwice: [], missing: [] });
    await t.db.systemPool.query(
      `CREATE TABLE unclassified_things (id text PRIMARY KEY, org_id text NOT NULL)`,
    );
    await t.db.systemPool.query(
      `CREATE TABLE sdk_events_2001_01 PARTITION OF sdk_events FOR VALUES FROM ('2001-01-01') TO ('2001-02-01')`,
    );
    try {
      expect((await registryCoverage(t.db.system)).unclaimed).toEqual(['unclassified_things']);
      expect(await catalogTenantTables()).toContain('unclassified_things');
      expect(await catalogTenantTables()).not.toContain('sdk_events_2001_01');
    } finally {
      await t.db.systemPool.query(`DROP TABLE unclassified_things; DROP TABLE sdk_events_2001_01`);
    }
  });
});
