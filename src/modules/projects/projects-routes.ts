import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import {
  CreateProjectBody,
  ListProjectsQuery,
  Project,
  ProjectParams,
  UpdateProjectBody,
} from './projects-schemas.ts';
import { type ProjectsService, toProjectResponse } from './projects-service.ts';

const tags = ['Projects'];
const tenantParams = { projectId: 'project' };

export function registerProjectRoutes(
  app: AppInstance,
  deps: { projects: ProjectsService; tenant: TenantHandlers },
): void {
  const { projects, tenant } = deps;

  app.post(
    '/v1/projects',
    {
      config: { auth: 'secret' },
      schema: {
        tags,
        summary: 'Create a project',
        body: CreateProjectBody,
        response: { 201: Project, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 201, async (scope) =>
        toProjectResponse(await projects.create(scope, req.body)),
      ),
  );

  app.get(
    '/v1/projects',
    {
      config: { auth: 'secret' },
      schema: {
        tags,
        summary: 'List projects',
        querystring: ListProjectsQuery,
        response: { 200: ListOf(Project), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) => toPage(await projects.list(scope, req.query), toProjectResponse)),
  );

  app.get(
    '/v1/projects/:projectId',
    {
      config: { auth: 'secret', tenantParams },
      schema: {
        tags,
        summary: 'Retrieve a project',
        params: ProjectParams,
        response: { 200: Project, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) => toProjectResponse(await projects.get(scope, req.params.projectId))),
  );

  app.patch(
    '/v1/projects/:projectId',
    {
      config: { auth: 'secret', tenantParams },
      schema: {
        tags,
        summary: 'Update a project',
        params: ProjectParams,
        body: UpdateProjectBody,
        response: { 200: Project, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) =>
        toProjectResponse(await projects.update(scope, req.params.projectId, req.body)),
      ),
  );

  app.delete(
    '/v1/projects/:projectId',
    {
      config: { auth: 'secret', tenantParams },
      schema: {
        tags,
        summary: 'Delete a project (starts its deletion grace period)',
        params: ProjectParams,
        response: { 200: Project, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) =>
        toProjectResponse(await projects.remove(scope, req.params.projectId)),
      ),
  );
}
