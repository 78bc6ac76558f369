import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import {
  CreatedWebhookEndpoint,
  CreateWebhookBody,
  ListWebhooksQuery,
  UpdateWebhookBody,
  WebhookEndpoint,
  WebhookParams,
} from './webhooks-schemas.ts';
import { toWebhookResponse, type WebhooksService } from './webhooks-service.ts';

const tags = ['Webhooks'];
const tenantParams = { webhookId: 'webhook' };

export function registerWebhookRoutes(
  app: AppInstance,
  deps: { webhooks: WebhooksService; tenant: TenantHandlers },
): void {
  const { webhooks, tenant } = deps;

  app.post(
    '/v1/webhooks',
    {
      config: { auth: 'secret' },
      schema: {
        tags,
        summary: 'Create a webhook endpoint (the signing secret is in this response only)',
        body: CreateWebhookBody,
        response: { 201: CreatedWebhookEndpoint, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 201, async (scope) => {
        const created = await webhooks.create(scope, req.body);
        return { ...toWebhookResponse(created), secret: created.secret };
      }),
  );

  app.get(
    '/v1/webhooks',
    {
      config: { auth: 'secret' },
      schema: {
        tags,
        summary: 'List webhook endpoints',
        querystring: ListWebhooksQuery,
        response: { 200: ListOf(WebhookEndpoint), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) => toPage(await webhooks.list(scope, req.query), toWebhookResponse)),
  );

  app.get(
    '/v1/webhooks/:webhookId',
    {
      config: { auth: 'secret', tenantParams },
      schema: {
        tags,
        summary: 'Retrieve a webhook endpoint',
        params: WebhookParams,
        response: { 200: WebhookEndpoint, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) => toWebhookResponse(await webhooks.get(scope, req.params.webhookId))),
  );

  app.patch(
    '/v1/webhooks/:webhookId',
    {
      config: { auth: 'secret', tenantParams },
      schema: {
        tags,
        summary: 'Update a webhook endpoint',
        params: WebhookParams,
        body: UpdateWebhookBody,
        response: { 200: WebhookEndpoint, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) =>
        toWebhookResponse(await webhooks.update(scope, req.params.webhookId, req.body)),
      ),
  );

  app.delete(
    '/v1/webhooks/:webhookId',
    {
      config: { auth: 'secret', tenantParams },
      schema: {
        tags,
        summary: 'Delete a webhook endpoint',
        params: WebhookParams,
        response: { 200: WebhookEndpoint, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) =>
        toWebhookResponse(await webhooks.remove(scope, req.params.webhookId)),
      ),
  );
}
