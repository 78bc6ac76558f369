import type { Kysely, Selectable } from 'kysely';
import type { AuditLogTable, Database } from '../../db/schema.ts';
import { newId } from '../../lib/ids.ts';
import type { PageParams } from '../../lib/pagination.ts';
import type { TenantScope } from '../../lib/scope.ts';
import {
  type ChainedEntry,
  canonicalJson,
  chainHash,
  GENESIS_HASH,
  type RedactedEntry,
} from './audit-chain.ts';
import type { AuditFilters, AuditLogDal } from './audit-log-dal.ts';

/** A field's value before and after the change; secrets never appear here, only that they changed. */
export type FieldChange = { before?: unknown; after?: unknown };
export type AuditChanges = Record<string, FieldChange>;

export type AuditRecord = {
  action: string;
  resource: { type: string; id: string };
  changes: AuditChanges;
};

export type ChainBreak = { id: string; seq: number; reason: string };
export type ChainVerification =
  | { ok: true; entries: number }
  | { ok: false; entries: number; broken: ChainBreak };

const VERIFY_BATCH = 1000;

export function createAuditLogService({ auditLogDal }: { auditLogDal: AuditLogDal }) {
  return {
    /** Appends an entry in the caller's transaction: no change commits without its audit entry. */
    async record(scope: TenantScope, record: AuditRecord): Promise<void> {
      const head = await auditLogDal.lockHead(scope.tx, scope.orgId);
      const entry: ChainedEntry = {
        id: newId('audit', scope.now.getTime()),
        org_id: scope.orgId,
        seq: head.seq + 1,
        action: record.action,
        actor_type: scope.actor.type,
        actor_id: scope.actor.id,
        resource_type: record.resource.type,
        resource_id: record.resource.id,
        changes: record.changes,
        request_id: scope.requestId,
        created_at: scope.now.toISOString(),
      };
      await auditLogDal.append(scope.tx, {
        ...entry,
        changes: canonicalJson(record.changes),
        created_at: scope.now,
        prev_hash: head.hash,
        hash: chainHash(head.hash, entry),
      });
    },

    async list(scope: TenantScope, filters: AuditFilters, page: PageParams) {
      return auditLogDal.list(scope.tx, scope.orgId, filters, page);
    },

    /** Recomputes an org's whole chain (system connection) and names the first entry that breaks it. */
    async verifyChain(db: Kysely<Database>, orgId: string): Promise<ChainVerification> {
      let prevHash = GENESIS_HASH;
      let expectedSeq = 1;
      let entries = 0;
      // Redactions are trusted here only as far as the walk below verifies their own entries.
      const redacted = new Map<string, RedactedEntry & { bySeq: number }>();
      for (const r of await auditLogDal.redactions(db, orgId)) {
        const listed = (r.changes as { entries?: { after?: RedactedEntry[] } }).entries?.after ?? [];
        for (const e of listed) redacted.set(e.id, { ...e, bySeq: Number(r.seq) });
      }
      for (;;) {
        const batch = await auditLogDal.batchAfter(db, orgId, expectedSeq - 1, VERIFY_BATCH);
        for (const row of batch) {
          const broken = checkEntry(row, prevHash, expectedSeq, redacted);
          if (broken) return { ok: false, entries, broken };
          prevHash = row.hash;
          expectedSeq += 1;
          entries += 1;
        }
        if (batch.length < VERIFY_BATCH) break;
      }
      const head = await auditLogDal.head(db, orgId);
      const headSeq = head ? Number(head.seq) : 0;
      if (headSeq !== entries || (head && head.hash !== prevHash)) {
        return {
          ok: false,
          entries,
          broken: {
            id: '(end of chain)',
            seq: entries + 1,
            reason: `entries after seq ${entries} are missing (head is at ${headSeq})`,
          },
        };
      }
      return { ok: true, entries };
    },
  };
}

function checkEntry(
  row: Selectable<AuditLogTable>,
  prevHash: string,
  expectedSeq: number,
  redacted: ReadonlyMap<string, RedactedEntry & { bySeq: number }>,
): ChainBreak | undefined {
  const seq = Number(row.seq);
  if (seq !== expectedSeq) return { id: row.id, seq, reason: `sequence gap: expected ${expectedSeq}` };
  if (row.prev_hash !== prevHash)
    return { id: row.id, seq, reason: 'prev_hash does not match the previous entry' };
  const recomputed = chainHash(prevHash, {
    id: row.id,
    org_id: row.org_id,
    seq,
    action: row.action,
    actor_type: row.actor_type,
    actor_id: row.actor_id,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    changes: row.changes,
    request_id: row.request_id,
    created_at: row.created_at.toISOString(),
  });
  if (recomputed === row.hash) return undefined;
  // A redacted entry: its stored hash still links the chain, and a later entry vouches for both forms.
  const r = redacted.get(row.id);
  if (r && r.seq === seq && r.bySeq > seq && r.hash === row.hash && r.redacted_hash === recomputed)
    return undefined;
  return { id: row.id, seq, reason: 'content does not match its hash' };
}

export type AuditLogService = ReturnType<typeof createAuditLogService>;

export function toAuditEntryResponse(row: Selectable<AuditLogTable>) {
  return {
    id: row.id,
    object: 'audit_log_entry' as const,
    action: row.action,
    actor: { type: row.actor_type, id: row.actor_id },
    resource: { type: row.resource_type, id: row.resource_id },
    changes: row.changes as AuditChanges,
    request_id: row.request_id,
    created_at: row.created_at.toISOString(),
  };
}
