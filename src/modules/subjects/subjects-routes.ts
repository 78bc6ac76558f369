import type { FastifyRequest } from 'fastify';
import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, MUTATION_ERRORS } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import {
  DataSubjectRequest,
  EraseQuery,
  LookupBody,
  LookupResponse,
  ProjectParams,
  RequestParams,
  Suppression,
  SuppressionListQuery,
  UserPathParams,
} from './subjects-schemas.ts';
import { type SubjectsService, toDsrResponse } from './subjects-service.ts';

const tags = ['Data-subject requests'];
const userParams = { projectId: 'project', userId: 'user' };

const wantsNdjson = (req: FastifyRequest) => (req.headers.accept ?? '').includes('application/x-ndjson');

export function registerSubjectRoutes(
  app: AppInstance,
  deps: { subjects: SubjectsService; tenant: TenantHandlers },
): void {
  const { subjects, tenant } = deps;

  app.get(
    '/v1/projects/:projectId/events/users/:userId',
    {
      config: { auth: 'secret', tenantParams: userParams },
      schema: {
        tags,
        summary: 'Access / portability: the profile and every event held for a user',
        description:
          'JSON `{"object":"user_export","user_id","profile","events":[…]}`, or with `Accept: application/x-ndjson` one JSON object a line ' +
          '(the user and profile first, then each event). Streamed in constant memory. 404 when nothing is held. ' +
          '429 when this org already runs its share of exports at once, 503 when the server runs all it may (both with `Retry-After`); ' +
          'a client that stops reading, or an export that runs too long, is cut off (the body ends early).',
        params: UserPathParams,
        response: errorResponses(...AUTHENTICATED_ERRORS, 503),
      },
    },
    async (req, reply) => {
      const { userId, projectId } = req.params;
      const ndjson = wantsNdjson(req);
      const subject = await tenant.query(req, (scope) =>
        subjects.findExportSubject(scope, projectId, userId),
      );
      const stream = await subjects.openExport(subject, ndjson ? 'ndjson' : 'json');
      reply.header('content-type', ndjson ? 'application/x-ndjson' : 'application/json; charset=utf-8');
      return reply.send(stream);
    },
  );

  app.delete(
    '/v1/projects/:projectId/events/users/:userId',
    {
      config: { auth: 'secret', tenantParams: userParams },
      schema: {
        tags,
        summary:
          'Erasure: delete everything held for a user in this project (a job; poll the request for its receipt)',
        params: UserPathParams,
        querystring: EraseQuery,
        response: { 202: DataSubjectRequest, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 202, async (scope) =>
        toDsrResponse(
          await subjects.requestErasure(
            scope,
            req.params.projectId,
            req.params.userId,
            req.query.suppress ?? false,
          ),
        ),
      ),
  );

  app.get(
    '/v1/data-subject-requests/:requestId',
    {
      config: { auth: 'secret', tenantParams: { requestId: 'dsr' } },
      schema: {
        tags,
        summary: 'Status and receipt of a data-subject request',
        params: RequestParams,
        response: { 200: DataSubjectRequest, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toDsrResponse(await subjects.getRequest(scope, req.params.requestId)),
      ),
  );

  app.post(
    '/v1/projects/:projectId/users/lookup',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project' } },
      schema: {
        tags,
        summary:
          'Find user ids by email, phone or their SHA-256 (lower-case + trim for email, digits only for phone)',
        params: ProjectParams,
        body: LookupBody,
        response: { 200: LookupResponse, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) => ({
        user_ids: await subjects.lookup(scope, req.params.projectId, req.body),
      })),
  );

  app.get(
    '/v1/projects/:projectId/suppressions',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project' } },
      schema: {
        tags,
        summary: 'Users whose events this project refuses (erased with suppress=true)',
        params: ProjectParams,
        querystring: SuppressionListQuery,
        response: { 200: ListOf(Suppression), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) => {
        const page = await subjects.listSuppressions(
          scope,
          req.params.projectId,
          req.query.limit ?? 10,
          req.query.starting_after,
        );
        return {
          object: 'list' as const,
          data: page.rows.map((r) => ({
            object: 'suppression' as const,
            subject_sha256: r.subject_sha256,
            data_subject_request_id: r.dsr_id,
            created_at: r.created_at.toISOString(),
          })),
          has_more: page.has_more,
        };
      }),
  );

  app.delete(
    '/v1/projects/:projectId/suppressions/:userId',
    {
      config: { auth: 'secret', tenantParams: userParams },
      schema: {
        tags,
        summary: "Lift a user's suppression: their events are accepted again",
        params: UserPathParams,
        response: { 200: Suppression, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) => {
        const lifted = await subjects.liftSuppression(scope, req.params.projectId, req.params.userId);
        return {
          object: 'suppression' as const,
          subject_sha256: lifted.subject_sha256,
          data_subject_request_id: null,
          created_at: scope.now.toISOString(),
        };
      }),
  );
}
