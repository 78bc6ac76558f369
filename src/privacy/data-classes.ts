import { DAY_MS, HOUR_MS } from '../lib/clock.ts';

/**
 * The data-class registry: what Layers keeps, where, and for how long. The retention sweeper, the
 * retention API, the live data-protection page and the tests all read this one table, so the page
 * and the code cannot drift apart. Durations are milliseconds; `null` means "bound to an event, not
 * a clock" (explained in `retention`).
 */
export type DataClassName =
  | 'request_log'
  | 'idempotency_cache'
  | 'audit_log'
  | 'sdk_events'
  | 'user_profiles'
  | 'generated_media'
  | 'social_accounts'
  | 'post_metadata'
  | 'capi_forward_queue';

export type DataClass = {
  name: DataClassName;
  holds: string;
  /** Tables holding this class (the registry test checks every tenant table is claimed by one class). */
  tables: readonly string[];
  retention: string;
  defaultMs: number | null;
  minMs: number | null;
  maxMs: number | null;
};

const MONTH_13 = 396 * DAY_MS;

export const DATA_CLASSES: readonly DataClass[] = [
  {
    name: 'request_log',
    holds: 'request id, org id, API key id, method, route pattern, status, latency',
    tables: ['request_log'],
    retention: 'Limited operational retention',
    defaultMs: 30 * DAY_MS,
    minMs: 7 * DAY_MS,
    maxMs: 365 * DAY_MS,
  },
  {
    name: 'idempotency_cache',
    holds: 'Idempotency-Key, request hash, replay envelope (status + response body)',
    tables: ['idempotency_keys'],
    retention: 'Replay window',
    defaultMs: 24 * HOUR_MS,
    minMs: HOUR_MS,
    maxMs: 7 * DAY_MS,
  },
  {
    name: 'audit_log',
    holds: 'create/update/delete of projects, keys, webhooks and other configuration',
    tables: ['audit_log', 'audit_chain_heads'],
    retention: 'Partnership duration, then 30 days',
    defaultMs: 30 * DAY_MS,
    minMs: 30 * DAY_MS,
    maxMs: null,
  },
  {
    name: 'sdk_events',
    holds: 'event envelope and hashed identifiers',
    tables: [],
    retention: 'Product analytics retention',
    defaultMs: MONTH_13,
    minMs: 30 * DAY_MS,
    maxMs: 7 * 365 * DAY_MS,
  },
  {
    name: 'user_profiles',
    holds: 'current-state properties derived from events',
    tables: [],
    retention: 'As SDK events',
    defaultMs: MONTH_13,
    minMs: 30 * DAY_MS,
    maxMs: 7 * 365 * DAY_MS,
  },
  {
    name: 'generated_media',
    holds: 'assets of a project',
    tables: [],
    retention: 'Project lifetime plus deletion grace period',
    defaultMs: 30 * DAY_MS,
    minMs: 7 * DAY_MS,
    maxMs: 90 * DAY_MS,
  },
  {
    name: 'social_accounts',
    holds: 'encrypted OAuth tokens, platform user id, handle',
    tables: [],
    retention: 'Until revoked or the partnership ends',
    defaultMs: null,
    minMs: null,
    maxMs: null,
  },
  {
    name: 'post_metadata',
    holds: 'public post ids, engagement metrics, captions',
    tables: [],
    retention: 'As SDK events',
    defaultMs: MONTH_13,
    minMs: 30 * DAY_MS,
    maxMs: 7 * 365 * DAY_MS,
  },
  {
    name: 'capi_forward_queue',
    holds: 'device ids and platform hashes waiting to be forwarded',
    tables: [],
    retention: 'Until forwarded, at most 72 hours',
    defaultMs: 72 * HOUR_MS,
    minMs: null,
    maxMs: 72 * HOUR_MS,
  },
];

export function dataClass(name: DataClassName): DataClass {
  const found = DATA_CLASSES.find((c) => c.name === name);
  if (!found) throw new Error(`unknown data class ${name}`);
  return found;
}

export function defaultRetentionMs(name: DataClassName): number {
  const ms = dataClass(name).defaultMs;
  if (ms === null) throw new Error(`data class ${name} has no clock-based retention`);
  return ms;
}
