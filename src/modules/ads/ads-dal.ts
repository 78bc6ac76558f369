import type { ColumnType, Kysely, Selectable, Updateable } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { type PageParams, paginate } from '../../lib/pagination.ts';
import type { AdCheckpoint } from '../../platforms/ads-port.ts';

/** Row type of migration 0022's table and 0024's columns (Kysely's view), kept with the module that owns it. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type AdDeploymentStatus = 'queued' | 'creating' | 'created' | 'failed' | 'cancelling' | 'cancelled';
export const ACTIVE_STATUSES: readonly AdDeploymentStatus[] = ['queued', 'creating', 'cancelling'];

export interface AdDeploymentsTable {
  id: string;
  org_id: string;
  project_id: string;
  platform: 'meta' | 'tiktok';
  social_account_id: string;
  ad_account_id: string;
  media_id: string;
  headline: string;
  body: string;
  daily_budget_cents: number;
  countries: string[];
  /** TikTok: the ad identity's display name (migration 0024). */
  display_name: string | null;
  /** TikTok: the advertiser access token given with the deployment, envelope ciphertext (0024). */
  encrypted_advertiser_token: string | null;
  status: AdDeploymentStatus;
  checkpoint: ColumnType<AdCheckpoint, string, string>;
  error_code: string | null;
  error_message: string | null;
  error_platform_code: string | null;
  attempts: ColumnType<number, number | undefined, number>;
  lease_id: string | null;
  lease_until: NullableTimestamp;
  next_step_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  completed_at: NullableTimestamp;
}

export type AdDeploymentRow = Selectable<AdDeploymentsTable>;
type AdsDb = Kysely<Database & { ad_deployments: AdDeploymentsTable }>;
const adsDb = (db: Kysely<Database>): AdsDb => db.withTables<{ ad_deployments: AdDeploymentsTable }>();

export function createAdsDal() {
  return {
    async insert(
      tx: Kysely<Database>,
      row: Omit<
        AdDeploymentRow,
        | 'checkpoint'
        | 'error_code'
        | 'error_message'
        | 'error_platform_code'
        | 'attempts'
        | 'lease_id'
        | 'lease_until'
        | 'next_step_at'
        | 'completed_at'
      >,
    ): Promise<AdDeploymentRow> {
      return adsDb(tx)
        .insertInto('ad_deployments')
        .values({ ...row, checkpoint: '{}' })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    async find(tx: Kysely<Database>, orgId: string, id: string, forUpdate = false) {
      let q = adsDb(tx)
        .selectFrom('ad_deployments')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id);
      if (forUpdate) q = q.forUpdate();
      return q.executeTakeFirst();
    },

    async list(tx: Kysely<Database>, orgId: string, projectId: string, page: PageParams) {
      return paginate(
        adsDb(tx)
          .selectFrom('ad_deployments')
          .selectAll()
          .where('org_id', '=', orgId)
          .where('project_id', '=', projectId),
        'id',
        page,
      );
    },

    /** Updates the row; with `leaseId`, only while that lease is still the row's (answers whether it was). */
    async update(
      tx: Kysely<Database>,
      orgId: string,
      id: string,
      patch: Omit<Updateable<AdDeploymentsTable>, 'checkpoint'> & { checkpoint?: AdCheckpoint },
      leaseId?: string,
    ): Promise<boolean> {
      const { checkpoint, ...rest } = patch;
      let q = adsDb(tx)
        .updateTable('ad_deployments')
        .set({ ...rest, ...(checkpoint ? { checkpoint: JSON.stringify(checkpoint) } : {}) })
        .where('org_id', '=', orgId)
        .where('id', '=', id);
      if (leaseId !== undefined) q = q.where('lease_id', '=', leaseId);
      const r = await q.executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    /** Forgets every advertiser token of the org (the partnership ended: tokens go at once, rows later). */
    async forgetTokens(tx: Kysely<Database>, orgId: string): Promise<number> {
      const r = await adsDb(tx)
        .updateTable('ad_deployments')
        .set({ encrypted_advertiser_token: null })
        .where('org_id', '=', orgId)
        .where('encrypted_advertiser_token', 'is not', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    /** Deployments of any org that a runner should be working on (system connection): id, org, lease end. */
    async active(db: Kysely<Database>) {
      return adsDb(db)
        .selectFrom('ad_deployments')
        .select(['id', 'org_id', 'lease_until', 'next_step_at'])
        .where('status', 'in', ACTIVE_STATUSES)
        .orderBy('id')
        .limit(1000)
        .execute();
    },
  };
}

export type AdsDal = ReturnType<typeof createAdsDal>;
