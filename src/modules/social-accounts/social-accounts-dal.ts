import {
  type DeleteResult,
  type Insertable,
  type Kysely,
  type Selectable,
  sql,
  type Updateable,
} from 'kysely';
import type { Database } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';
import type { SocialPlatformName } from '../../platforms/social-platform.ts';
import {
  type PostMetadataTable,
  type SocialAccountsTable,
  type SocialOauthStatesTable,
  socialDb,
} from './social-accounts-tables.ts';

// The ciphertext columns are never selected for responses.
const PUBLIC_COLUMNS = [
  'id',
  'org_id',
  'project_id',
  'platform',
  'platform_user_id',
  'handle',
  'grant_user_id',
  'status',
  'scopes',
  'token_expires_at',
  'user_token_expires_at',
  'connected_at',
  'revoked_at',
  'last_synced_at',
] as const;

export type SocialAccountRow = Pick<Selectable<SocialAccountsTable>, (typeof PUBLIC_COLUMNS)[number]>;
export type SocialAccountSecrets = SocialAccountRow &
  Pick<
    Selectable<SocialAccountsTable>,
    | 'encrypted_access_token'
    | 'encrypted_refresh_token'
    | 'encrypted_user_access_token'
    | 'refresh_expires_at'
    | 'refresh_lease_id'
    | 'refresh_lease_until'
    | 'refresh_failures'
    | 'refresh_retry_at'
    | 'sync_not_before'
  >;
const SECRET_COLUMNS = [
  ...PUBLIC_COLUMNS,
  'encrypted_access_token',
  'encrypted_refresh_token',
  'encrypted_user_access_token',
  'refresh_expires_at',
  'refresh_lease_id',
  'refresh_lease_until',
  'refresh_failures',
  'refresh_retry_at',
  'sync_not_before',
] as const;

export type OauthStateRow = Selectable<SocialOauthStatesTable>;
export type PostRow = Selectable<PostMetadataTable>;

type Db = Kysely<Database>;

/** Runs a delete, answering how many rows it removed. */
const deletedRows = async (q: { executeTakeFirst(): Promise<DeleteResult> }): Promise<number> =>
  Number((await q.executeTakeFirst()).numDeletedRows);

/** Accounts of any org (system connection) as their id and org. */
const accountRefs = (db: Db) => socialDb(db).selectFrom('social_accounts').select(['id', 'org_id']);

/** One account of an org, by id (what to select is the caller's). */
const accountById = (db: Db, orgId: string, id: string) =>
  socialDb(db).selectFrom('social_accounts').where('org_id', '=', orgId).where('id', '=', id);

