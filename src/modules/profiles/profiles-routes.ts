import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { UserParams, UserProfile } from './profiles-schemas.ts';
import { type ProfilesService, toProfileResponse } from './profiles-service.ts';

export function registerProfileRoutes(
  app: AppInstance,
  deps: { profiles: ProfilesService; tenant: TenantHandlers },
): void {
  app.get(
    '/v1/projects/:projectId/users/:userId',
    {
      config: { auth: 'secret', tenantParams: { projectId: 'project', userId: 'user' } },
      schema: {
        tags: ['Users'],
        summary: "A user's current-state profile",
        params: UserParams,
        response: { 200: UserProfile, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      deps.tenant.query(req, async (scope) =>
        toProfileResponse(await deps.profiles.get(scope, req.params.projectId, req.params.userId)),
      ),
  );
}
