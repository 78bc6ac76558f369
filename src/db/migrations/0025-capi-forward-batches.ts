import { type Kysely, sql } from 'kysely';
import { APP_ROLE } from '../tenancy-sql.ts';

/**
 * The forward queue holds batches (modules/destinations/forward-batch.ts): a row is one ingest
 * commit's events for one destination, sealed together in one envelope ciphertext, instead of one
 * row (five index entries, one encryption) per event. Measured with `npm run bench -- forwarding`,
 * the per-event rows cost more PostgreSQL and API time than the rest of ingest together.
 *
 * In the clear beside the ciphertext: `event_count` (stats; the forwarder takes whole rows up to
 * 1,000 events a call), `subject_hashes` (the distinct subject hashes of the row's events: a DSR
 * erasure finds the rows holding a user, takes the user's events out and seals the rest again, so
 * the app role may now UPDATE), `oldest_event_time`, and the retry state as before.
 *
 * Rows queued before this migration stay and are forwarded: each becomes a batch of one (its
 * subject hash the array's only element; its ciphertext, AAD org + row id + `capi_payload`, is kept
 * as it is and read as a single event). The event id column goes (it is inside the ciphertext).
 * The payload column is stored without compression: ciphertext does not compress.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE capi_forward_queue
      ADD COLUMN event_count integer NOT NULL DEFAULT 1 CHECK (event_count > 0),
      ADD COLUMN subject_hashes text[]`.execute(db);
  await sql`UPDATE capi_forward_queue SET subject_hashes = ARRAY[subject_hash]`.execute(db);
  await sql`
    ALTER TABLE capi_forward_queue
      ALTER COLUMN subject_hashes SET NOT NULL,
      ALTER COLUMN event_count DROP DEFAULT,
      ALTER COLUMN encrypted_payload SET STORAGE EXTERNAL,
      DROP COLUMN subject_hash,
      DROP COLUMN event_id`.execute(db);
  await sql`ALTER TABLE capi_forward_queue RENAME COLUMN event_time TO oldest_event_time`.execute(db);
  // The subject index went with its column: a project's rows (erasure, project purge) by project.
  await sql`CREATE INDEX capi_forward_queue_project_idx ON capi_forward_queue (project_id)`.execute(db);
  await sql.raw(`GRANT UPDATE ON capi_forward_queue TO ${APP_ROLE}`).execute(db);
}
