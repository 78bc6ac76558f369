import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { withTenant } from '../../db/tenant-transaction.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Envelope } from '../../lib/envelope-crypto.ts';
import { systemScope } from '../../lib/scope.ts';
import type { AuditLogService } from '../audit-log/audit-log-service.ts';
import type { WebhookEventEmitter } from '../webhooks/webhook-events-service.ts';
import type { DataSubjectRequestsDal } from './data-subject-requests-dal.ts';
import { createErasureDal } from './erasure-dal.ts';
import { ERASURE_STEPS } from './erasure-steps.ts';
import { anonymousSuppressionHash, suppressionHash } from './subject-hashes.ts';

const erasureDal = createErasureDal();

const BATCH = 10_000;

/**
 * Carries out an erasure (from the `dsr.erase` job). Idempotent and resumable: every batch deletes
 * rows and adds their count to the request's receipt in one transaction; running it again after a
 * crash continues where it stopped.
 *
 * With suppression, the first transaction records the suppression (of the user and of each anonymous
 * id linked to the user) before anything is deleted, under
 * the fence that orders it against concurrent ingest (migration 0010): from then on no process stores
 * an event for the user, and everything stored before is what the batches delete. The last
 * transaction clears the raw user id, marks the request completed, audits it and emits the
 * `data_subject_request.completed` webhook event (the outbox: it commits with the completion or not at all).
 */
export function createErasureExecutor(deps: {
  db: Kysely<Database>;
  dal: DataSubjectRequestsDal;
  auditLog: AuditLogService;
  clock: Clock;
  events: WebhookEventEmitter;
  /** For the steps that must open a ciphertext to take the user's part out of it (the forward queue). */
  envelope: Envelope;
}) {
  const { db, dal, clock } = deps;

  return {
    async run(orgId: string, dsrId: string, opts: { heartbeat?: () => Promise<void> } = {}): Promise<void> {
      const dsr = await withTenant(db, orgId, (tx) => dal.findById(tx, orgId, dsrId));
      if (!dsr || dsr.status === 'completed' || dsr.user_id === null) return;
      const target = { orgId, projectId: dsr.project_id, userId: dsr.user_id };
      await withTenant(db, orgId, async (tx) => {
        const now = clock.now();
        if (dsr.suppress) {
          await dal.suppressionFence(tx, orgId);
          await dal.addSuppression(tx, {
            org_id: orgId,
            project_id: dsr.project_id,
            subject_sha256: suppressionHash(dsr.project_id, target.userId),
            dsr_id: dsrId,
            created_at: now,
          });
          // The device ids linked to the user: their anonymous events are refused too (lifted with the user's).
          for (const anonymousId of await erasureDal.linkedAnonymousIds(tx, target)) {
            await dal.addSuppression(tx, {
              org_id: orgId,
              project_id: dsr.project_id,
              subject_sha256: anonymousSuppressionHash(dsr.project_id, anonymousId),
              dsr_id: dsrId,
              created_at: now,
            });
          }
        }
        // Every class appears on the receipt, with 0 when nothing of it was held.
        await dal.markRunning(
          tx,
          dsrId,
          now,
          ERASURE_STEPS.map((s) => s.dataClass),
        );
      });

      for (const step of ERASURE_STEPS) {
        for (;;) {
          const deleted = await withTenant(db, orgId, async (tx) => {
            const n = await step.run(tx, target, BATCH, deps.envelope);
            if (n > 0) await dal.addErased(tx, dsrId, step.dataClass, n);
            return n;
          });
          await opts.heartbeat?.();
          if (deleted < BATCH) break;
        }
      }

      await withTenant(db, orgId, async (tx) => {
        const now = clock.now();
        const receipt = await dal.markCompleted(tx, dsrId, now);
        if (!receipt) return;
        const erased = Object.fromEntries(
          ERASURE_STEPS.map((s) => [s.dataClass, Number(receipt[s.dataClass] ?? 0)]),
        );
        const scope = systemScope(tx, orgId, now);
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
