import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';

/**
 * A session-level advisory lock per sweep phase (a data class, project purges, partnership-end
 * purges). A second sweeper that finds a phase locked skips it: the holder is purging those rows, so
 * each row is purged once, and neither waits on the other. The lock lives on a connection of its own
 * and is released when the phase ends or, if the process dies, when its connection closes.
 */
export async function withSweepLock<T>(
  db: Kysely<Database>,
  name: string,
  fn: () => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  return db.connection().execute(async (conn) => {
    const key = `layers:retention:${name}`;
    const { rows } = await sql<{ locked: boolean }>`
      SELECT pg_try_advisory_lock(hashtextextended(${key}, 0)) AS locked`.execute(conn);
    if (rows[0]?.locked !== true) return { ran: false as const };
    try {
      return { ran: true as const, value: await fn() };
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtextextended(${key}, 0))`.execute(conn);
    }
  });
}
