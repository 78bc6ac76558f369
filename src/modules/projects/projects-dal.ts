import type { Kysely, Selectable } from 'kysely';
import type { Database, ProjectsTable } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';

export type ProjectRow = Selectable<ProjectsTable>;

export function createProjectsDal() {
  return {
    async insert(
      tx: Kysely<Database>,
      row: {
        id: string;
        org_id: string;
        name: string;
        pii_policy: ProjectRow['pii_policy'];
        created_at: Date;
      },
    ): Promise<ProjectRow> {
      return tx
        .insertInto('projects')
        .values({ ...row, status: 'active', updated_at: row.created_at })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    async findById(tx: Kysely<Database>, orgId: string, id: string): Promise<ProjectRow | undefined> {
      return tx
        .selectFrom('projects')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async list(tx: Kysely<Database>, orgId: string, page: PageParams) {
      return paginate(tx.selectFrom('projects').selectAll().where('org_id', '=', orgId), 'id', page);
    },

    async update(
      tx: Kysely<Database>,
      orgId: string,
      id: string,
      patch: Partial<Pick<ProjectRow, 'name' | 'pii_policy' | 'status' | 'deleted_at' | 'purge_after'>> & {
        updated_at: Date;
      },
    ) {
      return tx
        .updateTable('projects')
        .set(patch)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
    },
  };
}

export type ProjectsDal = ReturnType<typeof createProjectsDal>;
