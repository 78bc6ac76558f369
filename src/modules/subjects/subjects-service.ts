import type { Readable } from 'node:stream';
import type pg from 'pg';
import { enqueueJob } from '../../jobs/job-queue.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import type { TenantScope } from '../../lib/scope.ts';
import { hashIdentifier, isSha256Hex } from '../../privacy/identifier-normalizers.ts';
import { storedUserId } from '../../privacy/pii-envelope.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { ProfileRow, ProfilesDal } from '../profiles/profiles-dal.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { DataSubjectRequestsDal, DsrRow } from './data-subject-requests-dal.ts';
import { ERASE_JOB } from './erasure-job.ts';
import { type ExportFormat, exportBody } from './export-body.ts';
import { createExportLimiter, type ExportLimits } from './export-limiter.ts';
import { openUserEventExport } from './subject-export.ts';
import { receiptHash, suppressionHash } from './subject-hashes.ts';
import type { SuppressionCache } from './suppression-cache.ts';

/** Whose events an export streams, and the profile read alongside the project check. */
export type ExportSubject = {
  orgId: string;
  projectId: string;
  userId: string;
  profile: ProfileRow | undefined;
};

export type LookupInput = { email?: string; phone?: string; email_sha256?: string; phone_sha256?: string };

/**
 * Data-subject requests land with the partner (the controller); they ask us, we execute:
 * access/portability (export), erasure (a job with a receipt), suppression, and lookup by the hash of
 * an identifier using the same normalization as ingest.
 */
