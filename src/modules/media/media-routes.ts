import { Type } from 'typebox';
import type { AppInstance } from '../../http/app-types.ts';
import {
  AUTHENTICATED_ERRORS,
  errorResponses,
  ListOf,
  MUTATION_ERRORS,
  PageQuery,
  PathId,
  Timestamp,
} from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import type { Clock } from '../../lib/clock.ts';
import { toPage } from '../../lib/pagination.ts';
import type { MediaService } from './media-service.ts';

const tags = ['Media'];

export const Media = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('media'),
    project_id: Type.String(),
    generation_id: Type.Union([Type.String(), Type.Null()]),
    kind: Type.Union([Type.Literal('image'), Type.Literal('video')]),
    content_type: Type.String(),
    width: Type.Integer(),
    height: Type.Integer(),
    duration_ms: Type.Optional(Type.Integer()),
    bytes: Type.Integer(),
    sha256: Type.String(),
    created_at: Timestamp,
    url: Type.String({ description: 'Signed URL of the bytes; expires at url_expires_at (1 h)' }),
    url_expires_at: Timestamp,
  },
  { $id: 'Media' },
);
const MediaParams = Type.Object({ mediaId: PathId });
const ProjectParams = Type.Object({ projectId: PathId });
const SignedQuery = Type.Object({
  exp: Type.String({ maxLength: 20 }),
  sig: Type.String({ maxLength: 100 }),
});

export function registerMediaRoutes(
  app: AppInstance,
  deps: { media: MediaService; tenant: TenantHandlers; clock: Clock },
): void {
  const { media, tenant, clock } = deps;

  app.get(
    '/v1/projects/:projectId/media',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project' } },
      schema: {
        tags,
        summary: "List a project's media",
        params: ProjectParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: ListOf(Media), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        toPage(await media.list(scope, req.params.projectId, req.query), (r) =>
          media.toResponse(r, scope.now),
        ),
      ),
  );

  app.get(
    '/v1/media/:mediaId',
    {
      config: { auth: 'secret', tenantParams: { mediaId: 'media' } },
      schema: {
        tags,
        summary: 'Retrieve media (with a fresh signed URL)',
        params: MediaParams,
        response: { 200: Media, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      tenant.query(req, async (scope) =>
        media.toResponse(await media.get(scope, req.params.mediaId), scope.now),
      ),
  );

  app.delete(
    '/v1/media/:mediaId',
    {
      config: { auth: 'secret', tenantParams: { mediaId: 'media' } },
      schema: {
        tags,
        summary: 'Delete media (the object and its row)',
        params: MediaParams,
        response: { 200: Media, ...errorResponses(...MUTATION_ERRORS) },
      },
    },
    (req, reply) =>
      tenant.mutate(req, reply, 200, async (scope) =>
        media.toResponse(await media.remove(scope, req.params.mediaId), scope.now),
      ),
  );

  app.get(
    '/media/:mediaId',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary: 'The bytes of media, by signed URL (no key; 403 when expired or altered)',
        params: MediaParams,
        querystring: SignedQuery,
        response: errorResponses(400, 403, 404),
      },
    },
    async (req, reply) => {
      const opened = await media.openSigned(req.params.mediaId, req.query.exp, req.query.sig, clock.now());
      return reply
        .header('content-type', opened.row.content_type)
        .header('content-length', String(opened.bytes))
        .header('cache-control', 'private, no-store')
        .header('x-content-type-options', 'nosniff')
        .send(opened.stream);
    },
  );
}