/** How many accounts of a grant still hold an access token, leaving out those whose `column` is `not`. */
async function liveAccountsOfGrantExcept(
  db: Db,
  grantUserId: string,
  column: 'id' | 'org_id',
  not: string,
): Promise<number> {
  const r = await socialDb(db)
    .selectFrom('social_accounts')
    .select(sql<string>`count(*)`.as('n'))
    .where('grant_user_id', '=', grantUserId)
    .where(column, '<>', not)
    .where('encrypted_access_token', 'is not', null)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export function createSocialAccountsDal() {
  return {
    async insertState(tx: Db, row: Insertable<SocialOauthStatesTable>): Promise<void> {
      await socialDb(tx).insertInto('social_oauth_states').values(row).execute();
    },

    /** Takes a state once: the row is deleted as it is read, so a second callback finds nothing. */
    async consumeState(db: Db, stateHash: string): Promise<OauthStateRow | undefined> {
      return socialDb(db)
        .deleteFrom('social_oauth_states')
        .where('state_hash', '=', stateHash)
        .returningAll()
        .executeTakeFirst();
    },

    async deleteExpiredStates(db: Db, now: Date): Promise<number> {
      return deletedRows(socialDb(db).deleteFrom('social_oauth_states').where('expires_at', '<=', now));
    },

    async findIdentity(
      tx: Db,
      key: { orgId: string; projectId: string; platform: SocialPlatformName; platformUserId: string },
    ): Promise<SocialAccountRow | undefined> {
      return socialDb(tx)
        .selectFrom('social_accounts')
        .select(PUBLIC_COLUMNS)
        .where('org_id', '=', key.orgId)
        .where('project_id', '=', key.projectId)
        .where('platform', '=', key.platform)
        .where('platform_user_id', '=', key.platformUserId)
        .forUpdate()
        .executeTakeFirst();
    },

    async insert(tx: Db, row: Insertable<SocialAccountsTable>): Promise<SocialAccountRow> {
      return socialDb(tx)
        .insertInto('social_accounts')
        .values(row)
        .returning(PUBLIC_COLUMNS)
        .executeTakeFirstOrThrow();
    },

    async update(
      tx: Db,
      orgId: string,
      id: string,
      patch: Updateable<SocialAccountsTable>,
    ): Promise<SocialAccountRow> {
      return socialDb(tx)
        .updateTable('social_accounts')
        .set(patch)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .returning(PUBLIC_COLUMNS)
        .executeTakeFirstOrThrow();
    },

    async findById(tx: Db, orgId: string, id: string): Promise<SocialAccountRow | undefined> {
      return accountById(tx, orgId, id).select(PUBLIC_COLUMNS).executeTakeFirst();
    },

    /** The row with its ciphertext, optionally locked (FOR UPDATE) for the transaction. */
    async findSecrets(
      tx: Db,
      orgId: string,
      id: string,
      lock = false,
    ): Promise<SocialAccountSecrets | undefined> {
      let q = accountById(tx, orgId, id).select(SECRET_COLUMNS);
      if (lock) q = q.forUpdate();
      return q.executeTakeFirst();
    },

    async listForProject(tx: Db, orgId: string, projectId: string, page: PageParams) {
      return paginate(
        socialDb(tx)
          .selectFrom('social_accounts')
          .select(PUBLIC_COLUMNS)
          .where('org_id', '=', orgId)
          .where('project_id', '=', projectId),
        'id',
        page,
      );
    },

    /** Accounts of the org that still hold tokens (offboarding revokes them all). */
    async withTokensForOrg(tx: Db, orgId: string): Promise<SocialAccountSecrets[]> {
      return socialDb(tx)
        .selectFrom('social_accounts')
        .select(SECRET_COLUMNS)
        .where('org_id', '=', orgId)
        .where((eb) =>
          eb.or([
            eb('encrypted_access_token', 'is not', null),
            eb('encrypted_refresh_token', 'is not', null),
            eb('encrypted_user_access_token', 'is not', null),
          ]),
        )
        .forUpdate()
        .execute();
    },

    /** Other live accounts (any org) that use the same platform grant (several Pages of one Meta login). */
    async liveAccountsOfGrant(db: Db, grantUserId: string, exceptId: string): Promise<number> {
      return liveAccountsOfGrantExcept(db, grantUserId, 'id', exceptId);
    },

    /** Live accounts of a grant outside one org (offboarding keeps a grant other orgs still use). */
    async liveAccountsOfGrantOutsideOrg(db: Db, grantUserId: string, orgId: string): Promise<number> {
      return liveAccountsOfGrantExcept(db, grantUserId, 'org_id', orgId);
    },

    async deletePostsOfAccounts(db: Db, accountIds: string[]): Promise<number> {
      if (accountIds.length === 0) return 0;
      return deletedRows(
        socialDb(db).deleteFrom('post_metadata').where('social_account_id', 'in', accountIds),
      );
    },

    /** Active accounts (system connection) whose token expires before `before` and may be refreshed now. */
    async expiringSoon(
      db: Db,
      before: Date,
      now: Date,
      limit: number,
    ): Promise<{ id: string; org_id: string }[]> {
      return accountRefs(db)
        .where('status', '=', 'active')
        .where('token_expires_at', '<', before)
        .where('encrypted_refresh_token', 'is not', null)
        .where((eb) => eb.or([eb('refresh_retry_at', 'is', null), eb('refresh_retry_at', '<=', now)]))
        .limit(limit)
        .execute();
    },

    /** Accounts still holding tokens in projects pending deletion (system connection). */
    async withTokensInDeletedProjects(db: Db, limit: number): Promise<{ id: string; org_id: string }[]> {
      return socialDb(db)
        .selectFrom('social_accounts as a')
        .innerJoin('projects as p', 'p.id', 'a.project_id')
        .select(['a.id', 'a.org_id'])
        .where('p.status', '=', 'pending_deletion')
        .where((eb) =>
          eb.or([
            eb('a.encrypted_access_token', 'is not', null),
            eb('a.encrypted_refresh_token', 'is not', null),
            eb('a.encrypted_user_access_token', 'is not', null),
          ]),
        )
        .limit(limit)
        .execute();
    },

    /** Accounts (any org; system connection) of a platform identity or of a grant, for the platforms' callbacks. */
    async findByPlatformIdentity(
      db: Db,
      by: { platforms: SocialPlatformName[]; platformUserId?: string; grantUserId?: string },
    ): Promise<{ id: string; org_id: string }[]> {
      let q = accountRefs(db).where('platform', 'in', by.platforms).where('status', '<>', 'revoked');
      if (by.platformUserId !== undefined) q = q.where('platform_user_id', '=', by.platformUserId);
      if (by.grantUserId !== undefined) q = q.where('grant_user_id', '=', by.grantUserId);
      return q.execute();
    },

    /** Active accounts whose next sync is due (system connection): the cron spreads them over the hour. */
    async dueForSync(
      db: Db,
      now: Date,
      staleBefore: Date,
      limit: number,
    ): Promise<{ id: string; org_id: string }[]> {
      return accountRefs(db)
        .where('status', '=', 'active')
        .where((eb) => eb.or([eb('sync_not_before', 'is', null), eb('sync_not_before', '<=', now)]))
        .where((eb) => eb.or([eb('last_synced_at', 'is', null), eb('last_synced_at', '<', staleBefore)]))
        .orderBy('last_synced_at', (ob) => ob.asc().nullsFirst())
        .limit(limit)
        .execute();
    },

    async upsertPosts(tx: Db, rows: Insertable<PostMetadataTable>[]): Promise<void> {
      if (rows.length === 0) return;
      await socialDb(tx)
        .insertInto('post_metadata')
        .values(rows)
        .onConflict((oc) =>
          oc.columns(['social_account_id', 'platform_post_id']).doUpdateSet((eb) => ({
            caption: eb.ref('excluded.caption'),
            permalink: eb.ref('excluded.permalink'),
            published_at: eb.ref('excluded.published_at'),
            views: eb.ref('excluded.views'),
            likes: eb.ref('excluded.likes'),
            comments: eb.ref('excluded.comments'),
            shares: eb.ref('excluded.shares'),
            collected_at: eb.ref('excluded.collected_at'),
          })),
        )
        .execute();
    },

    async listPosts(tx: Db, orgId: string, accountId: string, limit: number): Promise<PostRow[]> {
      return socialDb(tx)
        .selectFrom('post_metadata')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('social_account_id', '=', accountId)
        .orderBy('published_at', (ob) => ob.desc().nullsLast())
        .orderBy('platform_post_id', 'desc')
        .limit(limit)
        .execute();
    },
  };
}

export type SocialAccountsDal = ReturnType<typeof createSocialAccountsDal>;