export function createSubjectsService(deps: {
  dal: DataSubjectRequestsDal;
  projects: ProjectsService;
  profilesDal: ProfilesDal;
  auditLog: AuditLogService;
  suppressions: SuppressionCache;
  appPool: pg.Pool;
  exportLimits: ExportLimits;
}) {
  const { dal, auditLog } = deps;
  const exports = createExportLimiter(deps.exportLimits);

  return {
    /**
     * Access / portability, step 1, inside the request's tenant transaction: the project (404 for
     * another org's) and the user's profile, if any.
     */
    async findExportSubject(
      scope: TenantScope,
      projectId: string,
      sentUserId: string,
    ): Promise<ExportSubject> {
      const userId = storedUserId(sentUserId);
      await deps.projects.get(scope, projectId);
      const profile = await deps.profilesDal.find(scope.tx, scope.orgId, projectId, userId);
      return { orgId: scope.orgId, projectId, userId, profile };
    },

    /**
     * Step 2, once that transaction has committed: the response body, whose event stream holds its
     * own connection until the body closes. Refused (429, 503) before any connection is taken when
     * this org or this process already runs as many exports as it may (export-limiter.ts). Opened
     * last, so nothing can fail between opening it and handing it to the response; 404 when neither a
     * profile nor an event is held.
     */
    async openExport(subject: ExportSubject, format: ExportFormat): Promise<Readable> {
      const free = exports.acquire(subject.orgId);
      try {
        const events = await openUserEventExport(deps.appPool, subject, {
          statementTimeoutMs: deps.exportLimits.maxDurationMs,
        });
        if (!subject.profile && !events.hasEvents) {
          await events.close();
          throw notFound('user in this project', 'userId');
        }
        return exportBody({
          format,
          userId: subject.userId,
          profile: subject.profile,
          events,
          limits: deps.exportLimits,
          onClose: free,
        });
      } catch (error) {
        free();
        throw error;
      }
    },

    /** Exports streaming in this process now. */
    runningExports: () => exports.running(),

    async requestErasure(
      scope: TenantScope,
      projectId: string,
      sentUserId: string,
      suppress: boolean,
    ): Promise<DsrRow> {
      const userId = storedUserId(sentUserId);
      const project = await deps.projects.get(scope, projectId);
      const id = newId('dsr', scope.now.getTime());
      const row = await dal.insert(scope.tx, {
        id,
        org_id: scope.orgId,
        project_id: project.id,
        user_id: userId,
        subject_sha256: receiptHash(id, userId),
        suppress,
        requested_by: scope.actor.id,
        request_id: scope.requestId,
        created_at: scope.now,
      });
      await auditLog.record(scope, {
        action: 'data_subject_request.created',
        resource: { type: 'data_subject_request', id },
        changes: {
          type: { after: 'erasure' },
          project_id: { after: project.id },
          suppress: { after: suppress },
        },
      });
      // The job carries ids only; the user id stays in the request row until the erasure completes.
      await enqueueJob(
        scope.tx,
        ERASE_JOB,
        { org_id: scope.orgId, dsr_id: id },
        { jobKey: `dsr:${id}`, maxAttempts: 25 },
      );
      return row;
    },

    async getRequest(scope: TenantScope, id: string): Promise<DsrRow> {
      const row = isId('dsr', id) ? await dal.findById(scope.tx, scope.orgId, id) : undefined;
      if (!row) throw notFound('data-subject request', 'requestId');
      return row;
    },

    async lookup(scope: TenantScope, projectId: string, input: LookupInput): Promise<string[]> {
      await deps.projects.get(scope, projectId);
      const given = Object.entries(input).filter(([, v]) => v !== undefined);
      if (given.length !== 1) {
        throw new AppError(
          'parameter_invalid',
          'Send exactly one of email, phone, email_sha256, phone_sha256.',
        );
      }
      const [field, value] = given[0] as [keyof LookupInput, string];
      const kind = field.startsWith('email') ? 'email' : 'phone';
      let hash: string | undefined;
      if (field.endsWith('_sha256')) {
        if (!isSha256Hex(value))
          throw new AppError('parameter_invalid', `${field} must be 64 hexadecimal characters.`, {
            param: field,
          });
        hash = value.toLowerCase();
      } else {
        hash = hashIdentifier(kind, value);
        if (!hash)
          throw new AppError('parameter_invalid', `${field} is empty once normalized.`, { param: field });
      }
      const users = await dal.usersByIdentifier(scope.tx, scope.orgId, projectId, kind, hash);
      return users.slice(0, 100);
    },

    async listSuppressions(scope: TenantScope, projectId: string, limit: number, startingAfter?: string) {
      await deps.projects.get(scope, projectId);
      return dal.listSuppressions(scope.tx, scope.orgId, projectId, limit, startingAfter);
    },

    /** Lifts a suppression: events for this user are accepted again (at once here, within 5 s elsewhere). */
    async liftSuppression(
      scope: TenantScope,
      projectId: string,
      userId: string,
    ): Promise<{ subject_sha256: string }> {
      await deps.projects.get(scope, projectId);
      const hash = suppressionHash(projectId, storedUserId(userId));
      if (!(await dal.removeSuppression(scope.tx, scope.orgId, projectId, hash)))
        throw notFound('suppression', 'userId');
      await auditLog.record(scope, {
        action: 'suppression.lifted',
        resource: { type: 'suppression', id: hash },
        changes: { project_id: { before: projectId } },
      });
      deps.suppressions.forget(projectId);
      return { subject_sha256: hash };
    },
  };
}

export type SubjectsService = ReturnType<typeof createSubjectsService>;

export function toDsrResponse(row: DsrRow) {
  return {
    id: row.id,
    object: 'data_subject_request' as const,
    type: row.type,
    status: row.status === 'running' ? ('pending' as const) : row.status,
    project_id: row.project_id,
    suppress: row.suppress,
    created_at: row.created_at.toISOString(),
    completed_at: row.completed_at ? row.completed_at.toISOString() : null,
    receipt:
      row.status === 'completed'
        ? {
            subject_sha256: row.subject_sha256,
            erased: row.erased,
            completed_at: (row.completed_at as Date).toISOString(),
          }
        : null,
  };
}
