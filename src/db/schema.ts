import type { ColumnType } from 'kysely';
import type { GenerationsTable, MediaAssetsTable } from './schema-generation.ts';

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
  previous_encrypted_secret: ColumnType<string | null, string | null | undefined, string | null>;
  previous_secret_expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  failing_since: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  disabled_reason: ColumnType<
    'gone' | 'failing' | null,
    'gone' | 'failing' | null | undefined,
    'gone' | 'failing' | null
  >;
}

export interface WebhookEventsTable {
  id: string;
  org_id: string;
  type: string;
  data: ColumnType<Record<string, unknown>, string, never>;
  created_at: Timestamp;
}

/** One attempt's outcome as kept on its delivery: never a request or response body. */
export type WebhookAttemptRecord = {
  attempt: number;
  attempted_at: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
};

export interface WebhookDeliveriesTable {
  id: string;
  org_id: string;
  endpoint_id: string;
  event_id: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempt_count: ColumnType<number, number | undefined, number>;
  attempts: ColumnType<WebhookAttemptRecord[], string | undefined, string>;
  next_attempt_at: Timestamp | null;
  lease_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: Timestamp;
  completed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
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
  /** NULL when the response carries a secret: it is then only in `encrypted_response_body`. */
  response_body: string | null;
  encrypted_response_body: ColumnType<string | null, string | null | undefined, string | null>;
  /** References of the data subjects the request or response names (idempotency-subjects.ts). */
  subjects: ColumnType<string[], string[] | undefined, string[]>;
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
  /** Null for an event sent before the user was known (then `anonymous_id` is set; migration 0015). */
  user_id: string | null;
  anonymous_id: string | null;
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
  /** Month of receipt of the latest event carrying each hash, parallel to the array (migration 0013). */
  email_sha256_months: ColumnType<unknown, never, never>;
  phone_sha256_months: ColumnType<unknown, never, never>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Anonymous (device) ids linked to a user by an identify that carried both (migration 0015). */
export interface AnonymousIdsTable {
  org_id: string;
  project_id: string;
  anonymous_id: string;
  user_id: string;
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

export interface RetentionOverridesTable {
  org_id: string;
  data_class: string;
  retention_ms: ColumnType<string, number, number>;
  updated_at: Timestamp;
}

export interface OrgPurgeScheduleTable {
  org_id: string;
  data_class: string;
  purge_at: Timestamp;
  purged_at: Timestamp | null;
  rows_purged: ColumnType<string | null, number | null | undefined, number | null>;
}

export interface DpaRequestsTable {
  id: string;
  org_id: string;
  status: 'received' | 'in_review' | 'sent_for_signature' | 'countersigned' | 'declined';
  signatory_entity: string;
  countries_of_processing: string[];
  governing_law: string;
  special_requirements: string[];
  transfer_mechanisms: ColumnType<unknown, string, never>;
  review_flags: ColumnType<unknown, string, never>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** The egress ledger (migration 0014): counts and classes of what left for a vendor, never content. */
export interface EgressLedgerTable {
  id: string;
  org_id: string;
  project_id: string | null;
  vendor: string;
  host: string;
  purpose: string;
  data_classes: string[];
  records: number;
  bytes_out: ColumnType<string, number, never>;
  bytes_in: ColumnType<string, number, never>;
  attempts: number;
  status: number | null;
  outcome: string;
  latency_ms: number;
  created_at: Timestamp;
}

export interface Database {
  orgs: OrgsTable;
  projects: ProjectsTable;
  api_keys: ApiKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  audit_log: AuditLogTable;
  audit_chain_heads: AuditChainHeadsTable;
  request_log: RequestLogTable;
  idempotency_keys: IdempotencyKeysTable;
  sdk_events: SdkEventsTable;
  user_profiles: UserProfilesTable;
  anonymous_ids: AnonymousIdsTable;
  data_subject_requests: DataSubjectRequestsTable;
  suppressions: SuppressionsTable;
  retention_overrides: RetentionOverridesTable;
  org_purge_schedule: OrgPurgeScheduleTable;
  dpa_requests: DpaRequestsTable;
  egress_ledger: EgressLedgerTable;
  generations: GenerationsTable;
  media_assets: MediaAssetsTable;
}
