import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { CreateGenerationBody, Generation, GenerationParams, ProjectParams } from './generation-schemas.ts';
import { type GenerationService, toGenerationResponse } from './generation-service.ts';

const tags = ['Content generation'];

export function registerGenerationRoutes(
  app: AppInstance,
  deps: { generations: GenerationService; tenant: TenantHandlers },
): void {
  const { generations, tenant } = deps;

  app.post(
    '/v1/projects/:projectId/generations',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project' } },
      schema: {
        tags,
        summary: 'Start a generation (copy, images, video) from a brief',
        params: ProjectParams,
        body: CreateGenerationBody,
        response: { 202: Generation, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 202, async (scope) =>
        toGenerationResponse(await generations.create(scope, req.params.projectId, req.body), []),
      ),
  );

  app.get(
    '/v1/generations/:generationId',
    {
      config: { auth: 'secret', tenantParams: { generationId: 'generation' } },
      schema: {
        tags,
        summary: 'Retrieve a generation',
        params: GenerationParams,
        response: { 200: Generation, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) => {
        const row = await generations.get(scope, req.params.generationId);
        return toGenerationResponse(row, await generations.mediaIds(scope, row));
      }),
  );
}
