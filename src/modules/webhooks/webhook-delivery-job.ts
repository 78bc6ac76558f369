import type { Logger } from 'pino';
import type { DeliverJobPayload } from './webhook-delivery-queue.ts';
import type { WebhookDispatchService } from './webhook-dispatch-service.ts';

/**
 * The `webhooks.deliver` job: one attempt, logged by ids, status code and error code only (never the
 * URL, which may carry a partner's token, nor any body). Failures of the endpoint are the delivery's
 * business, not the job's: the job only fails when the platform itself did (database, keys).
 */
export async function runDeliveryJob(
  dispatch: WebhookDispatchService,
  payload: DeliverJobPayload,
  logger: Logger,
): Promise<void> {
  const result = await dispatch.attempt(payload.org_id, payload.delivery_id);
  if (result.outcome === 'skipped') return;
  const fields = {
    delivery_id: result.deliveryId,
    webhook_id: result.endpointId,
    attempt: result.attempt,
    status_code: result.statusCode,
    error: result.error,
    latency_ms: result.latencyMs,
  };
  if (result.outcome === 'succeeded') logger.debug(fields, 'webhook delivered');
  else
    logger.info({ ...fields, outcome: result.outcome, disabled: result.disabled }, 'webhook attempt failed');
}
