import type { ColumnType, Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { SocialPlatformName } from '../../platforms/social-platform.ts';

/** Row types of migration 0017's tables (Kysely's view), kept with the module that owns them. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type SocialAccountStatus = 'active' | 'needs_reconnect' | 'revoked';

export interface SocialAccountsTable {
  id: string;
  org_id: string;
  project_id: string;
  platform: SocialPlatformName;
  platform_user_id: string;
  handle: string | null;
  grant_user_id: string | null;
  status: SocialAccountStatus;
  scopes: string[];
  encrypted_access_token: ColumnType<string | null, string | null | undefined, string | null>;
  encrypted_refresh_token: ColumnType<string | null, string | null | undefined, string | null>;
  /** Meta: the login's long-lived user token (0026), for the Marketing API's ad-account calls. */
  encrypted_user_access_token: ColumnType<string | null, string | null | undefined, string | null>;
  /** When that user token expires (0028; null: unknown, or no user token). */
  user_token_expires_at: NullableTimestamp;
  token_expires_at: NullableTimestamp;
  refresh_expires_at: NullableTimestamp;
  refresh_lease_id: ColumnType<string | null, string | null | undefined, string | null>;
  refresh_lease_until: NullableTimestamp;
  refresh_failures: ColumnType<number, number | undefined, number>;
  refresh_retry_at: NullableTimestamp;
  sync_not_before: NullableTimestamp;
  last_synced_at: NullableTimestamp;
  connected_at: Timestamp;
  revoked_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SocialOauthStatesTable {
  state_hash: string;
  org_id: string;
  project_id: string;
  platform: SocialPlatformName;
  return_url: string;
  encrypted_code_verifier: string;
  expires_at: Timestamp;
  created_at: Timestamp;
}

export interface PostMetadataTable {
  org_id: string;
  project_id: string;
  social_account_id: string;
  platform: string;
  platform_post_id: string;
  caption: string | null;
  permalink: string | null;
  published_at: NullableTimestamp;
  views: ColumnType<string | null, number | null, number | null>;
  likes: ColumnType<string | null, number | null, number | null>;
  comments: ColumnType<string | null, number | null, number | null>;
  shares: ColumnType<string | null, number | null, number | null>;
  collected_at: Timestamp;
}

export type SocialTables = {
  social_accounts: SocialAccountsTable;
  social_oauth_states: SocialOauthStatesTable;
  post_metadata: PostMetadataTable;
};

export type SocialDb = Kysely<Database & SocialTables>;

/** The same connection or transaction, seeing this module's tables too. */
export const socialDb = (db: Kysely<Database>): SocialDb => db.withTables<SocialTables>();
