import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import {
  DeliveryListParams,
  DeliveryParams,
  ListDeliveriesQuery,
  WebhookDelivery,
} from './webhook-deliveries-schemas.ts';
import { toDeliveryResponse, type WebhookDeliveriesService } from './webhook-deliveries-service.ts';

const tags = ['Webhooks'];

export function registerWebhookDeliveryRoutes(
  app: AppInstance,
  deps: { deliveries: WebhookDeliveriesService; tenant: TenantHandlers },
): void {
  const { deliveries, tenant } = deps;

  app.get(
    '/v1/webhooks/:webhookId/deliveries',
    {
      config: { auth: 'secret', tenantParams: { webhookId: 'webhook' } },
      schema: {
        tags,
        summary: "List an endpoint's deliveries, newest first: attempts, status codes, latency, next retry",
        params: DeliveryListParams,
        querystring: ListDeliveriesQuery,
        response: { 200: ListOf(WebhookDelivery), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toPage(await deliveries.list(scope, req.params.webhookId, req.query), toDeliveryResponse),
      ),
  );

  app.get(
    '/v1/webhooks/:webhookId/deliveries/:deliveryId',
    {
      config: { auth: 'secret', tenantParams: { webhookId: 'webhook', deliveryId: 'webhookDelivery' } },
      schema: {
        tags,
        summary: 'Retrieve a delivery',
        params: DeliveryParams,
        response: { 200: WebhookDelivery, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toDeliveryResponse(await deliveries.get(scope, req.params.webhookId, req.params.deliveryId)),
      ),
  );

  app.post(
    '/v1/webhooks/:webhookId/deliveries/:deliveryId/retry',
    {
      config: { auth: 'secret', tenantParams: { webhookId: 'webhook', deliveryId: 'webhookDelivery' } },
      schema: {
        tags,
        summary: 'Retry a delivery now (same webhook-id); 409 while an attempt is in flight',
        params: DeliveryParams,
        response: { 202: WebhookDelivery, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 202, async (scope) =>
        toDeliveryResponse(await deliveries.retry(scope, req.params.webhookId, req.params.deliveryId)),
      ),
  );

  app.post(
    '/v1/webhooks/:webhookId/test',
    {
      config: { auth: 'secret', tenantParams: { webhookId: 'webhook' } },
      schema: {
        tags,
        summary: 'Send a webhook_endpoint.test event to this endpoint (also when it is disabled)',
        params: DeliveryListParams,
        response: { 202: WebhookDelivery, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 202, async (scope) =>
        toDeliveryResponse(await deliveries.sendTest(scope, req.params.webhookId)),
      ),
  );
}
