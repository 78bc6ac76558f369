import { type Kysely, sql } from 'kysely';
import { APP_ROLE } from '../tenancy-sql.ts';

/**
 * Lets ingest write a commit's events and their forward-queue rows in one statement (one round trip,
 * its own transaction, like a commit without forwarding) instead of BEGIN, ingest_batch, the queue
 * insert and COMMIT: the rows are sealed before the statement for every forwarded event, and the
 * statement queues a row only if ingest_batch stored all of its events. A row of which it stored
 * only some (a duplicate or a suppressed user's event among them) cannot be queued as sealed, so the
 * statement calls this function, which then fails it (SQLSTATE LF001, nothing committed) and ingest
 * writes that commit the longer way, sealing the stored events' rows inside the transaction
 * (modules/ingest/ingest-dal.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION layers_forward_rows_whole(p_partial bigint) RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
    BEGIN
      IF p_partial > 0 THEN
        RAISE EXCEPTION 'forward rows only partly stored: %', p_partial USING ERRCODE = 'LF001';
      END IF;
      RETURN p_partial;
    END $$`.execute(db);
  await sql`REVOKE ALL ON FUNCTION layers_forward_rows_whole(bigint) FROM PUBLIC`.execute(db);
  await sql.raw(`GRANT EXECUTE ON FUNCTION layers_forward_rows_whole(bigint) TO ${APP_ROLE}`).execute(db);
}
