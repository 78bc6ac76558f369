import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { MediaAssetsTable } from '../../db/schema-generation.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';

export type MediaRow = Selectable<MediaAssetsTable>;

/** SQL of media_assets. Tenant methods run under RLS; the `system*` ones on the owner connection. */
export function createMediaDal() {
  return {
    async insert(tx: Kysely<Database>, row: Omit<MediaRow, 'bytes'> & { bytes: number }): Promise<MediaRow> {
      return tx.insertInto('media_assets').values(row).returningAll().executeTakeFirstOrThrow();
    },

    async find(tx: Kysely<Database>, orgId: string, id: string): Promise<MediaRow | undefined> {
      return tx
        .selectFrom('media_assets')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async list(tx: Kysely<Database>, orgId: string, projectId: string, page: PageParams) {
      return paginate(
        tx
          .selectFrom('media_assets')
          .selectAll()
          .where('org_id', '=', orgId)
          .where('project_id', '=', projectId),
        'id',
        page,
      );
    },

    async ofGeneration(tx: Kysely<Database>, orgId: string, generationId: string): Promise<MediaRow[]> {
      return tx
        .selectFrom('media_assets')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('generation_id', '=', generationId)
        .orderBy('id')
        .execute();
    },

    async delete(tx: Kysely<Database>, orgId: string, id: string): Promise<boolean> {
      const r = await tx
        .deleteFrom('media_assets')
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    /** Rows other than `exceptId` that still point at this object (content addressing shares keys). */
    async othersWithKey(tx: Kysely<Database>, orgId: string, key: string, exceptId: string): Promise<number> {
      const r = await tx
        .selectFrom('media_assets')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('org_id', '=', orgId)
        .where('storage_key', '=', key)
        .where('id', '!=', exceptId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    /** GET /media/:id has no key: the row is read on the system connection by its id alone. */
    async systemFind(db: Kysely<Database>, id: string): Promise<MediaRow | undefined> {
      return db.selectFrom('media_assets').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async systemKeysOfProject(
      db: Kysely<Database>,
      projectId: string,
    ): Promise<{ org_id: string; storage_key: string; store: string }[]> {
      return db
        .selectFrom('media_assets')
        .select(['org_id', 'storage_key', 'store'])
        .where('project_id', '=', projectId)
        .distinct()
        .execute();
    },

    async systemKeysOfOrg(
      db: Kysely<Database>,
      orgId: string,
    ): Promise<{ project_id: string; storage_key: string }[]> {
      return db
        .selectFrom('media_assets')
        .select(['project_id', 'storage_key'])
        .where('org_id', '=', orgId)
        .distinct()
        .execute();
    },

    /** Every (org, project) that has a row or a project (verify walks the store per project). */
    async systemAllRows(
      db: Kysely<Database>,
    ): Promise<{ id: string; org_id: string; project_id: string; storage_key: string }[]> {
      return db.selectFrom('media_assets').select(['id', 'org_id', 'project_id', 'storage_key']).execute();
    },
  };
}

export type MediaDal = ReturnType<typeof createMediaDal>;
