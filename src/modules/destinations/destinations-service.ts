import { enqueueJob } from '../../jobs/job-queue.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { AuditChanges, AuditLogService } from '../audit-log/audit-log-service.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { DestinationRow, DestinationsDal } from './destinations-dal.ts';
import type { DestinationType } from './forward-event.ts';

/**
 * Conversions API destinations of a project (API.md "Conversions API forwarding"): `meta_capi`
 * (a dataset / pixel id) and `tiktok_events` (an event source id, the TikTok App ID), each with an
 * access token stored only as envelope ciphertext (AAD org + destination + field) and never shown
 * again, an event map from SDK event names to the platform's events, an optional test event code,
 * an optional default phone country and an enabled flag. Every change is audited (the token as
 * `[set]` / `[replaced]`, never its value).
 *
 * A destination paused by the forwarder (the platform refused its token) is resumed by a PATCH that
 * sets a new `access_token`. Deleting a destination deletes its forward queue in the same transaction.
 */
export const TOKEN_FIELD = 'access_token';
export const FORWARD_TASK = 'capi.forward';

export type CreateDestinationInput = {
  type: DestinationType;
  pixel_id?: string | undefined;
  event_source_id?: string | undefined;
  access_token: string;
  event_map: Record<string, string>;
  test_event_code?: string | null | undefined;
  default_phone_country?: string | null | undefined;
  enabled: boolean;
};

export type UpdateDestinationInput = {
  access_token?: string | undefined;
  event_map?: Record<string, string> | undefined;
  test_event_code?: string | null | undefined;
  default_phone_country?: string | null | undefined;
  enabled?: boolean | undefined;
};

export function createDestinationsService(deps: {
  dal: DestinationsDal;
  projects: ProjectsService;
  auditLog: AuditLogService;
  envelope: Envelope;
}) {
  const { dal, auditLog, envelope } = deps;

  async function load(scope: TenantScope, id: string): Promise<DestinationRow> {
    const row = isId('destination', id) ? await dal.findById(scope.tx, scope.orgId, id) : undefined;
    if (!row) throw notFound('destination', 'destinationId');
    return row;
  }

  const encryptToken = (scope: TenantScope, id: string, token: string) =>
    envelope.encrypt(token, { orgId: scope.orgId, recordId: id, field: TOKEN_FIELD });

  return {
    get: load,

    async list(scope: TenantScope, projectId: string, page: PageParams) {
      await deps.projects.get(scope, projectId);
      return dal.listForProject(scope.tx, scope.orgId, projectId, page);
    },

    async create(
      scope: TenantScope,
      projectId: string,
      input: CreateDestinationInput,
    ): Promise<DestinationRow> {
      await deps.projects.requireActive(scope, projectId, 'projectId');
      const platformId = input.type === 'meta_capi' ? input.pixel_id : input.event_source_id;
      const field = input.type === 'meta_capi' ? 'pixel_id' : 'event_source_id';
      const other = input.type === 'meta_capi' ? input.event_source_id : input.pixel_id;
      if (!platformId)
        throw new AppError('parameter_invalid', `${field} is required for ${input.type}.`, { param: field });
      if (other !== undefined)
        throw new AppError(
          'parameter_invalid',
          `${input.type === 'meta_capi' ? 'event_source_id' : 'pixel_id'} is not a field of ${input.type}.`,
          { param: input.type === 'meta_capi' ? 'event_source_id' : 'pixel_id' },
        );
      const id = newId('destination', scope.now.getTime());
      const row = await dal.insert(scope.tx, {
        id,
        org_id: scope.orgId,
        project_id: projectId,
        type: input.type,
        platform_id: platformId,
        encrypted_access_token: encryptToken(scope, id, input.access_token),
        event_map: input.event_map,
        test_event_code: input.test_event_code ?? null,
        default_phone_country: input.default_phone_country ?? null,
        enabled: input.enabled,
        status: 'active',
        created_at: scope.now,
        updated_at: scope.now,
      });
      await auditLog.record(scope, {
        action: 'destination.created',
        resource: { type: 'destination', id },
        changes: {
          project_id: { after: projectId },
          type: { after: row.type },
          [field]: { after: row.platform_id },
          event_map: { after: row.event_map },
          test_event_code: { after: row.test_event_code },
          default_phone_country: { after: row.default_phone_country },
          enabled: { after: row.enabled },
          access_token: { after: '[set]' },
        },
      });
      return row;
    },

    async update(scope: TenantScope, id: string, input: UpdateDestinationInput): Promise<DestinationRow> {
      const before = await load(scope, id);
      const changes: AuditChanges = {};
      const patch: Parameters<DestinationsDal['update']>[3] = { updated_at: scope.now };
      for (const f of ['event_map', 'test_event_code', 'default_phone_country', 'enabled'] as const) {
        const next = input[f];
        if (next === undefined || JSON.stringify(next) === JSON.stringify(before[f])) continue;
        changes[f] = { before: before[f], after: next };
        (patch as Record<string, unknown>)[f] = next;
      }
      if (input.access_token !== undefined) {
        patch.encrypted_access_token = encryptToken(scope, id, input.access_token);
        changes.access_token = { before: '[set]', after: '[replaced]' };
        // A new token resumes a destination the platform refused the old one of.
        if (before.status === 'paused') {
          patch.status = 'active';
          patch.paused_reason = null;
          patch.paused_at = null;
          changes.status = { before: 'paused', after: 'active' };
        }
      }
      if (Object.keys(changes).length === 0) return before;
      const row = await dal.update(scope.tx, scope.orgId, id, patch);
      await auditLog.record(scope, {
        action: 'destination.updated',
        resource: { type: 'destination', id },
        changes,
      });
      // Whatever waits in its queue goes out now (it was held while paused or disabled).
      if (row.enabled && row.status === 'active')
        await enqueueJob(scope.tx, FORWARD_TASK, { org_id: scope.orgId, destination_id: id });
      return row;
    },

    async remove(scope: TenantScope, id: string): Promise<DestinationRow> {
      const before = await load(scope, id);
      const queued = await dal.remove(scope.tx, scope.orgId, id);
      await auditLog.record(scope, {
        action: 'destination.deleted',
        resource: { type: 'destination', id },
        changes: {
          type: { before: before.type },
          access_token: { before: '[set]' },
          queued_events_deleted: { after: queued },
        },
      });
      return before;
    },
  };
}

export type DestinationsService = ReturnType<typeof createDestinationsService>;

export function toDestinationResponse(row: DestinationRow) {
  return {
    id: row.id,
    object: 'destination' as const,
    project_id: row.project_id,
    type: row.type,
    ...(row.type === 'meta_capi' ? { pixel_id: row.platform_id } : { event_source_id: row.platform_id }),
    event_map: row.event_map,
    test_event_code: row.test_event_code,
    default_phone_country: row.default_phone_country,
    enabled: row.enabled,
    status: row.status,
    paused_reason: row.paused_reason,
    paused_at: row.paused_at ? row.paused_at.toISOString() : null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
