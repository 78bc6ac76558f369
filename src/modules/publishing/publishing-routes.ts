import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import {
  AccountParams,
  CreatePublicationBody,
  ListQuery,
  Publication,
  PublicationParams,
} from './publishing-schemas.ts';
import { type PublishingService, toPublicationResponse } from './publishing-service.ts';

const tags = ['Publishing and ads'];

export function registerPublishingRoutes(
  app: AppInstance,
  deps: { publishing: PublishingService; tenant: TenantHandlers },
): void {
  const { publishing, tenant } = deps;

  app.post(
    '/v1/social-accounts/:socialAccountId/publications',
    {
      config: { auth: 'secret', tenantParams: { socialAccountId: 'socialAccount' } },
      schema: {
        tags,
        summary: 'Publish a generated media to the connected account (queued; runs as a job)',
        params: AccountParams,
        body: CreatePublicationBody,
        response: { 202: Publication, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 202, async (scope) =>
        toPublicationResponse(await publishing.create(scope, req.params.socialAccountId, req.body)),
      ),
  );

  app.get(
    '/v1/social-accounts/:socialAccountId/publications',
    {
      config: { auth: 'secret', tenantParams: { socialAccountId: 'socialAccount' } },
      schema: {
        tags,
        summary: "List the account's publications (newest first)",
        params: AccountParams,
        querystring: ListQuery,
        response: { 200: ListOf(Publication), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toPage(await publishing.list(scope, req.params.socialAccountId, req.query), toPublicationResponse),
      ),
  );

  app.get(
    '/v1/publications/:publicationId',
    {
      config: { auth: 'secret', tenantParams: { publicationId: 'publication' } },
      schema: {
        tags,
        summary: 'Retrieve a publication',
        params: PublicationParams,
        response: { 200: Publication, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toPublicationResponse(await publishing.get(scope, req.params.publicationId)),
      ),
  );
}
