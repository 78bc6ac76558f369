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

    /** Projects whose deletion grace period has ended, by id after `after` (system connection: every org). */
    async pastDeletionGrace(
      db: Kysely<Database>,
      now: Date,
      page: { after: string; limit: number },
    ): Promise<{ id: string; org_id: string }[]> {
      return db
        .selectFrom('projects')
        .select(['id', 'org_id'])
        .where('status', '=', 'pending_deletion')
        .where('purge_after', '<', now)
        .where('id', '>', page.after)
        .orderBy('id')
        .limit(page.limit)
        .execute();
    },

    async countPastDeletionGrace(db: Kysely<Database>, now: Date): Promise<number> {
      const { n } = await db
        .selectFrom('projects')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('status', '=', 'pending_deletion')
        .where('purge_after', '<', now)
        .executeTakeFirstOrThrow();
      return Number(n);
    },

    /** Deletes the project row if its deletion grace period has still ended; whether it did. */
    async deletePastDeletionGrace(tx: Kysely<Database>, orgId: string, id: string, now: Date) {
      const deleted = await tx
        .deleteFrom('projects')
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .where('status', '=', 'pending_deletion')
        .where('purge_after', '<', now)
        .executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0;
    },
  };
}

export type ProjectsDal = ReturnType<typeof createProjectsDal>;
