import { newId } from '../../lib/ids.ts';
import type { TenantScope } from '../../lib/scope.ts';
import {
  TEST_EVENT_TYPE,
  type TestEventPayload,
  type WebhookEventPayloads,
  type WebhookEventType,
} from './webhook-event-types.ts';
import type { WebhookEventsDal } from './webhook-events-dal.ts';

/**
 * Emits webhook events. Call `emit` inside the transaction of the change it reports, next to the
 * audit entry (`scope.tx` is that transaction): the event, a delivery for each endpoint subscribed
 * at that moment and their queue jobs commit with the change or not at all. For work done by a job
 * or the operator (system connection), open the transaction with `withTenant(systemDb, orgId, …)`.
 *
 * Example (another module): `await events.emit(scope, 'data_subject_request.completed', { id, … })`.
 */
export function createWebhookEventsService(deps: { eventsDal: WebhookEventsDal }) {
  const { eventsDal } = deps;

  async function record(scope: TenantScope, type: string, data: unknown, endpointIds: string[]) {
    const at = scope.now.getTime();
    const event = { id: newId('webhookEvent', at), org_id: scope.orgId, type, data, created_at: scope.now };
    const deliveries = endpointIds.map((endpoint_id) => ({ id: newId('delivery', at), endpoint_id }));
    await eventsDal.insert(scope.tx, event, deliveries);
    return { eventId: event.id, deliveryIds: deliveries.map((d) => d.id) };
  }

  return {
    /** Records an event and queues its deliveries; returns the event id (`webhook-id` of its deliveries). */
    async emit<T extends WebhookEventType>(
      scope: TenantScope,
      type: T,
      data: WebhookEventPayloads[T],
    ): Promise<string> {
      const endpoints = await eventsDal.subscribedEndpointIds(scope.tx, scope.orgId, type);
      return (await record(scope, type, data, endpoints)).eventId;
    },

    /** A test event for one endpoint, whatever it subscribes to; returns the delivery id. */
    async emitTest(scope: TenantScope, endpointId: string): Promise<string> {
      const data: TestEventPayload = { id: endpointId, object: 'webhook_endpoint', test: true };
      const { deliveryIds } = await record(scope, TEST_EVENT_TYPE, data, [endpointId]);
      return deliveryIds[0] as string;
    },
  };
}

export type WebhookEvents = ReturnType<typeof createWebhookEventsService>;
/** What other modules depend on to emit events. */
export type WebhookEventEmitter = Pick<WebhookEvents, 'emit'>;
