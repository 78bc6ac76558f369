import type { Kysely, Selectable } from 'kysely';
import type { Database, OrgsTable } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';

export type OrgRow = Selectable<OrgsTable>;

export function createOrgsDal() {
  return {
    async insert(
      tx: Kysely<Database>,
      row: Pick<OrgRow, 'id' | 'name' | 'tier' | 'created_at'>,
    ): Promise<OrgRow> {
      return tx
        .insertInto('orgs')
        .values({ ...row, status: 'active' })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    async findById(tx: Kysely<Database>, id: string): Promise<OrgRow | undefined> {
      return tx.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async list(db: Kysely<Database>, page: PageParams) {
      return paginate(db.selectFrom('orgs').selectAll(), 'id', page);
    },

    async markOffboarded(tx: Kysely<Database>, id: string, at: Date): Promise<OrgRow> {
      return tx
        .updateTable('orgs')
        .set({ status: 'offboarded', offboarded_at: at })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    /** Every org's id (system connection). */
    async allIds(db: Kysely<Database>): Promise<string[]> {
      return (await db.selectFrom('orgs').select('id').execute()).map((o) => o.id);
    },
  };
}

export type OrgsDal = ReturnType<typeof createOrgsDal>;
