import type { Kysely } from 'kysely';
import { enqueueJob } from '../../jobs/job-queue.ts';

/**
 * The queue side of a delivery. Each pending delivery has exactly one live job, keyed by the delivery
 * id: re-adding the key replaces the waiting job (no duplicates), and adding it while the job runs
 * gives the delivery a fresh job (graphile-worker retires the running one). Jobs carry ids only.
 */
export const DELIVER_TASK = 'webhooks.deliver';
/** graphile-worker's own retries only cover failures before an attempt is claimed (database errors). */
export const DELIVER_JOB_MAX_ATTEMPTS = 10;
export const DELIVERY_JOB_KEY_PREFIX = 'webhook-delivery:';
export const deliveryJobKey = (deliveryId: string) => `${DELIVERY_JOB_KEY_PREFIX}${deliveryId}`;

export type DeliverJobPayload = { org_id: string; delivery_id: string };

// biome-ignore lint/suspicious/noExplicitAny: a tenant or system connection of any schema.
type AnyDb = Kysely<any>;

/** Schedules (or reschedules) the delivery's job in the caller's transaction; no `runAt` = now. */
export function scheduleDelivery(tx: AnyDb, orgId: string, deliveryId: string, runAt?: Date): Promise<void> {
  const payload: DeliverJobPayload = { org_id: orgId, delivery_id: deliveryId };
  return enqueueJob(tx, DELIVER_TASK, payload, {
    jobKey: deliveryJobKey(deliveryId),
    maxAttempts: DELIVER_JOB_MAX_ATTEMPTS,
    ...(runAt ? { runAt } : {}),
  });
}
