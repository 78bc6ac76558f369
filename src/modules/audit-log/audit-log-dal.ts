import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';
import { type ChainedEntry, GENESIS_HASH, REDACTION_ACTION } from './audit-chain.ts';

export type AuditFilters = {
  action?: string;
  resource_type?: string;
  resource_id?: string;
  actor_id?: string;
  since?: Date;
  until?: Date;
};

export function createAuditLogDal() {
  return {
    /** Locks the org's chain head (creating it at genesis) and returns it: appends serialise per org. */
    async lockHead(tx: Kysely<Database>, orgId: string): Promise<{ seq: number; hash: string }> {
      const row = await tx
        .insertInto('audit_chain_heads')
        .values({ org_id: orgId, seq: 0, hash: GENESIS_HASH })
        .onConflict((oc) => oc.column('org_id').doUpdateSet({ seq: sql`audit_chain_heads.seq` }))
        .returning(['seq', 'hash'])
        .executeTakeFirstOrThrow();
      return { seq: Number(row.seq), hash: row.hash };
    },

    async append(tx: Kysely<Database>, entry: AppendRow): Promise<void> {
      await tx.insertInto('audit_log').values(entry).execute();
      await tx
        .updateTable('audit_chain_heads')
        .set({ seq: entry.seq, hash: entry.hash })
        .where('org_id', '=', entry.org_id)
        .execute();
    },

    async list(tx: Kysely<Database>, orgId: string, filters: AuditFilters, page: PageParams) {
      let q = tx.selectFrom('audit_log').selectAll().where('org_id', '=', orgId);
      if (filters.action) q = q.where('action', '=', filters.action);
      if (filters.resource_type) q = q.where('resource_type', '=', filters.resource_type);
      if (filters.resource_id) q = q.where('resource_id', '=', filters.resource_id);
      if (filters.actor_id) q = q.where('actor_id', '=', filters.actor_id);
      if (filters.since) q = q.where('created_at', '>=', filters.since);
      if (filters.until) q = q.where('created_at', '<', filters.until);
      return paginate(q, 'id', page);
    },

    /** Entries in chain order, a batch at a time, for verification (system connection). */
    async batchAfter(db: Kysely<Database>, orgId: string, afterSeq: number, size: number) {
      return db
        .selectFrom('audit_log')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('seq', '>', String(afterSeq))
        .orderBy('seq', 'asc')
        .limit(size)
        .execute();
    },

    /** The org's redaction entries (see audit-chain.ts), in chain order (system connection). */
    async redactions(db: Kysely<Database>, orgId: string) {
      return db
        .selectFrom('audit_log')
        .select(['seq', 'changes'])
        .where('org_id', '=', orgId)
        .where('action', '=', REDACTION_ACTION)
        .orderBy('seq', 'asc')
        .execute();
    },
    async head(db: Kysely<Database>, orgId: string) {
      return db.selectFrom('audit_chain_heads').selectAll().where('org_id', '=', orgId).executeTakeFirst();
    },
  };
}

/** A chained entry as stored: its canonical changes text, its time, and the two hashes. */
export type AppendRow = Omit<ChainedEntry, 'changes' | 'created_at'> & {
  changes: string;
  created_at: Date;
  prev_hash: string;
  hash: string;
};

export type AuditLogDal = ReturnType<typeof createAuditLogDal>;
