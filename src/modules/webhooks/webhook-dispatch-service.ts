import type { Kysely } from 'kysely';
import type { Database, WebhookAttemptRecord } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { systemScope, type TenantScope } from '../../lib/scope.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { ClaimedDelivery, WebhookDeliveryDal } from './webhook-delivery-dal.ts';
import { scheduleDelivery } from './webhook-delivery-queue.ts';
import { TEST_EVENT_TYPE } from './webhook-event-types.ts';
import type { WebhookEventEmitter } from './webhook-events-service.ts';
import { DISABLE_AFTER_FAILING_MS, nextAttemptAt } from './webhook-retry-schedule.ts';
import type { SendOutcome, WebhookSender } from './webhook-sender.ts';
import { signedHeaders } from './webhook-signer.ts';
import { PREVIOUS_SECRET_FIELD, SECRET_FIELD } from './webhooks-service.ts';

/**
 * The dispatcher (worker side, system connection): makes delivery attempts (the `webhooks.deliver`
 * job) and records their outcome. The partner API's view of deliveries (list, retry, test) is
 * `WebhookDeliveriesService` in webhook-deliveries-service.ts.
 *
 * An attempt: claim the delivery (a lease of `leaseMs`, longer than the 15 s send timeout) → sign and
 * send, outside any transaction → record the outcome and release the lease; on failure, in the same
 * transaction, move the delivery's job to the next attempt's time. A trigger that finds the delivery
 * leased or no longer pending does nothing.
 *
 * A worker killed mid-attempt leaves its job locked (graphile-worker frees a dead worker's jobs only
 * after 4 hours) and the delivery pending: leased until the lease runs out, or unclaimed if it died
 * before claiming. `recover` (job `webhooks.recover`: every minute, and `recoveryDelayMs` after each
 * worker starts) finds pending deliveries in that state and gives them a fresh job. A crash
 * therefore costs at most a repeated attempt, with the same `webhook-id`: delivery is at least once.
 */
export type AttemptSummary =
  | { outcome: 'skipped' }
  | {
      outcome: 'succeeded' | 'retrying' | 'failed';
      deliveryId: string;
      endpointId: string;
      attempt: number;
      statusCode: number | null;
      latencyMs: number;
      error: string | null;
      disabled: 'gone' | 'failing' | null;
    };

function summary(
  outcome: 'succeeded' | 'retrying' | 'failed',
  claimed: ClaimedDelivery,
  entry: WebhookAttemptRecord,
  disabled: 'gone' | 'failing' | null,
): AttemptSummary {
  return {
    outcome,
    deliveryId: claimed.id,
    endpointId: claimed.endpoint_id,
    attempt: entry.attempt,
    statusCode: entry.status_code,
    latencyMs: entry.latency_ms,
    error: entry.error,
    disabled,
  };
}

