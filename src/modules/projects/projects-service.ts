import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { ProjectRow, ProjectsDal } from './projects-dal.ts';

/**
 * Projects. Deleting one starts its deletion grace period: it is marked `pending_deletion` with a
 * `purge_after` date, after which the retention sweeper removes it and everything it owns.
 */
export function createProjectsService(deps: {
  projectsDal: ProjectsDal;
  auditLog: AuditLogService;
  events: WebhookEventEmitter;
  /** The org's deletion grace period (registry default or contract value). */
  deletionGraceMs: (scope: TenantScope) => number | Promise<number>;
}) {
  const { projectsDal, auditLog, events } = deps;

  async function load(scope: TenantScope, id: string): Promise<ProjectRow> {
    const row = isId('project', id) ? await projectsDal.findById(scope.tx, scope.orgId, id) : undefined;
    if (!row) throw notFound('project', 'projectId');
    return row;
  }

  return {
    get: load,

    /** An active project of the org, or 404/400: for things that attach to a project (keys, events). */
    async requireActive(scope: TenantScope, id: string, param = 'project_id'): Promise<ProjectRow> {
      const row = isId('project', id) ? await projectsDal.findById(scope.tx, scope.orgId, id) : undefined;
      if (!row) throw notFound('project', param);
      if (row.status !== 'active')
        throw new AppError('invalid_request', 'The project is pending deletion.', { param });
      return row;
    },

    list: (scope: TenantScope, page: PageParams) => projectsDal.list(scope.tx, scope.orgId, page),

    async create(
      scope: TenantScope,
      input: { name: string; pii_policy?: PiiPolicy | undefined },
    ): Promise<ProjectRow> {
      const row = await projectsDal.insert(scope.tx, {
        id: newId('project', scope.now.getTime()),
        org_id: scope.orgId,
        name: input.name,
        pii_policy: input.pii_policy ?? 'hash',
        created_at: scope.now,
      });
      await auditLog.record(scope, {
        action: 'project.created',
        resource: { type: 'project', id: row.id },
        changes: { name: { after: row.name }, pii_policy: { after: row.pii_policy } },
      });
      await events.emit(scope, 'project.created', { id: row.id, object: 'project', status: row.status });
      return row;
    },

    /** Renames a project or sets its PII policy (SDK ingest honours a new policy within 5 seconds). */
    async update(
      scope: TenantScope,
      id: string,
      input: { name?: string | undefined; pii_policy?: PiiPolicy | undefined },
    ): Promise<ProjectRow> {
      const before = await load(scope, id);
      if (before.status !== 'active')
        throw new AppError('conflict', 'The project is pending deletion and cannot be changed.');
      const patch: { name?: string; pii_policy?: PiiPolicy } = {};
      const changes: Record<string, { before: string; after: string }> = {};
      if (input.name !== undefined && input.name !== before.name) {
        patch.name = input.name;
        changes.name = { before: before.name, after: input.name };
      }
      if (input.pii_policy !== undefined && input.pii_policy !== before.pii_policy) {
        patch.pii_policy = input.pii_policy;
        changes.pii_policy = { before: before.pii_policy, after: input.pii_policy };
      }
      const changed = Object.keys(changes);
      if (changed.length === 0) return before;
      const row = await projectsDal.update(scope.tx, scope.orgId, id, { ...patch, updated_at: scope.now });
      await auditLog.record(scope, { action: 'project.updated', resource: { type: 'project', id }, changes });
      await events.emit(scope, 'project.updated', { id, object: 'project', status: row.status, changed });
      return row;
    },

    async remove(scope: TenantScope, id: string): Promise<ProjectRow> {
      const before = await load(scope, id);
      if (before.status === 'pending_deletion') return before;
      const purgeAfter = new Date(scope.now.getTime() + (await deps.deletionGraceMs(scope)));
      const row = await projectsDal.update(scope.tx, scope.orgId, id, {
        status: 'pending_deletion',
        deleted_at: scope.now,
        purge_after: purgeAfter,
        updated_at: scope.now,
      });
      await auditLog.record(scope, {
        action: 'project.deleted',
        resource: { type: 'project', id },
        changes: {
          status: { before: 'active', after: 'pending_deletion' },
          purge_after: { after: purgeAfter.toISOString() },
        },
      });
      await events.emit(scope, 'project.deleted', {
        id,
        object: 'project',
        status: 'pending_deletion',
        purge_after: purgeAfter.toISOString(),
      });
      return row;
    },
  };
}

export type PiiPolicy = ProjectRow['pii_policy'];

export type ProjectsService = ReturnType<typeof createProjectsService>;

export function toProjectResponse(row: ProjectRow) {
  return {
    id: row.id,
    object: 'project' as const,
    name: row.name,
    status: row.status,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    purge_after: row.purge_after ? row.purge_after.toISOString() : null,
    pii_policy: row.pii_policy,
  };
}
