import { DAY_MS, HOUR_MS } from '../lib/clock.ts';
import type { PurgeKind } from './purge-kinds.ts';

export { PURGE_KINDS, type PurgeKind } from './purge-kinds.ts';

/**
 * The data-class registry: what Layers keeps, where, for how long, within which contract bounds, and
 * the kind of purge that enforces it. The retention sweeper, `GET /v1/data-protection/retention`, the
 * live data-protection page, `layers verify` and the tests all read this one list, so the page and the
 * code cannot drift apart.
 *
 * Every table holding tenant data (a column `org_id`) is claimed by exactly one class; a test reads
 * the database catalog and fails when a table is unclaimed, claimed twice, or named here but absent.
 * Adding a class is one entry below: its name joins `DataClassName` by itself.
 *
 * Durations are milliseconds. What a duration counts from is the class's `clock`.
 */
export type RetentionClock =
  /** Purged once `column` is older than the retention. */
  | { kind: 'record_age'; column: string }
  /** `column` holds the end of the retention itself (set from the org's effective value on write). */
  | { kind: 'expiry'; column: string }
  /**
   * Counted from the end of the calendar month in `column` (the month of receipt), so that a month
   * is purged all at once: a partitioned table drops whole partitions instead of deleting rows.
   */
  | { kind: 'month_of_receipt'; column: string }
  /** Like month_of_receipt, for rows derived from events (purged with the month that last shaped them). */
  | { kind: 'month_of_record'; column: string }
  /** Kept for the partnership; purged `retention` after it ends. */
  | { kind: 'partnership' }
  /** Kept while its project exists; purged with the project once its deletion grace period (`retention`) ends. */
  | { kind: 'project_lifetime' }
  /** Deleted when the partner revokes it (by the owning module) or when the partnership ends. */
  | { kind: 'until_revoked' }
  /** Accountability records without personal data: kept with the org record. */
  | { kind: 'kept' };

/** Sections of the data-protection page's "Data categories". */
export type PageSection = 'partner_api' | 'sdk_events' | 'content' | 'account';

export type DataClass = {
  name: string;
  /** How the retention summary names it. */
  title: string;
  holds: string;
  tables: readonly string[];
  clock: RetentionClock;
  /** Another class whose effective retention this one follows ("same as the event it rides on"). */
  follows?: string;
  /** Default retention; null when no clock applies (until revoked, kept). */
  defaultMs: number | null;
  /** Contract bounds for a partner-tier override; null: not adjustable. */
  bounds: { minMs: number; maxMs: number } | null;
  /** The page's own words for this retention. */
  promise: string;
  /** The enforced rule in words, where the clock alone would say it wrong (rows with their own ends). */
  describe?: string;
  /**
   * When the partnership ends: deleted at once (offboarding), after the grace period (the class's
   * own retention for partnership-clock classes, PARTNERSHIP_END_GRACE_MS otherwise), or kept.
   */
  atPartnershipEnd: 'immediately' | 'after_grace' | 'kept';
  page: { section: PageSection; category: string; examples: string };
  /** Which purger enforces the class's clock (registered by the retention module). */
  purge: PurgeKind;
};

/** Time between the end of a partnership and the purge of the org's remaining data (export window). */
export const PARTNERSHIP_END_GRACE_MS = 30 * DAY_MS;

const YEAR_MS = 365 * DAY_MS;
/** Product analytics retention: 13 months, as days (396 ≥ 13 × 30.44). */
const PRODUCT_ANALYTICS_MS = 396 * DAY_MS;