export function createWebhookDispatchService(deps: {
  db: Kysely<Database>;
  deliveryDal: WebhookDeliveryDal;
  envelope: Envelope;
  sender: WebhookSender;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  clock: Clock;
  /** How long an attempt may run before another worker may retry it (≥ the sender's timeout). */
  leaseMs: number;
  /** How long a delivery's job may stay locked (taken, not claimed) before `recover` re-arms it. */
  stuckAfterMs: number;
  random?: () => number;
}) {
  const { db, deliveryDal, envelope, sender, clock } = deps;

  function secretsOf(claimed: ClaimedDelivery, now: Date): string[] {
    const context = { orgId: claimed.org_id, recordId: claimed.endpoint_id };
    const secrets = [envelope.decrypt(claimed.encrypted_secret, { ...context, field: SECRET_FIELD })];
    if (
      claimed.previous_encrypted_secret &&
      claimed.previous_secret_expires_at &&
      claimed.previous_secret_expires_at.getTime() > now.getTime()
    ) {
      secrets.push(
        envelope.decrypt(claimed.previous_encrypted_secret, { ...context, field: PREVIOUS_SECRET_FIELD }),
      );
    }
    return secrets;
  }

  /** The request body: identical on every attempt, so a receiver can deduplicate by `webhook-id`. */
  function bodyOf(claimed: ClaimedDelivery): string {
    return JSON.stringify({
      id: claimed.event_id,
      type: claimed.event_type,
      timestamp: claimed.event_created_at.toISOString(),
      data: claimed.event_data,
    });
  }

  async function send(claimed: ClaimedDelivery, now: Date): Promise<SendOutcome | 'endpoint_disabled'> {
    // A disabled endpoint receives nothing but test events (which check that it works again).
    if (claimed.endpoint_status === 'disabled' && claimed.event_type !== TEST_EVENT_TYPE)
      return 'endpoint_disabled';
    const body = bodyOf(claimed);
    const headers = signedHeaders(
      secretsOf(claimed, now),
      claimed.event_id,
      Math.floor(now.getTime() / 1000),
      body,
    );
    return sender.send({ url: claimed.url, headers, body });
  }

  async function disable(scope: TenantScope, endpointId: string, reason: 'gone' | 'failing') {
    const disabled = await deliveryDal.disableEndpoint(scope.tx, endpointId, reason, scope.now);
    if (!disabled) return false;
    await deps.auditLog.record(scope, {
      action: 'webhook_endpoint.disabled',
      resource: { type: 'webhook_endpoint', id: endpointId },
      changes: { status: { before: 'enabled', after: 'disabled' }, disabled_reason: { after: reason } },
    });
    // The endpoint is disabled now, so only the org's other endpoints receive this.
    await deps.events.emit(scope, 'webhook_endpoint.disabled', {
      id: endpointId,
      object: 'webhook_endpoint',
      reason,
      failing_since: disabled.failing_since ? disabled.failing_since.toISOString() : null,
    });
    return true;
  }

  async function record(
    claimed: ClaimedDelivery,
    attemptedAt: Date,
    sent: SendOutcome | 'endpoint_disabled',
  ): Promise<AttemptSummary> {
    const finishedAt = clock.now();
    const skipped = sent === 'endpoint_disabled';
    const entry: WebhookAttemptRecord = {
      attempt: claimed.attempt_count + 1,
      attempted_at: attemptedAt.toISOString(),
      status_code: skipped ? null : sent.statusCode,
      latency_ms: skipped ? 0 : sent.latencyMs,
      error: skipped ? 'endpoint_disabled' : sent.error,
    };
    if (!skipped && sent.ok) {
      await deliveryDal.recordSuccess(db, claimed.id, entry, finishedAt);
      return summary('succeeded', claimed, entry, null);
    }

    // 410 Gone and a disabled endpoint end the delivery; any other failure waits for the next try.
    const gone = !skipped && sent.statusCode === 410;
    const next =
      skipped || gone
        ? null
        : nextAttemptAt({
            failedAttempts: entry.attempt,
            now: finishedAt,
            retryAfter: sent.retryAfter,
            ...(deps.random ? { random: deps.random } : {}),
          });
    const disabled = await withTenant(db, claimed.org_id, async (tx) => {
      await deliveryDal.recordAttempt(tx, claimed.id, {
        record: entry,
        status: next ? 'pending' : 'failed',
        nextAttemptAt: next,
        completedAt: next ? null : finishedAt,
      });
      // The running job holds the delivery's job key: re-adding it gives the next attempt a fresh
      // job (and retires this one). Without a next attempt, this job simply completes.
      if (next) await scheduleDelivery(tx, claimed.org_id, claimed.id, next);
      if (skipped) return null;
      const scope = systemScope(tx, claimed.org_id, finishedAt);
      const failingSince = await deliveryDal.markEndpointFailing(tx, claimed.endpoint_id, finishedAt);
      if (gone) return (await disable(scope, claimed.endpoint_id, 'gone')) ? 'gone' : null;
      if (failingSince && finishedAt.getTime() - failingSince.getTime() >= DISABLE_AFTER_FAILING_MS)
        return (await disable(scope, claimed.endpoint_id, 'failing')) ? 'failing' : null;
      return null;
    });
    return summary(next ? 'retrying' : 'failed', claimed, entry, disabled);
  }

  return {
    /** After a crash, the dead worker's leases have all run out this long after a new worker starts. */
    recoveryDelayMs: deps.leaseMs + 1_000,

    /** Gives a fresh job to pending deliveries a dead worker left behind; returns how many. */
    async recover(limit = 1000): Promise<number> {
      const now = clock.now();
      const stranded = await deliveryDal.stranded(db, now, deps.stuckAfterMs, limit);
      for (const d of stranded) await withTenant(db, d.org_id, (tx) => scheduleDelivery(tx, d.org_id, d.id));
      return stranded.length;
    },

    /** One attempt at a delivery (the job body). Skips, doing nothing, when the delivery is not due. */
    async attempt(orgId: string, deliveryId: string): Promise<AttemptSummary> {
      const now = clock.now();
      const leaseUntil = new Date(now.getTime() + deps.leaseMs);
      const claimed = await deliveryDal.claim(db, orgId, deliveryId, now, leaseUntil);
      if (!claimed) return { outcome: 'skipped' };
      try {
        return await record(claimed, now, await send(claimed, now));
      } catch (error) {
        // Not an endpoint failure (a database or key problem): give the lease back, so that the job
        // runner's own retry of this job can claim it again, and let the runner log the error.
        await deliveryDal.releaseLease(db, deliveryId).catch(() => undefined);
        throw error;
      }
    },
  };
}

export type WebhookDispatchService = ReturnType<typeof createWebhookDispatchService>;
