import type { ColumnType, Kysely, Selectable, Updateable } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';
import type { PublicationCheckpoint } from '../../platforms/publishing-port.ts';
import type { SocialPlatformName } from '../../platforms/social-platform.ts';

/** Row type of migration 0021's table (Kysely's view), kept with the module that owns it. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Counter = ColumnType<number, number | undefined, number>;

export type PublicationStatus = 'queued' | 'uploading' | 'processing' | 'published' | 'failed';
export const ACTIVE_STATUSES: readonly PublicationStatus[] = ['queued', 'uploading', 'processing'];

export interface PublicationsTable {
  id: string;
  org_id: string;
  project_id: string;
  social_account_id: string;
  platform: SocialPlatformName;
  media_id: string;
  caption: string;
  privacy: string | null;
  status: PublicationStatus;
  checkpoint: ColumnType<PublicationCheckpoint, string, string>;
  platform_post_id: string | null;
  permalink: string | null;
  error_code: string | null;
  error_message: string | null;
  error_platform_code: string | null;
  steps: Counter;
  attempts: Counter;
  rate_limited_since: NullableTimestamp;
  lease_id: string | null;
  lease_until: NullableTimestamp;
  next_step_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  published_at: NullableTimestamp;
  completed_at: NullableTimestamp;
}

export type PublicationRow = Selectable<PublicationsTable>;
type PubDb = Kysely<Database & { publications: PublicationsTable }>;
const pubDb = (db: Kysely<Database>): PubDb => db.withTables<{ publications: PublicationsTable }>();

export type NewPublication = Pick<
  PublicationRow,
  | 'id'
  | 'org_id'
  | 'project_id'
  | 'social_account_id'
  | 'platform'
  | 'media_id'
  | 'caption'
  | 'privacy'
  | 'created_at'
  | 'updated_at'
>;

export function createPublishingDal() {
  return {
    async insert(tx: Kysely<Database>, row: NewPublication): Promise<PublicationRow> {
      return pubDb(tx)
        .insertInto('publications')
        .values({ ...row, status: 'queued', checkpoint: '{}' })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    async find(tx: Kysely<Database>, orgId: string, id: string, forUpdate = false) {
      let q = pubDb(tx)
        .selectFrom('publications')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id);
      if (forUpdate) q = q.forUpdate();
      return q.executeTakeFirst();
    },

    async listOfAccount(tx: Kysely<Database>, orgId: string, accountId: string, page: PageParams) {
      return paginate(
        pubDb(tx)
          .selectFrom('publications')
          .selectAll()
          .where('org_id', '=', orgId)
          .where('social_account_id', '=', accountId),
        'id',
        page,
      );
    },

    /** Updates the row; with `leaseId`, only while that lease is still the row's (answers whether it was). */
    async update(
      tx: Kysely<Database>,
      orgId: string,
      id: string,
      patch: Omit<Updateable<PublicationsTable>, 'checkpoint'> & { checkpoint?: PublicationCheckpoint },
      leaseId?: string,
    ): Promise<boolean> {
      const { checkpoint, ...rest } = patch;
      let q = pubDb(tx)
        .updateTable('publications')
        .set({ ...rest, ...(checkpoint ? { checkpoint: JSON.stringify(checkpoint) } : {}) })
        .where('org_id', '=', orgId)
        .where('id', '=', id);
      if (leaseId !== undefined) q = q.where('lease_id', '=', leaseId);
      const r = await q.executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    /** Publications of any org a runner should be working on (system connection). */
    async active(db: Kysely<Database>) {
      return pubDb(db)
        .selectFrom('publications')
        .select(['id', 'org_id', 'lease_until', 'next_step_at'])
        .where('status', 'in', ACTIVE_STATUSES)
        .orderBy('id')
        .limit(1000)
        .execute();
    },
  };
}

export type PublishingDal = ReturnType<typeof createPublishingDal>;
