import type pg from 'pg';

/**
 * Row-level security holds only if the two logins have the powers the README requires, and nothing
 * else says so when they do not: a system login without BYPASSRLS makes the cross-tenant jobs (the
 * retention sweeper, `verify`, webhook delivery, the request log) silently see zero rows, and an app
 * login that bypasses RLS lets every tenant read every other. Checked at boot, before anything runs.
 */
export class DatabaseRoleError extends Error {}

type RoleFacts = { name: string; superuser: boolean; bypassRls: boolean };

/** The login's own role, or (`name`) a role looked up by name. */
async function roleFacts(client: Pick<pg.ClientBase, 'query'>, name?: string): Promise<RoleFacts> {
  const { rows } = await client.query<{ name: string; superuser: boolean; bypass: boolean }>(
    `SELECT rolname AS name, rolsuper AS superuser, rolbypassrls AS bypass
     FROM pg_roles WHERE rolname = coalesce($1, current_user)`,
    [name ?? null],
  );
  const row = rows[0];
  if (!row) throw new DatabaseRoleError('the database login has no row in pg_roles');
  return { name: row.name, superuser: row.superuser, bypassRls: row.bypass };
}

const quoted = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);

/** The system login (DATABASE_URL, or the embedded superuser) must be superuser or have BYPASSRLS. */
export async function assertSystemRoleBypassesRls(
  client: Pick<pg.ClientBase, 'query'>,
  source: string,
): Promise<void> {
  const role = await roleFacts(client);
  if (role.superuser || role.bypassRls) return;
  throw new DatabaseRoleError(
    `the database role '${role.name}' (the ${source} login) is neither superuser nor BYPASSRLS: ` +
      'the retention sweeper, verify, webhook delivery and the request log work across tenants and ' +
      'would silently see no rows under row-level security. ' +
      `Fix: as a superuser run \`ALTER ROLE ${quoted(role.name)} BYPASSRLS;\`, or point ${source} at a login that has it.`,
  );
}

/**
 * The app login (DATABASE_APP_URL, the system login switched to layers_app, or the embedded
 * layers_app login) must not bypass RLS: asked on that login's own connection, or by `role` name.
 */
export async function assertAppRoleIsBoundByRls(
  client: Pick<pg.ClientBase, 'query'>,
  source: string,
  byName?: string,
): Promise<void> {
  const role = await roleFacts(client, byName);
  if (!role.superuser && !role.bypassRls) return;
  throw new DatabaseRoleError(
    `the database role '${role.name}' (the ${source} login for request traffic) is ` +
      `${role.superuser ? 'a superuser' : 'BYPASSRLS'}: row-level security would not keep tenants apart. ` +
      `Fix: run \`ALTER ROLE ${quoted(role.name)} NOSUPERUSER NOBYPASSRLS;\`, or point ${source} at a ` +
      'login of the layers_app role.',
  );
}
