import { Type } from 'typebox';
import type { AppInstance } from '../../http/app-types.ts';
import { AUTHENTICATED_ERRORS, errorResponses, ListOf, PageQuery, Timestamp } from '../../http/schemas.ts';
import type { TenantHandlers } from '../../http/tenant-handlers.ts';
import { toPage } from '../../lib/pagination.ts';
import { type AuditLogService, toAuditEntryResponse } from './audit-log-service.ts';

const Filter = Type.String({ minLength: 1, maxLength: 200 });

export const AuditLogEntry = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('audit_log_entry'),
    action: Type.String({ description: 'e.g. project.created' }),
    actor: Type.Object({
      type: Type.Union([Type.Literal('api_key'), Type.Literal('user'), Type.Literal('system')]),
      id: Type.Union([Type.String(), Type.Null()]),
    }),
    resource: Type.Object({ type: Type.String(), id: Type.String() }),
    changes: Type.Record(
      Type.String(),
      Type.Object({ before: Type.Optional(Type.Unknown()), after: Type.Optional(Type.Unknown()) }),
    ),
    request_id: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
  },
  { $id: 'AuditLogEntry' },
);

const AuditLogQuery = Type.Object(
  {
    ...PageQuery,
    action: Type.Optional(Filter),
    resource_type: Type.Optional(Filter),
    resource_id: Type.Optional(Filter),
    actor_id: Type.Optional(Filter),
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);

export function registerAuditLogRoutes(
  app: AppInstance,
  deps: { auditLog: AuditLogService; tenant: TenantHandlers },
): void {
  app.get(
    '/v1/audit-log',
    {
      config: { auth: 'secret' },
      schema: {
        tags: ['Audit log'],
        summary: 'List audit log entries, newest first',
        querystring: AuditLogQuery,
        response: { 200: ListOf(AuditLogEntry), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
    (req) =>
      deps.tenant.query(req, async (scope) => {
        const { since, until, limit, starting_after, ending_before, ...rest } = req.query;
        const filters = {
          ...rest,
          ...(since ? { since: new Date(since) } : {}),
          ...(until ? { until: new Date(until) } : {}),
        };
        const page = await deps.auditLog.list(scope, filters, { limit, starting_after, ending_before });
        return toPage(page, toAuditEntryResponse);
      }),
  );
}