const CLASSES = [
  {
    name: 'request_log',
    title: 'Partner API request logs',
    holds: 'request id, org id, API key id, method, route pattern (never the raw URL), status, latency',
    tables: ['request_log'],
    clock: { kind: 'record_age', column: 'created_at' },
    defaultMs: 30 * DAY_MS,
    bounds: { minMs: 7 * DAY_MS, maxMs: 365 * DAY_MS },
    promise: 'Limited operational retention',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'partner_api',
      category: 'Request metadata',
      examples: 'requestId, org id, API key id, endpoint, status code, latency',
    },
    purge: 'delete_by_age',
  },
  {
    name: 'idempotency_cache',
    title: 'Idempotency cache',
    holds: 'hash of the Idempotency-Key, request hash, replay envelope (status + response body)',
    tables: ['idempotency_keys'],
    clock: { kind: 'expiry', column: 'expires_at' },
    defaultMs: 24 * HOUR_MS,
    bounds: { minMs: HOUR_MS, maxMs: 7 * DAY_MS },
    promise: 'Replay window',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'partner_api',
      category: 'Idempotency cache',
      examples: 'Body hash + replay envelope, keyed on Idempotency-Key',
    },
    purge: 'delete_expired',
  },
  {
    name: 'webhook_deliveries',
    title: 'Webhook deliveries',
    holds:
      'webhook events (type, ids and non-personal fields) and their delivery attempts: time, status code, latency, error code — never a request or response body',
    // Deliveries before the events they reference: the purge deletes tables in this order.
    tables: ['webhook_deliveries', 'webhook_events'],
    clock: { kind: 'record_age', column: 'created_at' },
    defaultMs: 30 * DAY_MS,
    bounds: { minMs: 7 * DAY_MS, maxMs: 90 * DAY_MS },
    promise: 'Limited operational retention',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'partner_api',
      category: 'Webhook deliveries',
      examples: 'Event type and ids, attempts, status codes, latency',
    },
    purge: 'delete_by_age',
  },
  {
    name: 'egress_ledger',
    title: 'Egress ledger',
    holds:
      'one row per call to a sub-processor: org, project, vendor, host, purpose, data classes sent, record and byte counts, status, latency — never a body, header value, token or URL query',
    tables: ['egress_ledger'],
    clock: { kind: 'record_age', column: 'created_at' },
    defaultMs: PRODUCT_ANALYTICS_MS,
    bounds: { minMs: 90 * DAY_MS, maxMs: 7 * YEAR_MS },
    promise: '13 months',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'partner_api',
      category: 'Egress ledger',
      examples: 'Vendor, purpose, data classes, counts per call',
    },
    purge: 'delete_by_age',
  },
  {
    name: 'audit_log',
    title: 'Audit log',
    holds: 'create/update/delete of projects, keys, webhooks and other configuration, hash-chained per org',
    tables: ['audit_log', 'audit_chain_heads'],
    clock: { kind: 'partnership' },
    defaultMs: 30 * DAY_MS,
    bounds: { minMs: 30 * DAY_MS, maxMs: 7 * YEAR_MS },
    promise: 'Queryable via GET /v1/audit-log for the current partnership duration',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'partner_api',
      category: 'Audit log',
      examples: 'Create/update/delete on projects, keys, webhooks',
    },
    purge: 'none',
  },
  {
    name: 'sdk_events',
    title: 'Customer SDK events',
    holds:
      'event envelope (event name, user_id, timestamps, app id, properties), SHA-256 of email/phone, country/region',
    tables: ['sdk_events'],
    clock: { kind: 'month_of_receipt', column: 'received_month' },
    defaultMs: PRODUCT_ANALYTICS_MS,
    bounds: { minMs: 30 * DAY_MS, maxMs: 7 * YEAR_MS },
    promise: 'Product analytics retention',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'sdk_events',
      category: 'Event envelope',
      examples: 'Event name, user_id, timestamp, app id, properties JSON',
    },
    purge: 'drop_monthly_partitions',
  },
  {
    name: 'user_profiles',
    title: 'Current-state user profiles',
    holds:
      'properties established by identify events, SHA-256 of email/phone (never the raw values), each kept while a stored event carries it',
    tables: ['user_profiles'],
    clock: { kind: 'month_of_record', column: 'updated_at' },
    follows: 'sdk_events',
    defaultMs: PRODUCT_ANALYTICS_MS,
    bounds: null,
    promise: 'Same as the events they are derived from',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'sdk_events',
      category: 'Current-state profiles',
      examples: 'Traits from identify events, hashed identifiers',
    },
    purge: 'profiles_by_month',
  },
  {
    name: 'anonymous_ids',
    title: 'Anonymous-id links',
    holds:
      "which anonymous (device-generated) ids an identify linked to a user id, so that the user's export and erasure cover the events sent before they were known",
    tables: ['anonymous_ids'],
    clock: { kind: 'month_of_record', column: 'updated_at' },
    follows: 'sdk_events',
    defaultMs: PRODUCT_ANALYTICS_MS,
    bounds: null,
    promise: 'Same as the events they are derived from',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'sdk_events',
      category: 'Anonymous ids',
      examples: 'Device-generated id sent before identify, linked to the user id',
    },
    purge: 'delete_by_month',
  },
  {
    name: 'generated_media',
    title: 'Generated media',
    holds:
      'video/image assets produced for a project (files in the media store and their rows), the briefs and generated copy they came from, and their ad deployments (headline, body, budget, the platform ids of the paused ads; for TikTok the encrypted advertiser token, deleted when the deployment is cancelled or the partnership ends) and publications (caption, privacy, the platform ids of the post, per-account call budgets)',
    tables: ['generations', 'media_assets', 'ad_deployments', 'publications', 'publishing_budget'],
    clock: { kind: 'project_lifetime' },
    defaultMs: 30 * DAY_MS,
    bounds: { minMs: 7 * DAY_MS, maxMs: 90 * DAY_MS },
    promise: 'Project lifetime plus deletion grace period',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'content',
      category: 'Generated media',
      examples: 'Video/image assets produced for your projects',
    },
    purge: 'none',
  },
  {
    name: 'social_accounts',
    title: 'OAuth tokens',
    holds: 'encrypted OAuth tokens, platform user id, handle of connected social accounts',
    tables: ['social_accounts', 'social_oauth_states'],
    clock: { kind: 'until_revoked' },
    defaultMs: null,
    bounds: null,
    promise: 'Until you revoke the account or the partnership ends',
    atPartnershipEnd: 'immediately',
    page: {
      section: 'content',
      category: 'Social-account metadata',
      examples: 'Encrypted OAuth tokens, platform user id, handle',
    },
    purge: 'none',
  },
  {
    name: 'post_metadata',
    title: 'Public post metadata',
    holds: 'post ids, engagement metrics and captions from connected accounts',
    tables: ['post_metadata'],
    clock: { kind: 'month_of_record', column: 'collected_at' },
    follows: 'sdk_events',
    defaultMs: PRODUCT_ANALYTICS_MS,
    bounds: null,
    promise: 'Product analytics retention',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'content',
      category: 'Public post metadata',
      examples: 'Post IDs, engagement metrics, captions from connected accounts',
    },
    purge: 'delete_by_month',
  },
  {
    name: 'capi_forward_queue',
    title: 'Conversions API forward queue',
    holds: 'device ids (IDFA/GAID) and platform hashes waiting to be forwarded to an enabled Conversions API',
    tables: ['capi_forward_queue'],
    clock: { kind: 'record_age', column: 'created_at' },
    defaultMs: 72 * HOUR_MS,
    bounds: null,
    promise: 'Not persisted server-side after forward; at most 72 hours while waiting',
    atPartnershipEnd: 'immediately',
    page: {
      section: 'sdk_events',
      category: 'Device ids (IDFA/GAID)',
      examples: 'Forwarded to platform CAPI when enabled',
    },
    purge: 'delete_by_age',
  },
  {
    name: 'capi_destinations',
    title: 'Conversions API destinations',
    holds:
      "a project's Meta CAPI / TikTok Events destinations: pixel or event source id, event map, test code, the access token (encrypted, never shown again)",
    tables: ['destinations'],
    clock: { kind: 'until_revoked' },
    defaultMs: null,
    bounds: null,
    promise: 'Until you remove the destination or the partnership ends',
    atPartnershipEnd: 'immediately',
    page: {
      section: 'account',
      category: 'Conversions API destinations',
      examples: 'Pixel/event source id, event map, encrypted access token',
    },
    purge: 'none',
  },
  {
    name: 'capi_forward_stats',
    title: 'Conversions API forwarding statistics',
    holds:
      'per destination and hour: events queued, sent, rejected by platform error code, dropped, expired; queue age',
    tables: ['capi_forward_stats'],
    clock: { kind: 'record_age', column: 'hour' },
    defaultMs: 90 * DAY_MS,
    bounds: null,
    promise: 'Limited operational retention',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'partner_api',
      category: 'Forwarding statistics',
      examples: 'Counts per destination and hour (no event content)',
    },
    purge: 'delete_by_age',
  },
  {
    name: 'partner_config',
    title: 'Partner configuration',
    holds:
      'projects, API key metadata (SHA-256 of keys, never the key), webhook endpoints (signing secrets encrypted), contracted retention terms',
    tables: ['projects', 'api_keys', 'webhook_endpoints', 'retention_overrides'],
    clock: { kind: 'partnership' },
    defaultMs: PARTNERSHIP_END_GRACE_MS,
    bounds: null,
    promise: 'Partnership duration, then 30 days',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'account',
      category: 'Partner configuration',
      examples: 'Projects, API key metadata, webhook endpoints, retention terms',
    },
    purge: 'none',
  },
  {
    name: 'dpa_requests',
    title: 'DPA requests',
    holds: 'signatory entity, countries of processing, governing law, special requirements, status',
    tables: ['dpa_requests'],
    clock: { kind: 'partnership' },
    defaultMs: PARTNERSHIP_END_GRACE_MS,
    bounds: null,
    promise: 'Partnership duration, then 30 days',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'account',
      category: 'DPA requests',
      examples: 'Signatory entity, countries of processing, governing law, special requirements',
    },
    purge: 'none',
  },
  {
    name: 'data_subject_requests',
    title: 'Data-subject request receipts',
    holds:
      'request type and status, counts erased per data class, a hash of the subject (the raw user_id only while an erasure runs), suppression hashes that refuse an erased user’s later events',
    tables: ['data_subject_requests', 'suppressions'],
    clock: { kind: 'partnership' },
    defaultMs: PARTNERSHIP_END_GRACE_MS,
    bounds: null,
    promise: 'Partnership duration, then 30 days (removed with their project)',
    atPartnershipEnd: 'after_grace',
    page: {
      section: 'account',
      category: 'Data-subject request receipts',
      examples: 'Request status, counts erased per data class, subject hash',
    },
    purge: 'none',
  },
  {
    name: 'console_accounts',
    title: 'Console accounts (partner representatives)',
    holds:
      'representatives’ email (ciphertext, and SHA-256 for sign-in), role, scrypt password hash, TOTP secret (ciphertext), SHA-256 of recovery codes, sessions (SHA-256 of the token, user agent, times), invitations, sign-in failure counts under hashes',
    tables: [
      'console_accounts',
      'console_sessions',
      'console_invitations',
      'console_recovery_codes',
      'console_org_settings',
      'console_login_throttle',
    ],
    // Each row carries its own end (NULL: for the account's lifetime): sessions 12 h, invitations 24 h.
    clock: { kind: 'expiry', column: 'expires_at' },
    defaultMs: 12 * HOUR_MS,
    bounds: null,
    promise: 'Account lifetime; sessions 12 hours, invitations 24 hours, sign-in failure counts 15 minutes',
    describe:
      'For the life of the account (deleted with it, or when the partnership ends); sessions end after 12 hours, invitations after 24 hours, sign-in failure counts after 15 minutes',
    atPartnershipEnd: 'immediately',
    page: {
      section: 'account',
      category: 'Console accounts (Layers is the controller)',
      examples: 'Representatives’ email, role, password hash, MFA secret (encrypted), sessions',
    },
    purge: 'delete_expired',
  },
  {
    name: 'deletion_records',
    title: 'Deletion records',
    holds: 'which data class of an org was purged when, and how many rows (no personal data)',
    tables: ['org_purge_schedule'],
    clock: { kind: 'kept' },
    defaultMs: null,
    bounds: null,
    promise: 'Kept with the org record, as proof that the data was deleted',
    atPartnershipEnd: 'kept',
    page: {
      section: 'account',
      category: 'Deletion records',
      examples: 'Data class, scheduled and completed dates, row counts',
    },
    purge: 'none',
  },
] as const satisfies readonly DataClass[];

