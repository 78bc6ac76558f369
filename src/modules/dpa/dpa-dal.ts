import type { Kysely, Selectable } from 'kysely';
import type { Database, DpaRequestsTable } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';

export type DpaRequestRow = Selectable<DpaRequestsTable>;

export function createDpaDal() {
  return {
    async insert(
      tx: Kysely<Database>,
      row: Omit<DpaRequestRow, 'transfer_mechanisms' | 'review_flags'> & {
        transfer_mechanisms: string;
        review_flags: string;
      },
    ): Promise<DpaRequestRow> {
      return tx.insertInto('dpa_requests').values(row).returningAll().executeTakeFirstOrThrow();
    },

    async findById(tx: Kysely<Database>, orgId: string, id: string): Promise<DpaRequestRow | undefined> {
      return tx
        .selectFrom('dpa_requests')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    /** Any org's request (operator, system connection). */
    async findAnyById(db: Kysely<Database>, id: string): Promise<DpaRequestRow | undefined> {
      return db.selectFrom('dpa_requests').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async list(tx: Kysely<Database>, orgId: string | null, status: string | undefined, page: PageParams) {
      let q = tx.selectFrom('dpa_requests').selectAll();
      if (orgId !== null) q = q.where('org_id', '=', orgId);
      if (status) q = q.where('status', '=', status as DpaRequestRow['status']);
      return paginate(q, 'id', page);
    },

    async setStatus(tx: Kysely<Database>, id: string, status: DpaRequestRow['status'], at: Date) {
      return tx
        .updateTable('dpa_requests')
        .set({ status, updated_at: at })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
    },
  };
}

export type DpaDal = ReturnType<typeof createDpaDal>;
