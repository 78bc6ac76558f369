import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import {
  CreateDestinationBody,
  Destination,
  DestinationParams,
  DestinationStats,
  ListDestinationsQuery,
  ProjectDestinationsParams,
  StatsQuery,
  UpdateDestinationBody,
} from './destinations-schemas.ts';
import { type DestinationsService, toDestinationResponse } from './destinations-service.ts';
import type { ForwardStats } from './forward-stats.ts';

const tags = ['Conversions API forwarding'];

export function registerDestinationRoutes(
  app: AppInstance,
  deps: { destinations: DestinationsService; stats: ForwardStats; tenant: TenantHandlers },
): void {
  const { destinations, stats, tenant } = deps;

  app.post(
    '/v1/projects/:projectId/destinations',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project' } },
      schema: {
        tags,
        summary:
          'Create a Conversions API destination (the access token is stored encrypted, never shown again)',
        params: ProjectDestinationsParams,
        body: CreateDestinationBody,
        response: { 201: Destination, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 201, async (scope) =>
        toDestinationResponse(await destinations.create(scope, req.params.projectId, req.body)),
      ),
  );

  app.get(
    '/v1/projects/:projectId/destinations',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project' } },
      schema: {
        tags,
        summary: "List a project's destinations",
        params: ProjectDestinationsParams,
        querystring: ListDestinationsQuery,
        response: { 200: ListOf(Destination), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toPage(await destinations.list(scope, req.params.projectId, req.query), toDestinationResponse),
      ),
  );

  const one = { auth: 'secret' as const, tenantParams: { destinationId: 'destination' } };

  app.get(
    '/v1/destinations/:destinationId',
    {
      config: one,
      schema: {
        tags,
        summary: 'Retrieve a destination',
        params: DestinationParams,
        response: { 200: Destination, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toDestinationResponse(await destinations.get(scope, req.params.destinationId)),
      ),
  );

  app.patch(
    '/v1/destinations/:destinationId',
    {
      config: one,
      schema: {
        tags,
        summary: 'Update a destination (a new access_token resumes a paused one)',
        params: DestinationParams,
        body: UpdateDestinationBody,
        response: { 200: Destination, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) =>
        toDestinationResponse(await destinations.update(scope, req.params.destinationId, req.body)),
      ),
  );

  app.delete(
    '/v1/destinations/:destinationId',
    {
      config: one,
      schema: {
        tags,
        summary: 'Delete a destination and every event still queued for it',
        params: DestinationParams,
        response: { 200: Destination, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) =>
        toDestinationResponse(await destinations.remove(scope, req.params.destinationId)),
      ),
  );

  app.get(
    '/v1/destinations/:destinationId/stats',
    {
      config: one,
      schema: {
        tags,
        summary:
          'Per hour: events queued, sent, rejected (by platform error code), dropped (too old, not consented), expired, queue age p99',
        params: DestinationParams,
        querystring: StatsQuery,
        response: { 200: DestinationStats, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) => {
        const destination = await destinations.get(scope, req.params.destinationId);
        return stats.read(scope, destination.id, req.query);
      }),
  );
}
