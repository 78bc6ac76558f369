import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { ApiKeyAuthenticator } from './api-key-authenticator.ts';
import { generateApiKey, type KeyType } from './api-key-format.ts';
import type { ApiKeyRow, ApiKeysDal } from './api-keys-dal.ts';

/**
 * API keys: secret keys act for the whole org; publishable keys belong to one project and may only
 * send SDK events. The secret is returned once, from `create`; only its SHA-256 is stored.
 */
export function createApiKeysService(deps: {
  apiKeysDal: ApiKeysDal;
  projects: ProjectsService;
  auditLog: AuditLogService;
  authenticator: ApiKeyAuthenticator;
  events: WebhookEventEmitter;
}) {
  const { apiKeysDal, auditLog, events } = deps;

  return {
    async create(
      scope: TenantScope,
      input: { name: string; type: KeyType; project_id?: string | undefined },
    ): Promise<ApiKeyRow & { secret: string }> {
      let projectId: string | null = null;
      if (input.type === 'publishable') {
        if (!input.project_id) {
          throw new AppError(
            'parameter_invalid',
            'A publishable key belongs to one project: send project_id.',
            { param: 'project_id' },
          );
        }
        projectId = (await deps.projects.requireActive(scope, input.project_id)).id;
      } else if (input.project_id !== undefined) {
        throw new AppError(
          'parameter_invalid',
          'Secret keys act for the whole organization; omit project_id.',
          { param: 'project_id' },
        );
      }
      const generated = generateApiKey(input.type);
      const row = await apiKeysDal.insert(scope.tx, {
        id: newId('apiKey', scope.now.getTime()),
        org_id: scope.orgId,
        project_id: projectId,
        type: input.type,
        name: input.name,
        key_hash: generated.hash,
        last4: generated.last4,
        created_at: scope.now,
      });
      await auditLog.record(scope, {
        action: 'api_key.created',
        resource: { type: 'api_key', id: row.id },
        changes: {
          name: { after: row.name },
          type: { after: row.type },
          project_id: { after: row.project_id },
        },
      });
      await events.emit(scope, 'api_key.created', {
        id: row.id,
        object: 'api_key',
        type: row.type,
        project_id: row.project_id,
      });
      return { ...row, secret: generated.secret };
    },

    list: (scope: TenantScope, page: PageParams) => apiKeysDal.list(scope.tx, scope.orgId, page),

    async get(scope: TenantScope, id: string): Promise<ApiKeyRow> {
      const row = isId('apiKey', id) ? await apiKeysDal.findById(scope.tx, scope.orgId, id) : undefined;
      if (!row) throw notFound('API key', 'keyId');
      return row;
    },

    /** Revokes a key: refused by this process at once and by every other within seconds. */
    async revoke(scope: TenantScope, id: string): Promise<ApiKeyRow> {
      const before = await this.get(scope, id);
      if (before.revoked_at) return before;
      const row = await apiKeysDal.revoke(scope.tx, scope.orgId, id, scope.now);
      await auditLog.record(scope, {
        action: 'api_key.revoked',
        resource: { type: 'api_key', id },
        changes: { revoked_at: { before: null, after: scope.now.toISOString() } },
      });
      await events.emit(scope, 'api_key.revoked', {
        id,
        object: 'api_key',
        revoked_at: scope.now.toISOString(),
      });
      deps.authenticator.evict([id]);
      return row;
    },
  };
}

export type ApiKeysService = ReturnType<typeof createApiKeysService>;

export function toApiKeyResponse(row: ApiKeyRow) {
  return {
    id: row.id,
    object: 'api_key' as const,
    name: row.name,
    type: row.type,
    project_id: row.project_id,
    last4: row.last4,
    created_at: row.created_at.toISOString(),
    revoked_at: row.revoked_at ? row.revoked_at.toISOString() : null,
    last_used_at: row.last_used_at ? row.last_used_at.toISOString() : null,
  };
}
