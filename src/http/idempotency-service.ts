import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Clock } from '../lib/clock.ts';
import type { Envelope } from '../lib/envelope-crypto.ts';
import type { IdempotencyDal } from './idempotency-dal.ts';
import { subjectsNamed } from './idempotency-subjects.ts';

/**
 * The idempotency cache's rules on top of its DAL: what is stored for a response, and how it is read
 * back.
 *
 * Shown once means stored nowhere in plaintext: a response that carries a secret (a top-level
 * `secret`, or anything shaped like one of our secrets) is kept only as envelope ciphertext whose AAD
 * binds it to (org, idempotency key hash, field), so it replays byte for byte but a copy moved to
 * another row or org does not decrypt. Such an entry is deleted when its window ends (a job every
 * minute, `deleteExpiredSecrets`), not an hour later with the sweeper; it is never replayed after it.
 */
export const SECRET_MARKERS = /lyr_sk_|lyr_pk_|whsec_/;
const FIELD = 'response_body';

export type StoredResponse = { requestHash: string; status: number; body: string };

export function createIdempotencyService(deps: {
  dal: IdempotencyDal;
  envelope: Envelope;
  systemDb: Kysely<Database>;
  clock: Clock;
}) {
  const { dal, envelope } = deps;
  const context = (orgId: string, key: string) => ({ orgId, recordId: key, field: FIELD });

  return {
    tryLock: dal.tryLock,

    /** The live entry under this key, its body decrypted when it was stored encrypted. */
    async findLive(
      tx: Kysely<Database>,
      orgId: string,
      key: string,
      now: Date,
    ): Promise<StoredResponse | undefined> {
      const row = await dal.findLive(tx, orgId, key, now);
      if (!row) return undefined;
      const body =
        row.response_body ?? envelope.decrypt(row.encrypted_response_body as string, context(orgId, key));
      return { requestHash: row.request_hash, status: row.status_code, body };
    },

    async store(
      tx: Kysely<Database>,
      entry: {
        orgId: string;
        key: string;
        requestHash: string;
        status: number;
        /** The handler's result, before serialisation: read for `secret` and the users it names. */
        result: unknown;
        body: string;
        /** The route's path parameters. */
        params: unknown;
        now: Date;
        expiresAt: Date;
      },
    ): Promise<void> {
      const secret = carriesSecret(entry.result, entry.body);
      await dal.store(tx, {
        org_id: entry.orgId,
        key: entry.key,
        request_hash: entry.requestHash,
        status_code: entry.status,
        response_body: secret ? null : entry.body,
        encrypted_response_body: secret
          ? envelope.encrypt(entry.body, context(entry.orgId, entry.key))
          : null,
        subjects: subjectsNamed(entry.params, entry.result),
        created_at: entry.now,
        expires_at: entry.expiresAt,
      });
    },

    /** For an erasure: deletes the envelopes that name this user in this project. */
    deleteNamingSubject: dal.deleteNamingSubject,

    /** Deletes every secret-bearing entry whose window has ended; returns how many. */
    deleteExpiredSecrets(): Promise<number> {
      return dal.deleteExpiredSecrets(deps.systemDb, deps.clock.now());
    },
  };
}

function carriesSecret(result: unknown, body: string): boolean {
  const top = typeof result === 'object' && result !== null ? (result as Record<string, unknown>) : {};
  // An OAuth authorization URL carries the connect flow's one-time state (social accounts).
  return (
    typeof top.secret === 'string' || typeof top.authorization_url === 'string' || SECRET_MARKERS.test(body)
  );
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>;
