import { AppError, notFound } from '../../lib/errors.ts';
import { isId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { DeliveryRow, WebhookDeliveryDal } from './webhook-delivery-dal.ts';
import { scheduleDelivery } from './webhook-delivery-queue.ts';
import { TEST_EVENT_TYPE } from './webhook-event-types.ts';
import type { WebhookEvents } from './webhook-events-service.ts';
import type { WebhooksService } from './webhooks-service.ts';

/**
 * The partner API's view of an endpoint's deliveries (request path, app role, RLS): list and
 * retrieve them, retry one now, send a test event. Attempts themselves are made by the worker's
 * `WebhookDispatchService` (webhook-dispatch-service.ts).
 */
export function createWebhookDeliveriesService(deps: {
  deliveryDal: WebhookDeliveryDal;
  webhooks: WebhooksService;
  events: WebhookEvents;
}) {
  const { deliveryDal, webhooks, events } = deps;

  async function load(scope: TenantScope, webhookId: string, deliveryId: string): Promise<DeliveryRow> {
    await webhooks.get(scope, webhookId);
    const row = isId('delivery', deliveryId)
      ? await deliveryDal.findById(scope.tx, scope.orgId, webhookId, deliveryId)
      : undefined;
    if (!row) throw notFound('webhook delivery', 'deliveryId');
    return row;
  }

  return {
    get: load,

    async list(
      scope: TenantScope,
      webhookId: string,
      query: PageParams & { status?: DeliveryRow['status'] | undefined },
    ) {
      await webhooks.get(scope, webhookId);
      return deliveryDal.list(scope.tx, scope.orgId, webhookId, { status: query.status }, query);
    },

    /** Makes a delivery due now (whatever its state), unless an attempt is in flight. */
    async retry(scope: TenantScope, webhookId: string, deliveryId: string): Promise<DeliveryRow> {
      const endpoint = await webhooks.get(scope, webhookId);
      const row = await load(scope, webhookId, deliveryId);
      if (endpoint.status !== 'enabled' && row.event_type !== TEST_EVENT_TYPE) {
        throw new AppError(
          'conflict',
          'The webhook endpoint is disabled: enable it, then retry the delivery.',
        );
      }
      if (!(await deliveryDal.requeue(scope.tx, scope.orgId, deliveryId, scope.now))) {
        throw new AppError(
          'conflict',
          'An attempt at this delivery is in progress; retry once it has finished.',
        );
      }
      await scheduleDelivery(scope.tx, scope.orgId, deliveryId);
      return load(scope, webhookId, deliveryId);
    },

    /** Queues a `webhook_endpoint.test` event to this endpoint (enabled or not). */
    async sendTest(scope: TenantScope, webhookId: string): Promise<DeliveryRow> {
      await webhooks.get(scope, webhookId);
      const deliveryId = await events.emitTest(scope, webhookId);
      return load(scope, webhookId, deliveryId);
    },
  };
}

export type WebhookDeliveriesService = ReturnType<typeof createWebhookDeliveriesService>;

export function toDeliveryResponse(row: DeliveryRow) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: row.id,
    object: 'webhook_delivery' as const,
    webhook_id: row.endpoint_id,
    event: { id: row.event_id, type: row.event_type, created_at: row.event_created_at.toISOString() },
    status: row.status,
    attempt_count: row.attempt_count,
    next_attempt_at: iso(row.next_attempt_at),
    last_attempt: row.attempts.at(-1) ?? null,
    attempts: row.attempts,
    created_at: row.created_at.toISOString(),
    completed_at: iso(row.completed_at),
  };
}
