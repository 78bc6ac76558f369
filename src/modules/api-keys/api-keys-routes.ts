import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import {
  ApiKey,
  ApiKeyParams,
  CreateApiKeyBody,
  CreatedApiKey,
  ListApiKeysQuery,
} from './api-keys-schemas.ts';
import { type ApiKeysService, toApiKeyResponse } from './api-keys-service.ts';

const tags = ['API keys'];
const tenantParams = { keyId: 'apiKey' };

export function registerApiKeyRoutes(
  app: AppInstance,
  deps: { apiKeys: ApiKeysService; tenant: TenantHandlers },
): void {
  const { apiKeys, tenant } = deps;

  app.post(
    '/v1/api-keys',
    {
      config: { auth: 'secret' },
      schema: {
        tags,
        summary: 'Create an API key (the secret is in this response only)',
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 201, async (scope) => {
        const created = await apiKeys.create(scope, req.body);
        return { ...toApiKeyResponse(created), secret: created.secret };
      }),
  );

  app.get(
    '/v1/api-keys',
    {
      config: { auth: 'secret' },
      schema: {
        tags,
        summary: 'List API keys (never their secrets)',
        querystring: ListApiKeysQuery,
        response: { 200: ListOf(ApiKey), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) => toPage(await apiKeys.list(scope, req.query), toApiKeyResponse)),
  );

  app.get(
    '/v1/api-keys/:keyId',
    {
      config: { auth: 'secret', tenantParams },
      schema: {
        tags,
        summary: 'Retrieve an API key',
        params: ApiKeyParams,
        response: { 200: ApiKey, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) => tenant.query(req, async (scope) => toApiKeyResponse(await apiKeys.get(scope, req.params.keyId))),
  );

  app.delete(
    '/v1/api-keys/:keyId',
    {
      config: { auth: 'secret', tenantParams },
      schema: {
        tags,
        summary: 'Revoke an API key',
        params: ApiKeyParams,
        response: { 200: ApiKey, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) =>
        toApiKeyResponse(await apiKeys.revoke(scope, req.params.keyId)),
      ),
  );
}
