import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { TenantDb } from '../../db/tenant-transaction.ts';
import type { DestinationRow } from './destinations-dal.ts';

/**
 * The forwarder's SQL on `capi_forward_queue` (system connection; every statement names the org or
 * the destination). One worker at a time forwards a destination, under a session advisory lock (no
 * transaction stays open across the platform call); a worker killed mid-batch loses the lock with
 * its connection, and the next one sends the batch again with the same event ids (the platforms
 * deduplicate on them).
 */
export type ClaimedRow = {
  id: string;
  org_id: string;
  project_id: string;
  event_id: string;
  encrypted_payload: string;
  attempts: number;
  created_at: Date;
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
     * The destination's due rows, oldest first. Only the holder of the destination's forwarder lock
     * reads them (`tryLock`), so nothing is written to claim them: a claim costs a read, not a
     * rewrite of every row.
     */
    async due(db: Db, destinationId: string, now: Date, limit: number): Promise<ClaimedRow[]> {
      const { rows } = await sql<ClaimedRow>`
        SELECT id, org_id, project_id, event_id, encrypted_payload, attempts, created_at FROM capi_forward_queue
        WHERE destination_id = ${destinationId} AND next_attempt_at <= ${now}
        ORDER BY next_attempt_at, id LIMIT ${limit}`.execute(db);
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

    /** Deletes up to `limit` rows queued before `cutoff`; returns the count per destination. */
    async expire(db: Db, cutoff: Date, limit: number) {
      const { rows } = await sql<{
        org_id: string;
        project_id: string;
        destination_id: string;
        hour: Date;
        n: string;
      }>`
        WITH gone AS (
          DELETE FROM capi_forward_queue WHERE id IN (
            SELECT id FROM capi_forward_queue WHERE created_at < ${cutoff} LIMIT ${limit} FOR UPDATE SKIP LOCKED)
          RETURNING org_id, project_id, destination_id, created_at)
        SELECT org_id, project_id, destination_id, date_trunc('hour', created_at) AS hour, count(*) AS n
        FROM gone GROUP BY 1, 2, 3, 4`.execute(db);
      return rows.map((r) => ({ ...r, n: Number(r.n) }));
    },

    /** A DSR erasure: up to `limit` of the user's queued rows (tenant transaction), counted per destination. */
    async eraseSubject(tx: TenantDb, orgId: string, projectId: string, subjectHash: string, limit: number) {
      const { rows } = await sql<{ destination_id: string; hour: Date; n: string }>`
        WITH gone AS (
          DELETE FROM capi_forward_queue WHERE id IN (
            SELECT id FROM capi_forward_queue
            WHERE org_id = ${orgId} AND project_id = ${projectId} AND subject_hash = ${subjectHash} LIMIT ${limit})
          RETURNING destination_id, created_at)
        SELECT destination_id, date_trunc('hour', created_at) AS hour, count(*) AS n FROM gone GROUP BY 1, 2`.execute(
        tx,
      );
      return rows.map((r) => ({ destination_id: r.destination_id, hour: r.hour, n: Number(r.n) }));
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
