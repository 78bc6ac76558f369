import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { Clock } from '../../lib/clock.ts';
import { notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { ApiKeyAuthenticator } from '../api-keys/api-key-authenticator.ts';
import { generateApiKey } from '../api-keys/api-key-format.ts';
import type { ApiKeysDal } from '../api-keys/api-keys-dal.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { PartnershipEnd } from '../retention/partnership-end.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { OrgRow, OrgsDal } from './orgs-dal.ts';

/**
 * Orgs are created and offboarded by the platform operator (operator API or CLI), on the system
 * connection but still inside a tenant transaction for the org concerned, so the audit entries land
 * in that org's own chain with a `system` actor.
 */
export function createOrgsService(deps: {
  systemDb: Kysely<Database>;
  orgsDal: OrgsDal;
  apiKeysDal: ApiKeysDal;
  auditLog: AuditLogService;
  authenticator: ApiKeyAuthenticator;
  clock: Clock;
  events: WebhookEventEmitter;
  /** Every data class's partnership-end rule: immediate deletions and the purge schedule. */
  partnershipEnd: PartnershipEnd;
}) {
  const { systemDb, orgsDal, apiKeysDal, auditLog, clock } = deps;

  function asSystem<T>(
    orgId: string,
    requestId: string | null,
    fn: (scope: TenantScope) => Promise<T>,
  ): Promise<T> {
    return withTenant(systemDb, orgId, (tx) =>
      fn({ tx, orgId, actor: { type: 'system', id: null }, requestId, now: clock.now() }),
    );
  }

  return {
    /** Creates an org and its first secret key (returned once). */
    async create(input: { name: string; tier: 'standard' | 'partner' }, requestId: string | null = null) {
      const orgId = newId('org', clock.now().getTime());
      return asSystem(orgId, requestId, async (scope) => {
        const org = await orgsDal.insert(scope.tx, {
          id: orgId,
          name: input.name,
          tier: input.tier,
          created_at: scope.now,
        });
        const generated = generateApiKey('secret');
        const key = await apiKeysDal.insert(scope.tx, {
          id: newId('apiKey', scope.now.getTime()),
          org_id: orgId,
          project_id: null,
          type: 'secret',
          name: 'Default secret key',
          key_hash: generated.hash,
          last4: generated.last4,
          created_at: scope.now,
        });
        await auditLog.record(scope, {
          action: 'org.created',
          resource: { type: 'org', id: orgId },
          changes: { name: { after: org.name }, tier: { after: org.tier } },
        });
        await auditLog.record(scope, {
          action: 'api_key.created',
          resource: { type: 'api_key', id: key.id },
          changes: { name: { after: key.name }, type: { after: 'secret' } },
        });
        return { org, apiKey: { id: key.id, secret: generated.secret } };
      });
    },

    async get(orgId: string): Promise<OrgRow> {
      const org = isId('org', orgId) ? await orgsDal.findById(systemDb, orgId) : undefined;
      if (!org) throw notFound('org', 'orgId');
      return org;
    },

    list: (page: PageParams) => orgsDal.list(systemDb, page),

    /** Issues a new secret key for an org (operator recovery when a partner has lost or revoked theirs). */
    async issueSecretKey(orgId: string, name: string, requestId: string | null = null) {
      const org = await this.get(orgId);
      return asSystem(org.id, requestId, async (scope) => {
        const generated = generateApiKey('secret');
        const key = await apiKeysDal.insert(scope.tx, {
          id: newId('apiKey', scope.now.getTime()),
          org_id: org.id,
          project_id: null,
          type: 'secret',
          name,
          key_hash: generated.hash,
          last4: generated.last4,
          created_at: scope.now,
        });
        await auditLog.record(scope, {
          action: 'api_key.created',
          resource: { type: 'api_key', id: key.id },
          changes: { name: { after: name }, type: { after: 'secret' } },
        });
        await deps.events.emit(scope, 'api_key.created', {
          id: key.id,
          object: 'api_key',
          type: 'secret',
          project_id: null,
        });
        return { id: key.id, secret: generated.secret };
      });
    },

    /** What is pending (and when) after the partnership ended; null while it runs. */
    async purgeStatus(org: OrgRow) {
      return deps.partnershipEnd.status(systemDb, org);
    },

    /**
     * The partnership ends: every key is revoked and the classes the registry deletes at once (OAuth
     * tokens…) are deleted, in one transaction; every other class gets its scheduled purge date.
     */
    async offboard(orgId: string, requestId: string | null = null): Promise<OrgRow> {
      const org = await this.get(orgId);
      if (org.status === 'offboarded') return org;
      const result = await asSystem(org.id, requestId, async (scope) => {
        const updated = await orgsDal.markOffboarded(scope.tx, org.id, scope.now);
        const revoked = await apiKeysDal.revokeAllForOrg(scope.tx, org.id, scope.now);
        const ended = await deps.partnershipEnd.onOffboard(scope);
        await auditLog.record(scope, {
          action: 'org.offboarded',
          resource: { type: 'org', id: org.id },
          changes: {
            status: { before: 'active', after: 'offboarded' },
            revoked_api_keys: { after: revoked.length },
            deleted_at_offboarding: { after: ended.deleted_now },
            purge_scheduled: { after: ended.scheduled },
          },
        });
        return { updated, revoked };
      });
      deps.authenticator.evict(result.revoked);
      return result.updated;
    },
  };
}

export type OrgsService = ReturnType<typeof createOrgsService>;

export function toOrgResponse(row: OrgRow) {
  return {
    id: row.id,
    object: 'org' as const,
    name: row.name,
    tier: row.tier,
    status: row.status,
    created_at: row.created_at.toISOString(),
    offboarded_at: row.offboarded_at ? row.offboarded_at.toISOString() : null,
  };
}
