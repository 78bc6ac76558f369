import { type Kysely, sql } from 'kysely';
import { APP_ROLE } from '../tenancy-sql.ts';

/**
 * The idempotency cache keeps no plaintext secret and knows whom each replay envelope names; API-key
 * authentication can tell a key that does not exist without a lookup.
 *
 * - `encrypted_response_body`: a response that carries a secret (a new API key, a webhook signing
 *   secret) is stored only as envelope ciphertext there, `response_body` then being NULL.
 * - `subjects`: references (SHA-256 of project id + user id) of the data subjects a stored request or
 *   response names, written with the envelope, so that an erasure deletes exactly those envelopes.
 * - `api_keys.created_xid` + `auth_api_key_prefixes_since`: a commit-ordered feed of key hashes, so
 *   each process holds the set of keys that exist and refreshes it exactly.
 *
 * Entries written before this migration cannot be attributed or encrypted here: those that hold a
 * plaintext secret or name user ids (a lookup's answer, whose project the row does not record) are
 * deleted, giving up their replay. Their replay was either a key shown twice or a lookup, which
 * changes nothing when repeated. The others name no user in their body and expire with their window.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE idempotency_keys
      ADD COLUMN subjects text[] NOT NULL DEFAULT '{}',
      ADD COLUMN encrypted_response_body text,
      ALTER COLUMN response_body DROP NOT NULL`.execute(db);
  await sql`DELETE FROM idempotency_keys WHERE response_body ~ 'lyr_(sk|pk)_|whsec_'`.execute(db);
  await sql`
    DELETE FROM idempotency_keys
    WHERE strpos(response_body, '"user_ids":') > 0 OR strpos(response_body, '"user_id":') > 0`.execute(db);
  await sql`
    ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_one_body
      CHECK ((response_body IS NULL) <> (encrypted_response_body IS NULL))`.execute(db);
  await sql`
    CREATE INDEX idempotency_keys_subjects_idx ON idempotency_keys USING gin (subjects)
    WHERE subjects <> '{}'`.execute(db);

  // Every existing key gets the migration's transaction id: visible to any later snapshot.
  await sql`ALTER TABLE api_keys ADD COLUMN created_xid xid8 NOT NULL DEFAULT pg_current_xact_id()`.execute(
    db,
  );
  await sql`CREATE INDEX api_keys_created_xid_idx ON api_keys (created_xid)`.execute(db);
  // One statement, so the returned snapshot is exactly the one the rows were read in: the next call
  // with it returns the keys committed since, and no other.
  await sql`
    CREATE FUNCTION auth_api_key_prefixes_since(p_since text)
    RETURNS TABLE (snapshot text, prefixes text[])
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
      SELECT pg_current_snapshot()::text,
             ARRAY(SELECT left(k.key_hash, 16) FROM api_keys k
                   WHERE p_since IS NULL
                      OR (k.created_xid >= pg_snapshot_xmin(p_since::pg_snapshot)
                          AND NOT pg_visible_in_snapshot(k.created_xid, p_since::pg_snapshot)))
    $$`.execute(db);
  await sql.raw('REVOKE ALL ON FUNCTION auth_api_key_prefixes_since(text) FROM PUBLIC').execute(db);
  await sql.raw(`GRANT EXECUTE ON FUNCTION auth_api_key_prefixes_since(text) TO ${APP_ROLE}`).execute(db);
}
