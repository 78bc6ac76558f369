import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import {
  CreatedWebhookEndpoint,
  CreateWebhookBody,
  ListWebhooksQuery,
  RotatedWebhookEndpoint,
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
    async (req, reply) => {
      // Vetted before the transaction opens: checking the address may resolve DNS.
      const url = await webhooks.vetUrl(req.body.url);
      return tenant.mutate(req, reply, 201, async (scope) => {
        const created = await webhooks.create(scope, { ...req.body, url });
        return { ...toWebhookResponse(created), secret: created.secret };
      });
    },
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
    async (req, reply) => {
      const { url: rawUrl, ...rest } = req.body;
      const url = rawUrl === undefined ? undefined : await webhooks.vetUrl(rawUrl);
      return tenant.mutate(req, reply, 200, async (scope) =>
        toWebhookResponse(
          await webhooks.update(scope, req.params.webhookId, { ...rest, ...(url ? { url } : {}) }),
        ),
      );
    },
  );

  app.post(
    '/v1/webhooks/:webhookId/rotate-secret',
    {
      config: { auth: 'secret', tenantParams },
      schema: {
        tags,
        summary:
          'Rotate the signing secret (the new one is in this response only; the previous one keeps signing for 24 hours)',
        params: WebhookParams,
        response: { 200: RotatedWebhookEndpoint, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) => {
        const rotated = await webhooks.rotateSecret(scope, req.params.webhookId);
        return {
          ...toWebhookResponse(rotated),
          secret: rotated.secret,
          previous_secret_expires_at: rotated.previous_secret_expires_at.toISOString(),
        };
      }),
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