export type DataClassName = (typeof CLASSES)[number]['name'];

export const DATA_CLASSES: readonly DataClass[] = CLASSES;

/**
 * What the page lists but Layers never stores (or stores only as another class): rendered from here
 * so the page's data-category tables come from one source too.
 */
export const NOT_STORED_CATEGORIES: readonly {
  section: PageSection;
  category: string;
  examples: string;
  retention: string;
  /** Stored only as part of this class, with its retention. */
  sameAs?: DataClassName;
}[] = [
  {
    section: 'partner_api',
    category: 'Request/response bodies',
    examples: 'Full JSON',
    retention: 'Not persisted beyond in-memory request scope (the idempotency replay envelope aside)',
  },
  {
    section: 'sdk_events',
    category: 'Hashed identifiers',
    examples: 'SHA-256 of email/phone',
    retention: 'Same as event envelope',
    sameAs: 'sdk_events',
  },
  {
    section: 'sdk_events',
    category: 'Raw email/phone',
    examples: 'Not persisted - hashed before storage',
    retention: 'N/A',
  },
  {
    section: 'sdk_events',
    category: 'IP address',
    examples: 'Resolved to country/region at ingest, then dropped',
    retention: 'Not persisted',
  },
];

export function isDataClassName(name: string): name is DataClassName {
  return DATA_CLASSES.some((c) => c.name === name);
}

export function dataClass(name: DataClassName): DataClass {
  const found = DATA_CLASSES.find((c) => c.name === name);
  if (!found) throw new Error(`unknown data class ${name}`);
  return found;
}

/** The class whose retention values `cls` uses: itself, or the class it follows. */
export function retentionSource(cls: DataClass): DataClass {
  return cls.follows ? dataClass(cls.follows as DataClassName) : cls;
}

/** Classes a partner-tier contract may adjust (they have bounds and follow no other class). */
export function isAdjustable(cls: DataClass): boolean {
  return cls.bounds !== null && cls.follows === undefined;
}
