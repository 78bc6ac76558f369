import { type Kysely, sql } from 'kysely';
import { isId } from '../lib/ids.ts';
import type { Database } from './schema.ts';
import { TENANT_SETTING } from './tenancy-sql.ts';

/** A connection inside an open transaction whose tenant setting is one org. */
export type TenantDb = Kysely<Database>;

/**
 * Runs `fn` in a transaction scoped to `orgId`: BEGIN and the transaction-local tenant setting travel
 * in one round trip (a simple-protocol query), so RLS costs no extra latency. The org id is never
 * user input (it comes from the authenticated key) and is checked against the id format before it is
 * written into the statement.
 */
export async function withTenant<T>(
  db: Kysely<Database>,
  orgId: string,
  fn: (tx: TenantDb) => Promise<T>,
): Promise<T> {
  if (!isId('org', orgId)) throw new Error('withTenant: not an org id');
  return db.connection().execute(async (conn) => {
    await sql.raw(`BEGIN; SELECT set_config('${TENANT_SETTING}', '${orgId}', true)`).execute(conn);
    try {
      const result = await fn(conn);
      await sql.raw('COMMIT').execute(conn);
      return result;
    } catch (error) {
      await sql
        .raw('ROLLBACK')
        .execute(conn)
        .catch(() => undefined);
      throw error;
    }
  });
}

/**
 * A read in a READ ONLY tenant transaction. The result is handed back as soon as `fn` has it; the
 * COMMIT (which changes nothing for a read-only transaction) completes afterwards, before the
 * connection returns to the pool — one round trip less on every read's critical path. READ ONLY also
 * makes PostgreSQL refuse any write a read handler might attempt by mistake.
 */
export function readAsTenant<T>(
  db: Kysely<Database>,
  orgId: string,
  fn: (tx: TenantDb) => Promise<T>,
): Promise<T> {
  if (!isId('org', orgId)) return Promise.reject(new Error('readAsTenant: not an org id'));
  return new Promise<T>((resolve, reject) => {
    db.connection()
      .execute(async (conn) => {
        await sql
          .raw(`BEGIN READ ONLY; SELECT set_config('${TENANT_SETTING}', '${orgId}', true)`)
          .execute(conn);
        let result: T;
        try {
          result = await fn(conn);
        } catch (error) {
          await sql
            .raw('ROLLBACK')
            .execute(conn)
            .catch(() => undefined);
          throw error;
        }
        resolve(result);
        await sql
          .raw('COMMIT')
          .execute(conn)
          .catch(() => undefined);
      })
      .catch(reject);
  });
}
