import { HOUR_MS } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { AuditChanges, AuditLogService } from '../audit-log/audit-log-service.ts';
import type { AddressGuard, VettedUrl } from './address-guard.ts';
import type { WebhookEventEmitter } from './webhook-events-service.ts';
import { generateSigningSecret } from './webhook-signer.ts';
import { auditedUrl } from './webhook-url.ts';
import type { WebhookRow, WebhooksDal } from './webhooks-dal.ts';

/**
 * Webhook endpoints. The signing secret (Standard Webhooks `whsec_` + base64) must be readable to sign
 * deliveries, so it is stored as envelope ciphertext, never hashed, and returned only at creation and
 * rotation. After a rotation the previous secret keeps signing (a second signature in the header) for
 * 24 hours, so receivers can switch over without dropping a delivery.
 *
 * URLs reach this service vetted (`AddressGuard.vetUrl`, called by the route before the transaction
 * opens: it may resolve DNS, and no network call happens inside a transaction). The audit log
 * records a URL as its host and hash only (`auditedUrl`): the path and query may hold a token.
 */
export const SECRET_FIELD = 'signing_secret';
export const PREVIOUS_SECRET_FIELD = 'previous_signing_secret';
export const ROTATION_OVERLAP_MS = 24 * HOUR_MS;

type Status = 'enabled' | 'disabled';

export function createWebhooksService(deps: {
  webhooksDal: WebhooksDal;
  auditLog: AuditLogService;
  envelope: Envelope;
  events: WebhookEventEmitter;
  guard: AddressGuard;
}) {
  const { webhooksDal, auditLog, envelope, events } = deps;

  async function load(scope: TenantScope, id: string): Promise<WebhookRow> {
    const row = isId('webhook', id) ? await webhooksDal.findById(scope.tx, scope.orgId, id) : undefined;
    if (!row) throw notFound('webhook endpoint', 'webhookId');
    return row;
  }

  return {
    get: load,
    list: (scope: TenantScope, page: PageParams) => webhooksDal.list(scope.tx, scope.orgId, page),

    /** Shape and address checks on a URL; call before opening the transaction (it may resolve DNS). */
    vetUrl: (url: string): Promise<VettedUrl> => deps.guard.vetUrl(url),

    async create(
      scope: TenantScope,
      input: { url: VettedUrl; events: string[]; description?: string | undefined },
    ): Promise<WebhookRow & { secret: string }> {
      const id = newId('webhook', scope.now.getTime());
      const secret = generateSigningSecret();
      const row = await webhooksDal.insert(scope.tx, {
        id,
        org_id: scope.orgId,
        url: input.url,
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
          url: { after: auditedUrl(input.url) },
          events: { after: input.events },
          description: { after: row.description },
          signing_secret: { after: '[set]' },
        },
      });
      await events.emit(scope, 'webhook_endpoint.created', {
        id,
        object: 'webhook_endpoint',
        status: row.status,
        events: row.events,
      });
      return { ...row, secret };
    },

    async update(
      scope: TenantScope,
      id: string,
      input: { url?: VettedUrl; events?: string[]; description?: string | null; status?: Status },
    ): Promise<WebhookRow> {
      const before = await load(scope, id);
      const next = {
        url: input.url ?? before.url,
        events: input.events ?? before.events,
        description: input.description === undefined ? before.description : input.description,
        status: input.status ?? before.status,
      };
      const changes: AuditChanges = {};
      for (const field of ['url', 'events', 'description', 'status'] as const) {
        if (JSON.stringify(before[field]) !== JSON.stringify(next[field]))
          changes[field] = { before: before[field], after: next[field] };
      }
      if (changes.url) changes.url = { before: auditedUrl(before.url), after: auditedUrl(next.url) };
      if (Object.keys(changes).length === 0) return before;
      // Enabling an endpoint (again) starts it with a clean record.
      const reenabled = changes.status && next.status === 'enabled';
      const row = await webhooksDal.update(scope.tx, scope.orgId, id, {
        ...next,
        ...(reenabled ? { failing_since: null, disabled_reason: null } : {}),
        updated_at: scope.now,
      });
      await auditLog.record(scope, {
        action: 'webhook_endpoint.updated',
        resource: { type: 'webhook_endpoint', id },
        changes,
      });
      await events.emit(scope, 'webhook_endpoint.updated', {
        id,
        object: 'webhook_endpoint',
        status: row.status,
        events: row.events,
        changed: Object.keys(changes),
      });
      return row;
    },

    /**
     * A new signing secret (returned once). The previous one keeps signing alongside it for 24 hours.
     */
    async rotateSecret(
      scope: TenantScope,
      id: string,
    ): Promise<WebhookRow & { secret: string; previous_secret_expires_at: Date }> {
      await load(scope, id);
      const current = await webhooksDal.findEncryptedSecret(scope.tx, scope.orgId, id);
      if (!current) throw notFound('webhook endpoint', 'webhookId');
      const context = { orgId: scope.orgId, recordId: id };
      const previous = envelope.decrypt(current, { ...context, field: SECRET_FIELD });
      const secret = generateSigningSecret();
      const expiresAt = new Date(scope.now.getTime() + ROTATION_OVERLAP_MS);
      const row = await webhooksDal.update(scope.tx, scope.orgId, id, {
        encrypted_secret: envelope.encrypt(secret, { ...context, field: SECRET_FIELD }),
        // Re-encrypted for its new column: the ciphertext is bound to the field it is stored in.
        previous_encrypted_secret: envelope.encrypt(previous, { ...context, field: PREVIOUS_SECRET_FIELD }),
        previous_secret_expires_at: expiresAt,
        updated_at: scope.now,
      });
      await auditLog.record(scope, {
        action: 'webhook_endpoint.secret_rotated',
        resource: { type: 'webhook_endpoint', id },
        changes: {
          signing_secret: { before: '[set]', after: '[rotated]' },
          previous_secret_expires_at: { after: expiresAt.toISOString() },
        },
      });
      await events.emit(scope, 'webhook_endpoint.updated', {
        id,
        object: 'webhook_endpoint',
        status: row.status,
        events: row.events,
        changed: ['signing_secret'],
      });
      return { ...row, secret, previous_secret_expires_at: expiresAt };
    },

    async remove(scope: TenantScope, id: string): Promise<WebhookRow> {
      const before = await load(scope, id);
      await webhooksDal.remove(scope.tx, scope.orgId, id);
      await auditLog.record(scope, {
        action: 'webhook_endpoint.deleted',
        resource: { type: 'webhook_endpoint', id },
        changes: { url: { before: auditedUrl(before.url) }, events: { before: before.events } },
      });
      await events.emit(scope, 'webhook_endpoint.deleted', { id, object: 'webhook_endpoint' });
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
    disabled_reason: row.disabled_reason,
    failing_since: row.failing_since ? row.failing_since.toISOString() : null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
