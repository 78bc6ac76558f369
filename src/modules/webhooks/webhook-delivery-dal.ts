import { type Kysely, sql } from 'kysely';
import type { Database, WebhookAttemptRecord } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';
import { DELIVERY_JOB_KEY_PREFIX } from './webhook-delivery-queue.ts';

/** Attempts kept per delivery (the oldest are dropped beyond this). */
const ATTEMPTS_KEPT = 50;

export type DeliveryRow = {
  id: string;
  org_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  event_created_at: Date;
  status: 'pending' | 'succeeded' | 'failed';
  attempt_count: number;
  attempts: WebhookAttemptRecord[];
  next_attempt_at: Date | null;
  lease_until: Date | null;
  created_at: Date;
  completed_at: Date | null;
};

/** What one attempt needs, read in the statement that claims it. */
export type ClaimedDelivery = {
  id: string;
  org_id: string;
  endpoint_id: string;
  event_id: string;
  attempt_count: number;
  event_type: string;
  event_data: unknown;
  event_created_at: Date;
  url: string;
  endpoint_status: 'enabled' | 'disabled';
  encrypted_secret: string;
  previous_encrypted_secret: string | null;
  previous_secret_expires_at: Date | null;
};

export type AttemptResult = {
  record: WebhookAttemptRecord;
  status: 'pending' | 'succeeded' | 'failed';
  nextAttemptAt: Date | null;
  completedAt: Date | null;
};

function deliveries(tx: Kysely<Database>) {
  return tx
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .select([
      'd.id',
      'd.org_id',
      'd.endpoint_id',
      'd.event_id',
      'e.type as event_type',
      'e.created_at as event_created_at',
      'd.status',
      'd.attempt_count',
      'd.attempts',
      'd.next_attempt_at',
      'd.lease_until',
      'd.created_at',
      'd.completed_at',
    ]);
}

