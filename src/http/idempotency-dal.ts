import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { subjectRef } from './idempotency-subjects.ts';

export function createIdempotencyDal() {
  return {
    /** A transaction-scoped advisory lock per (org, key): held until COMMIT/ROLLBACK, across processes. */
    async tryLock(tx: Kysely<Database>, orgId: string, key: string): Promise<boolean> {
      const { rows } = await sql<{ locked: boolean }>`
        SELECT pg_try_advisory_xact_lock(hashtextextended(${`idem:${orgId}:${key}`}, 0)) AS locked`.execute(
        tx,
      );
      return rows[0]?.locked === true;
    },

    async findLive(tx: Kysely<Database>, orgId: string, key: string, now: Date) {
      return tx
        .selectFrom('idempotency_keys')
        .select(['request_hash', 'status_code', 'response_body', 'encrypted_response_body'])
        .where('org_id', '=', orgId)
        .where('key', '=', key)
        .where('expires_at', '>', now)
        .executeTakeFirst();
    },

    async store(
      tx: Kysely<Database>,
      row: {
        org_id: string;
        key: string;
        request_hash: string;
        status_code: number;
        /** Exactly one of the two: a body that carries a secret is stored only as ciphertext. */
        response_body: string | null;
        encrypted_response_body: string | null;
        subjects: string[];
        created_at: Date;
        expires_at: Date;
      },
    ): Promise<void> {
      // An expired entry under the same key is replaced; a live one cannot exist (we hold the lock
      // and looked it up first).
      await tx
        .insertInto('idempotency_keys')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['org_id', 'key']).doUpdateSet({
            request_hash: row.request_hash,
            status_code: row.status_code,
            response_body: row.response_body,
            encrypted_response_body: row.encrypted_response_body,
            subjects: row.subjects,
            created_at: row.created_at,
            expires_at: row.expires_at,
          }),
        )
        .execute();
    },

    /**
     * Deletes (at most `limit` of) the org's replay envelopes recorded as naming this data subject
     * (idempotency-subjects.ts), for an erasure; returns how many it deleted.
     */
    async deleteNamingSubject(
      tx: Kysely<Database>,
      subject: { orgId: string; projectId: string; userId: string },
      limit: number,
    ): Promise<number> {
      const ref = subjectRef(subject.projectId, subject.userId);
      const result = await sql`
        DELETE FROM idempotency_keys WHERE (org_id, key) IN (
          SELECT org_id, key FROM idempotency_keys
          WHERE org_id = ${subject.orgId} AND subjects <> '{}' AND subjects @> ARRAY[${ref}]::text[]
          LIMIT ${limit})`.execute(tx);
      return Number(result.numAffectedRows ?? 0);
    },

    /** Deletes secret-bearing entries whose window has ended (every org: the system connection). */
    async deleteExpiredSecrets(db: Kysely<Database>, now: Date): Promise<number> {
      const result = await db
        .deleteFrom('idempotency_keys')
        .where('encrypted_response_body', 'is not', null)
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    /** Ends the org's stored entries at most `windowMs` after their creation (a shorter replay window). */
    async capWindow(tx: Kysely<Database>, orgId: string, windowMs: number): Promise<void> {
      await sql`
        UPDATE idempotency_keys SET expires_at = created_at + make_interval(secs => ${windowMs / 1000})
        WHERE org_id = ${orgId} AND expires_at > created_at + make_interval(secs => ${windowMs / 1000})`.execute(
        tx,
      );
    },
  };
}

export type IdempotencyDal = ReturnType<typeof createIdempotencyDal>;
