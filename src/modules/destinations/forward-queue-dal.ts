import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { TenantDb } from '../../db/tenant-transaction.ts';
import type { DestinationRow } from './destinations-dal.ts';

/**
 * The forwarder's SQL on `capi_forward_queue` (system connection; every statement names the org or
 * the destination). A row is a batch of one commit's events for one destination (forward-batch.ts).
 * One worker at a time forwards a destination, under a session advisory lock (no transaction stays
 * open across the platform call); a worker killed mid-batch loses the lock with its connection, and
 * the next one sends the batch again with the same event ids (the platforms deduplicate on them).
 */
export type ClaimedRow = {
  id: string;
  org_id: string;
  project_id: string;
  event_count: number;
  /** The first of the row's subject hashes (the whole array is needed only for a row of one). */
  first_subject: string;
  encrypted_payload: string;
  attempts: number;
  created_at: Date;
};

/** A row's new content when only some of its events are left (sealed again under the same id). */
export type Remainder = {
  event_count: number;
  subject_hashes: string[];
  oldest_event_time: Date;
  encrypted_payload: string;
};

type Db = Kysely<Database>;

export function createForwardQueueDal() {
  return {
    async destination(
      db: Db,
      orgId: string,
      id: string,
    ): Promise<(DestinationRow & { token: string }) | undefined> {
      const { rows } = await sql<DestinationRow & { token: string }>`
        SELECT id, org_id, project_id, type, platform_id, event_map, test_event_code, default_phone_country, enabled,
          status, paused_reason, paused_at, created_at, updated_at, encrypted_access_token AS token
        FROM destinations WHERE org_id = ${orgId} AND id = ${id}`.execute(db);
      return rows[0];
    },

    /**
     * The destination's due rows, oldest first, as many as hold at most `maxEvents` events together
     * (at least one row). Only the holder of the destination's forwarder lock reads them (`tryLock`),
     * so nothing is written to claim them: a claim costs a read, not a rewrite of every row.
     */
    async due(db: Db, destinationId: string, now: Date, maxEvents: number): Promise<ClaimedRow[]> {
      const { rows } = await sql<ClaimedRow>`
        SELECT q.id, q.org_id, q.project_id, q.event_count, q.subject_hashes[1] AS first_subject, q.encrypted_payload,
          q.attempts, q.created_at
        FROM (
          SELECT id, next_attempt_at, sum(event_count) OVER (ORDER BY next_attempt_at, id) AS upto
          FROM (SELECT id, next_attempt_at, event_count FROM capi_forward_queue
            WHERE destination_id = ${destinationId} AND next_attempt_at <= ${now}
            ORDER BY next_attempt_at, id LIMIT ${maxEvents}) AS first_rows
        ) AS c JOIN capi_forward_queue q ON q.id = c.id
        WHERE c.upto <= ${maxEvents} OR c.upto = q.event_count
        ORDER BY c.next_attempt_at, c.id`.execute(db);
      return rows;
    },

    /**
     * The destination's forwarder lock: a session advisory lock on the connection `db` is bound to.
     * One worker forwards a destination at a time; a killed worker's connection closes and its lock
     * with it, so the next worker takes over at once (and resends what it had not settled).
     */
    async tryLock(db: Db, destinationId: string): Promise<boolean> {
      const { rows } = await sql<{ ok: boolean }>`
        SELECT pg_try_advisory_lock(hashtextextended(${`capi.forward:${destinationId}`}, 0)) AS ok`.execute(
        db,
      );
      return rows[0]?.ok === true;
    },

    async unlock(db: Db, destinationId: string): Promise<void> {
      await sql`SELECT pg_advisory_unlock(hashtextextended(${`capi.forward:${destinationId}`}, 0))`.execute(
        db,
      );
    },

    /** Deletes rows whose fate is decided (sent, rejected, dropped); returns how many were still there. */
    async remove(db: Db, ids: readonly string[]): Promise<number> {
      if (ids.length === 0) return 0;
      const r = await sql`DELETE FROM capi_forward_queue WHERE id = ANY(${ids}::uuid[])`.execute(db);
      return Number(r.numAffectedRows ?? 0);
    },

    /**
     * Leaves in a row only the events still to send, sealed again, put off like `release`. Written
     * only if the row still holds what the forwarder read: an erasure that took a user's events out
     * meanwhile wins (its row is sent again later: the platforms deduplicate on event_id).
     */
    async keepRemainder(
      db: Db,
      id: string,
      read: string,
      rest: Remainder,
      nextAttemptAt: Date,
      failed: boolean,
    ): Promise<void> {
      await sql`
        UPDATE capi_forward_queue SET event_count = ${rest.event_count}, subject_hashes = ${rest.subject_hashes}::text[],
          oldest_event_time = ${rest.oldest_event_time}, encrypted_payload = ${rest.encrypted_payload},
          next_attempt_at = ${nextAttemptAt}, attempts = attempts + ${failed ? 1 : 0}
        WHERE id = ${id} AND encrypted_payload = ${read}`.execute(db);
    },

    /** Puts rows off for a later attempt (a retryable failure, counted; a pause, not counted). */
    async release(db: Db, ids: readonly string[], nextAttemptAt: Date, failed: boolean): Promise<void> {
      if (ids.length === 0) return;
      await sql`
        UPDATE capi_forward_queue SET next_attempt_at = ${nextAttemptAt}, attempts = attempts + ${failed ? 1 : 0}
        WHERE id = ANY(${ids}::uuid[])`.execute(db);
    },

    /** When the destination's next row becomes due (none: null). */
    async nextDue(db: Db, destinationId: string): Promise<Date | null> {
      const { rows } = await sql<{ at: Date | null }>`
        SELECT min(next_attempt_at) AS at FROM capi_forward_queue WHERE destination_id = ${destinationId}`.execute(
        db,
      );
      return rows[0]?.at ?? null;
    },

    /** Destinations (enabled, active) with rows due now, for the recovery sweep. */
    async dueDestinations(db: Db, now: Date): Promise<{ org_id: string; id: string }[]> {
      const { rows } = await sql<{ org_id: string; id: string }>`
        SELECT d.org_id, d.id FROM destinations d
        WHERE d.enabled AND d.status = 'active' AND EXISTS (
          SELECT 1 FROM capi_forward_queue q WHERE q.destination_id = d.id AND q.next_attempt_at <= ${now})`.execute(
        db,
      );
      return rows;
    },

    /** Deletes up to `limit` rows queued before `cutoff`; returns their events per destination and hour. */
    async expire(db: Db, cutoff: Date, limit: number) {
      const { rows } = await sql<{
        org_id: string;
        project_id: string;
        destination_id: string;
        hour: Date;
        rows: string;
        n: string;
      }>`
        WITH gone AS (
          DELETE FROM capi_forward_queue WHERE id IN (
            SELECT id FROM capi_forward_queue WHERE created_at < ${cutoff} LIMIT ${limit} FOR UPDATE SKIP LOCKED)
          RETURNING org_id, project_id, destination_id, created_at, event_count)
        SELECT org_id, project_id, destination_id, date_trunc('hour', created_at) AS hour, count(*) AS rows,
          sum(event_count) AS n
        FROM gone GROUP BY 1, 2, 3, 4`.execute(db);
      return rows.map((r) => ({ ...r, rows: Number(r.rows), n: Number(r.n) }));
    },

    /** A DSR erasure: up to `limit` rows holding events of the subjects (tenant transaction), locked. */
    async rowsHolding(tx: TenantDb, orgId: string, projectId: string, subjects: string[], limit: number) {
      const { rows } = await sql<ClaimedRow & { destination_id: string }>`
        SELECT id, org_id, project_id, destination_id, event_count, subject_hashes[1] AS first_subject, encrypted_payload,
          attempts, created_at
        FROM capi_forward_queue
        WHERE org_id = ${orgId} AND project_id = ${projectId} AND subject_hashes && ${subjects}::text[]
        ORDER BY id LIMIT ${limit} FOR UPDATE`.execute(tx);
      return rows;
    },

    /** An erasure's rewrite of a row without the user's events (other users' stay queued). */
    async replaceEvents(tx: TenantDb, id: string, rest: Remainder): Promise<void> {
      await sql`
        UPDATE capi_forward_queue SET event_count = ${rest.event_count}, subject_hashes = ${rest.subject_hashes}::text[],
          oldest_event_time = ${rest.oldest_event_time}, encrypted_payload = ${rest.encrypted_payload}
        WHERE id = ${id}`.execute(tx);
    },

    async pause(db: Db, orgId: string, id: string, now: Date): Promise<boolean> {
      const r = await sql`
        UPDATE destinations SET status = 'paused', paused_reason = 'invalid_token', paused_at = ${now}, updated_at = ${now}
        WHERE org_id = ${orgId} AND id = ${id} AND status = 'active'`.execute(db);
      return Number(r.numAffectedRows ?? 0) > 0;
    },
  };
}

export type ForwardQueueDal = ReturnType<typeof createForwardQueueDal>;
