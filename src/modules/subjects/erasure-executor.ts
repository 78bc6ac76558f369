import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { Clock } from '../../lib/clock.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { DataSubjectRequestsDal } from './data-subject-requests-dal.ts';
import { ERASURE_STEPS } from './erasure-steps.ts';
import { suppressionHash } from './subject-hashes.ts';

const BATCH = 10_000;

/**
 * Carries out an erasure (from the `dsr.erase` job). Idempotent and resumable: every batch deletes
 * rows and adds their count to the request's receipt in one transaction; running it again after a
 * crash continues where it stopped. The last transaction records the suppression (when asked),
 * clears the raw user id, marks the request completed, audits it and emits the
 * `data_subject_request.completed` webhook event (the outbox: it commits with the completion or not at all).
 */
export function createErasureExecutor(deps: {
  db: Kysely<Database>;
  dal: DataSubjectRequestsDal;
  auditLog: AuditLogService;
  clock: Clock;
  events: WebhookEventEmitter;
}) {
  const { db, dal, clock } = deps;

  return {
    async run(orgId: string, dsrId: string, opts: { heartbeat?: () => Promise<void> } = {}): Promise<void> {
      const dsr = await withTenant(db, orgId, (tx) => dal.findById(tx, orgId, dsrId));
      if (!dsr || dsr.status === 'completed' || dsr.user_id === null) return;
      const target = { orgId, projectId: dsr.project_id, userId: dsr.user_id };
      // Every class appears on the receipt, with 0 when nothing of it was held.
      const zeros = JSON.stringify(Object.fromEntries(ERASURE_STEPS.map((s) => [s.dataClass, 0])));
      await withTenant(db, orgId, (tx) =>
        sql`UPDATE data_subject_requests
            SET status = 'running', started_at = COALESCE(started_at, ${clock.now()}), erased = ${zeros}::jsonb || erased
            WHERE id = ${dsrId}`.execute(tx),
      );

      for (const step of ERASURE_STEPS) {
        for (;;) {
          const deleted = await withTenant(db, orgId, async (tx) => {
            const n = await step.run(tx, target, BATCH);
            if (n > 0) {
              await sql`
                UPDATE data_subject_requests
                SET erased = jsonb_set(erased, ${`{${step.dataClass}}`}::text[],
                  to_jsonb(COALESCE((erased->>${step.dataClass})::bigint, 0) + ${n}))
                WHERE id = ${dsrId}`.execute(tx);
            }
            return n;
          });
          await opts.heartbeat?.();
          if (deleted < BATCH) break;
        }
      }

      await withTenant(db, orgId, async (tx) => {
        const now = clock.now();
        if (dsr.suppress) {
          await dal.addSuppression(tx, {
            org_id: orgId,
            project_id: dsr.project_id,
            subject_sha256: suppressionHash(dsr.project_id, target.userId),
            dsr_id: dsrId,
            created_at: now,
          });
        }
        const { rows } = await sql<{ erased: Record<string, number> }>`
          UPDATE data_subject_requests SET status = 'completed', user_id = NULL, completed_at = ${now}
          WHERE id = ${dsrId} AND status <> 'completed' RETURNING erased`.execute(tx);
        const row = rows[0];
        if (!row) return;
        const erased = Object.fromEntries(
          ERASURE_STEPS.map((s) => [s.dataClass, Number(row.erased[s.dataClass] ?? 0)]),
        );
        const scope = { tx, orgId, actor: { type: 'system' as const, id: null }, requestId: null, now };
        await deps.auditLog.record(scope, {
          action: 'data_subject_request.completed',
          resource: { type: 'data_subject_request', id: dsrId },
          changes: { status: { before: 'running', after: 'completed' }, erased: { after: erased } },
        });
        await deps.events.emit(scope, 'data_subject_request.completed', {
          id: dsrId,
          object: 'data_subject_request',
          type: 'erasure',
          project_id: dsr.project_id,
          status: 'completed',
          completed_at: now.toISOString(),
        });
      });
    },
  };
}

export type ErasureExecutor = ReturnType<typeof createErasureExecutor>;
