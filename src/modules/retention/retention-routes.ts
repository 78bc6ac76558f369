import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { OrgParams, RetentionPolicy, SetRetentionBody } from './retention-schemas.ts';
import type { RetentionService } from './retention-service.ts';

const ADMIN_ERRORS = [400, 401, 404] as const;

/** The effective retention per data class (partner) and the contract values (operator). */
export function registerRetentionRoutes(
  app: AppInstance,
  deps: { retention: RetentionService; tenant: TenantHandlers },
): void {
  const { retention, tenant } = deps;

  app.get(
    '/v1/data-protection/retention',
    {
      config: { auth: 'secret' },
      schema: {
        tags: ['Data protection'],
        summary: 'The effective retention of every data class for this org',
        response: { 200: RetentionPolicy, ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) => tenant.query(req, (scope) => retention.forOrg(scope)),
  );

  app.get(
    '/admin/v1/orgs/:orgId/retention',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['Operator'],
        summary: "An org's effective retention per data class",
        params: OrgParams,
        response: { 200: RetentionPolicy, ...errorResponses(...ADMIN_ERRORS) },
      },
    },
    (req) => retention.forOrgAsOperator(req.params.orgId),
  );

  app.put(
    '/admin/v1/orgs/:orgId/retention',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['Operator'],
        summary: 'Set a partner-tier org’s contract retention (within the registry’s bounds; audited)',
        params: OrgParams,
        body: SetRetentionBody,
        response: { 200: RetentionPolicy, ...errorResponses(...ADMIN_ERRORS, 409) },
      },
    },
    (req) => retention.setOverrides(req.params.orgId, req.body.overrides, req.id),
  );
}