export function createWebhookDeliveryDal() {
  return {
    async list(
      tx: Kysely<Database>,
      orgId: string,
      endpointId: string,
      filter: { status?: DeliveryRow['status'] | undefined },
      page: PageParams,
    ): Promise<{ rows: DeliveryRow[]; has_more: boolean }> {
      let q = deliveries(tx).where('d.org_id', '=', orgId).where('d.endpoint_id', '=', endpointId);
      if (filter.status) q = q.where('d.status', '=', filter.status);
      return paginate(q, 'd.id', page) as Promise<{ rows: DeliveryRow[]; has_more: boolean }>;
    },

    async findById(
      tx: Kysely<Database>,
      orgId: string,
      endpointId: string,
      id: string,
    ): Promise<DeliveryRow | undefined> {
      return (await deliveries(tx)
        .where('d.org_id', '=', orgId)
        .where('d.endpoint_id', '=', endpointId)
        .where('d.id', '=', id)
        .executeTakeFirst()) as DeliveryRow | undefined;
    },

    /**
     * Takes the lease on a pending delivery that no live attempt holds, and reads what the attempt
     * needs. Nothing is returned when another attempt holds it or it is no longer pending.
     */
    async claim(
      tx: Kysely<Database>,
      orgId: string,
      id: string,
      now: Date,
      leaseUntil: Date,
    ): Promise<ClaimedDelivery | undefined> {
      const { rows } = await sql<ClaimedDelivery>`
        UPDATE webhook_deliveries d SET lease_until = ${leaseUntil}
        FROM webhook_events e, webhook_endpoints w
        WHERE d.id = ${id} AND d.org_id = ${orgId} AND d.status = 'pending'
          AND (d.lease_until IS NULL OR d.lease_until <= ${now})
          AND e.id = d.event_id AND w.id = d.endpoint_id
        RETURNING d.id, d.org_id, d.endpoint_id, d.event_id, d.attempt_count,
          e.type AS event_type, e.data AS event_data, e.created_at AS event_created_at,
          w.url, w.status AS endpoint_status, w.encrypted_secret, w.previous_encrypted_secret,
          w.previous_secret_expires_at`.execute(tx);
      return rows[0];
    },

    /**
     * Pending, due deliveries that no live attempt holds (never leased, or the lease ran out) and
     * whose job is missing or has been locked for longer than `stuckAfterMs` — taken by a worker that
     * died (graphile-worker keeps such a job locked for 4 hours). Reads graphile-worker's job table
     * (system connection).
     */
    async stranded(
      db: Kysely<Database>,
      now: Date,
      stuckAfterMs: number,
      limit: number,
    ): Promise<{ id: string; org_id: string }[]> {
      const { rows } = await sql<{ id: string; org_id: string }>`
        SELECT d.id, d.org_id FROM webhook_deliveries d
        LEFT JOIN graphile_worker._private_jobs j ON j.key = ${DELIVERY_JOB_KEY_PREFIX} || d.id
        WHERE d.status = 'pending' AND d.next_attempt_at <= ${now}
          AND (d.lease_until IS NULL OR d.lease_until <= ${now})
          -- graphile-worker stamps locked_at with the database clock, so compare with that one.
          AND (j.id IS NULL OR j.locked_at < now() - make_interval(secs => ${stuckAfterMs / 1000}))
        ORDER BY d.next_attempt_at LIMIT ${limit}`.execute(db);
      return rows;
    },

    /**
     * Records a successful attempt, releases the lease and ends the endpoint's failure streak: one
     * statement (the hot path of every delivery).
     */
    async recordSuccess(
      db: Kysely<Database>,
      id: string,
      record: WebhookAttemptRecord,
      completedAt: Date,
    ): Promise<void> {
      await sql`
        WITH delivered AS (
          UPDATE webhook_deliveries SET
            attempt_count = attempt_count + 1,
            attempts = (CASE WHEN jsonb_array_length(attempts) >= ${ATTEMPTS_KEPT} THEN attempts - 0 ELSE attempts END)
              || jsonb_build_array(${JSON.stringify(record)}::jsonb),
            status = 'succeeded', next_attempt_at = NULL, completed_at = ${completedAt}, lease_until = NULL
          WHERE id = ${id}
          RETURNING endpoint_id
        )
        UPDATE webhook_endpoints SET failing_since = NULL
        WHERE id = (SELECT endpoint_id FROM delivered) AND failing_since IS NOT NULL`.execute(db);
    },

    /** Records an attempt's outcome and releases the lease. */
    async recordAttempt(tx: Kysely<Database>, id: string, result: AttemptResult): Promise<void> {
      await sql`
        UPDATE webhook_deliveries SET
          attempt_count = attempt_count + 1,
          attempts = (CASE WHEN jsonb_array_length(attempts) >= ${ATTEMPTS_KEPT} THEN attempts - 0 ELSE attempts END)
            || jsonb_build_array(${JSON.stringify(result.record)}::jsonb),
          status = ${result.status},
          next_attempt_at = ${result.nextAttemptAt},
          completed_at = ${result.completedAt},
          lease_until = NULL
        WHERE id = ${id}`.execute(tx);
    },

    /** Gives a lease back without recording an attempt (the attempt could not be made). */
    async releaseLease(tx: Kysely<Database>, id: string): Promise<void> {
      await sql`UPDATE webhook_deliveries SET lease_until = NULL WHERE id = ${id}`.execute(tx);
    },

    /** Makes a delivery pending again, due now, unless an attempt is in flight. */
    async requeue(tx: Kysely<Database>, orgId: string, id: string, now: Date): Promise<boolean> {
      const result = await sql`
        UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ${now}, completed_at = NULL
        WHERE id = ${id} AND org_id = ${orgId} AND (lease_until IS NULL OR lease_until <= ${now})`.execute(
        tx,
      );
      return Number(result.numAffectedRows ?? 0) === 1;
    },

    /** Starts (or keeps) the endpoint's failure streak; returns when it started. */
    async markEndpointFailing(tx: Kysely<Database>, endpointId: string, at: Date): Promise<Date | undefined> {
      const { rows } = await sql<{ failing_since: Date }>`
        UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ${at})
        WHERE id = ${endpointId} RETURNING failing_since`.execute(tx);
      return rows[0]?.failing_since;
    },

    /** Disables an enabled endpoint; false when it was not enabled (already disabled or deleted). */
    async disableEndpoint(
      tx: Kysely<Database>,
      endpointId: string,
      reason: 'gone' | 'failing',
      at: Date,
    ): Promise<{ events: string[]; failing_since: Date | null } | undefined> {
      const { rows } = await sql<{ events: string[]; failing_since: Date | null }>`
        UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = ${reason}, updated_at = ${at}
        WHERE id = ${endpointId} AND status = 'enabled' RETURNING events, failing_since`.execute(tx);
      return rows[0];
    },
  };
}

export type WebhookDeliveryDal = ReturnType<typeof createWebhookDeliveryDal>;
