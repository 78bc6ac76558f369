import type { ColumnType } from 'kysely';

/** Row types of the tables the app queries (Kysely's view of the schema in migrations/). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface OrgsTable {
  id: string;
  name: string;
  tier: 'standard' | 'partner';
  status: 'active' | 'offboarded';
  created_at: Timestamp;
  offboarded_at: Timestamp | null;
}

export interface ProjectsTable {
  id: string;
  org_id: string;
  name: string;
  status: 'active' | 'pending_deletion';
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
  purge_after: Timestamp | null;
  pii_policy: ColumnType<'hash' | 'reject', 'hash' | 'reject' | undefined, 'hash' | 'reject'>;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  project_id: string | null;
  type: 'secret' | 'publishable';
  name: string;
  key_hash: string;
  last4: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

export interface WebhookEndpointsTable {
  id: string;
  org_id: string;
  url: string;
  description: string | null;
  events: string[];
  status: 'enabled' | 'disabled';
  encrypted_secret: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AuditLogTable {
  id: string;
  org_id: string;
  seq: ColumnType<string, number | string, never>;
  action: string;
  actor_type: 'api_key' | 'user' | 'system';
  actor_id: string | null;
  resource_type: string;
  resource_id: string;
  changes: ColumnType<unknown, string, never>;
  request_id: string | null;
  created_at: Timestamp;
  prev_hash: string;
  hash: string;
}

export interface AuditChainHeadsTable {
  org_id: string;
  seq: ColumnType<string, number | string, number | string>;
  hash: string;
}

export interface RequestLogTable {
  id: string;
  org_id: string;
  api_key_id: string | null;
  method: string;
  route: string;
  status: number;
  latency_ms: number;
  created_at: Timestamp;
}

export interface IdempotencyKeysTable {
  org_id: string;
  key: string;
  request_hash: string;
  status_code: number;
  response_body: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface SdkEventsTable {
  id: string;
  org_id: string;
  project_id: string;
  event_id: string;
  type: 'track' | 'identify';
  event: string | null;
  user_id: string;
  timestamp: Timestamp;
  received_at: Timestamp;
  received_month: ColumnType<Date, Date | string, never>;
  app_id: string | null;
  properties: ColumnType<Record<string, unknown>, string, never>;
  traits: ColumnType<Record<string, unknown>, string, never>;
  email_sha256: string | null;
  phone_sha256: string | null;
  geo_country: string | null;
  geo_region: string | null;
}

export interface UserProfilesTable {
  org_id: string;
  project_id: string;
  user_id: string;
  properties: ColumnType<Record<string, unknown>, string, string>;
  properties_at: Timestamp | null;
  email_sha256: string[];
  phone_sha256: string[];
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DataSubjectRequestsTable {
  id: string;
  org_id: string;
  project_id: string;
  type: 'erasure';
  status: 'pending' | 'running' | 'completed';
  user_id: string | null;
  subject_sha256: string;
  suppress: boolean;
  erased: ColumnType<Record<string, number>, string | undefined, string>;
  requested_by: string | null;
  request_id: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  completed_at: Timestamp | null;
}

export interface SuppressionsTable {
  org_id: string;
  project_id: string;
  subject_sha256: string;
  dsr_id: string | null;
  created_at: Timestamp;
}

export interface Database {
  orgs: OrgsTable;
  projects: ProjectsTable;
  api_keys: ApiKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  audit_log: AuditLogTable;
  audit_chain_heads: AuditChainHeadsTable;
  request_log: RequestLogTable;
  idempotency_keys: IdempotencyKeysTable;
  sdk_events: SdkEventsTable;
  user_profiles: UserProfilesTable;
  data_subject_requests: DataSubjectRequestsTable;
  suppressions: SuppressionsTable;
}
