import { randomBytes } from 'node:crypto';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { AuditChanges, AuditLogService } from '../audit-log/audit-log-service.ts';
import { validateWebhookUrl } from './webhook-url.ts';
import type { WebhookRow, WebhooksDal } from './webhooks-dal.ts';

/**
 * Webhook endpoints. The signing secret (Standard Webhooks `whsec_` + base64) must be readable to sign
 * deliveries, so it is stored as envelope ciphertext, never hashed, and returned only at creation.
 */
export const SECRET_FIELD = 'signing_secret';

export function createWebhooksService(deps: {
  webhooksDal: WebhooksDal;
  auditLog: AuditLogService;
  envelope: Envelope;
  requireHttps: boolean;
}) {
  const { webhooksDal, auditLog, envelope } = deps;

  async function load(scope: TenantScope, id: string): Promise<WebhookRow> {
    const row = isId('webhook', id) ? await webhooksDal.findById(scope.tx, scope.orgId, id) : undefined;
    if (!row) throw notFound('webhook endpoint', 'webhookId');
    return row;
  }

  return {
    get: load,
    list: (scope: TenantScope, page: PageParams) => webhooksDal.list(scope.tx, scope.orgId, page),

    async create(
      scope: TenantScope,
      input: { url: string; events: string[]; description?: string | undefined },
    ): Promise<WebhookRow & { secret: string }> {
      const url = validateWebhookUrl(input.url, { requireHttps: deps.requireHttps });
      const id = newId('webhook', scope.now.getTime());
      const secret = `whsec_${randomBytes(32).toString('base64')}`;
      const row = await webhooksDal.insert(scope.tx, {
        id,
        org_id: scope.orgId,
        url,
        description: input.description ?? null,
        events: input.events,
        status: 'enabled',
        encrypted_secret: envelope.encrypt(secret, { orgId: scope.orgId, recordId: id, field: SECRET_FIELD }),
        created_at: scope.now,
        updated_at: scope.now,
      });
      await auditLog.record(scope, {
        action: 'webhook_endpoint.created',
        resource: { type: 'webhook_endpoint', id },
        changes: {
          url: { after: url },
          events: { after: input.events },
          description: { after: row.description },
          signing_secret: { after: '[set]' },
        },
      });
      return { ...row, secret };
    },

    async update(
      scope: TenantScope,
      id: string,
      input: {
        url?: string;
        events?: string[];
        description?: string | null;
        status?: 'enabled' | 'disabled';
      },
    ): Promise<WebhookRow> {
      const before = await load(scope, id);
      const next = {
        url:
          input.url === undefined
            ? before.url
            : validateWebhookUrl(input.url, { requireHttps: deps.requireHttps }),
        events: input.events ?? before.events,
        description: input.description === undefined ? before.description : input.description,
        status: input.status ?? before.status,
      };
      const changes: AuditChanges = {};
      for (const field of ['url', 'events', 'description', 'status'] as const) {
        if (JSON.stringify(before[field]) !== JSON.stringify(next[field]))
          changes[field] = { before: before[field], after: next[field] };
      }
      if (Object.keys(changes).length === 0) return before;
      const row = await webhooksDal.update(scope.tx, scope.orgId, id, { ...next, updated_at: scope.now });
      await auditLog.record(scope, {
        action: 'webhook_endpoint.updated',
        resource: { type: 'webhook_endpoint', id },
        changes,
      });
      return row;
    },

    async remove(scope: TenantScope, id: string): Promise<WebhookRow> {
      const before = await load(scope, id);
      await webhooksDal.remove(scope.tx, scope.orgId, id);
      await auditLog.record(scope, {
        action: 'webhook_endpoint.deleted',
        resource: { type: 'webhook_endpoint', id },
        changes: { url: { before: before.url }, events: { before: before.events } },
      });
      return before;
    },
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;

export function toWebhookResponse(row: WebhookRow) {
  return {
    id: row.id,
    object: 'webhook_endpoint' as const,
    url: row.url,
    description: row.description,
    events: row.events,
    status: row.status,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
