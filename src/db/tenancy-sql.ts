import { type Kysely, sql } from 'kysely';

/** The role the application connects as: owns no table, not superuser, no BYPASSRLS. */
export const APP_ROLE = 'layers_app';

/** The per-transaction setting that row-level security policies compare `org_id` with. */
export const TENANT_SETTING = 'app.org_id';

type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

/**
 * Turns a table into a tenant table: RLS enabled and forced, one policy comparing `org_id` with the
 * transaction's tenant setting (for reads and for the rows written), and only the privileges named.
 */
export async function enableTenantRls(
  db: Kysely<unknown>,
  table: string,
  privileges: Privilege[],
): Promise<void> {
  await sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`.execute(db);
  await sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`.execute(db);
  await sql`
    CREATE POLICY tenant_isolation ON ${sql.table(table)}
    USING (org_id = current_setting(${sql.lit(TENANT_SETTING)}, true))
    WITH CHECK (org_id = current_setting(${sql.lit(TENANT_SETTING)}, true))`.execute(db);
  if (privileges.length > 0) {
    await sql.raw(`GRANT ${privileges.join(', ')} ON ${table} TO ${APP_ROLE}`).execute(db);
  }
}
