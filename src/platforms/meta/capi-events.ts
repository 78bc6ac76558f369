import type { EventCheck, ForwardEvent, PlatformVerdict } from '../../modules/destinations/forward-event.ts';

/**
 * Meta Conversions API, app events (developers.facebook.com/documentation/ads-commerce/conversions-api:
 * "Using the API", "App events", "Parameters"): `POST https://graph.facebook.com/{version}/{dataset_id}/events`
 * with `data` (≤ 1,000 server events) and optional `test_event_code`; the access token as the
 * `access_token` query parameter.
 *
 * - One invalid event, or one `event_time` older than 7 days, rejects the whole request: each event
 *   is checked here first (`checkMetaEvent`), and a request refused anyway is split by the forwarder.
 * - App events: `action_source: "app"`, `app_data.advertiser_tracking_enabled` (0/1) and the 16-slot
 *   `app_data.extinfo` (missing values as empty strings; slot 0 `i2`/`a2` and slot 4, the OS
 *   version, required).
 * - `user_data.em`, `ph`, `external_id`, `country`: SHA-256 hex of the normalized values (phone:
 *   digits with the country code, no `+`); `madid` unhashed. At least one strong identifier.
 * - `event_time` in seconds; `event_id` + `event_name` deduplicate against the app's own SDK (48 h).
 */
export const META_GRAPH_HOST = 'graph.facebook.com';
export const META_GRAPH_VERSION = 'v25.0';
export const META_MAX_BATCH = 1_000;
export const META_MAX_AGE_S = 7 * 24 * 3600;
/** Identifies the platform sending on the advertiser's behalf (Meta asks partners for one). */
export const META_PARTNER_AGENT = 'layers';

export function metaEventsUrl(datasetId: string): string {
  return `https://${META_GRAPH_HOST}/${META_GRAPH_VERSION}/${encodeURIComponent(datasetId)}/events`;
}

export type MetaServerEvent = {
  event_name: string;
  event_time: number;
  event_id: string;
  action_source: 'app';
  user_data: {
    em?: string[];
    ph?: string[];
    external_id?: string[];
    country?: string[];
    madid?: string;
  };
  custom_data?: Record<string, unknown> | undefined;
  app_data: { advertiser_tracking_enabled: 0 | 1; application_tracking_enabled: 0 | 1; extinfo: string[] };
};

/** The 16 extinfo slots, in Meta's order; what the SDK event does not say is an empty string. */
export function metaExtinfo(d: ForwardEvent['device']): string[] {
  const platform = d.platform === 'ios' ? 'i2' : d.platform === 'android' ? 'a2' : '';
  // biome-ignore format: one slot per column, as Meta numbers them
  return [
    platform, d.app_id ?? '', d.app_version ?? '', d.app_build ?? '', d.os_version ?? '', d.model ?? '',
    d.locale ?? '', '', '', '', '', '', '', '', '', d.timezone ?? '',
  ];
}

/** Whether Meta would accept this event on its own (so that it cannot sink the batch it rides in). */
export function checkMetaEvent(e: ForwardEvent, nowS: number): EventCheck {
  if (nowS - e.time > META_MAX_AGE_S) return { ok: false, drop: 'too_old' };
  if (!e.device.platform) return { ok: false, reject: 'missing_platform' };
  if (!e.device.os_version) return { ok: false, reject: 'missing_os_version' };
  const madid = e.device.tracking === true ? (e.device.idfa ?? e.device.gaid) : undefined;
  if (!e.hashes.email && !e.hashes.phone && !e.hashes.external_id && !madid)
    return { ok: false, reject: 'no_identifier' };
  return { ok: true };
}

export function toMetaServerEvent(e: ForwardEvent): MetaServerEvent {
  const user: MetaServerEvent['user_data'] = {};
  if (e.hashes.email) user.em = [e.hashes.email];
  if (e.hashes.phone) user.ph = [e.hashes.phone];
  if (e.hashes.external_id) user.external_id = [e.hashes.external_id];
  if (e.hashes.country) user.country = [e.hashes.country];
  // Device ids reach the queue only with consent; checked again here.
  const madid = e.device.tracking === true ? (e.device.idfa ?? e.device.gaid) : undefined;
  if (madid) user.madid = madid.toLowerCase();
  // Made only when a value is there (a call carries up to 1,000 events: no entry arrays, no spread).
  let custom: Record<string, unknown> | undefined;
  const values = e.custom as Record<string, unknown>;
  for (const k of Object.keys(values)) {
    if (values[k] === undefined) continue;
    custom ??= {};
    custom[k] = values[k];
  }
  return {
    event_name: e.name,
    event_time: e.time,
    event_id: e.event_id,
    action_source: 'app',
    user_data: user,
    // Undefined when empty: the body is serialized, which leaves it out.
    custom_data: custom,
    app_data: {
      advertiser_tracking_enabled: e.device.tracking === true ? 1 : 0,
      application_tracking_enabled: 1,
      extinfo: metaExtinfo(e.device),
    },
  };
}

export function metaRequestBody(events: ForwardEvent[], testEventCode: string | null) {
  return {
    data: events.map(toMetaServerEvent),
    partner_agent: META_PARTNER_AGENT,
    ...(testEventCode ? { test_event_code: testEventCode } : {}),
  };
}

type MetaError = { error?: { code?: number; error_subcode?: number; is_transient?: boolean } };

/** Graph API error codes that are worth a retry (temporary, throttling) and that mean a bad token. */
const RETRYABLE_CODES = new Set([1, 2, 4, 17, 32, 341, 368, 613, 80003, 80004]);
const TOKEN_CODES = new Set([102, 190]);

/** What Meta's answer means for the batch: HTTP status plus the Graph error envelope. */
export function classifyMetaAnswer(status: number | undefined, body: Buffer | undefined): PlatformVerdict {
  if (status !== undefined && status >= 200 && status < 300) return { kind: 'ok' };
  if (status === undefined) return { kind: 'retry', code: 'network' };
  let parsed: MetaError = {};
  try {
    parsed = JSON.parse(body?.toString('utf8') ?? '{}') as MetaError;
  } catch {
    // Not JSON: decided by the status alone.
  }
  const code = parsed.error?.code;
  const sub = parsed.error?.error_subcode;
  const label = code === undefined ? `http_${status}` : sub === undefined ? `${code}` : `${code}/${sub}`;
  if (code !== undefined && TOKEN_CODES.has(code)) return { kind: 'bad_token', code: label };
  if (status === 401) return { kind: 'bad_token', code: label };
  if (status >= 500 || status === 429 || status === 408) return { kind: 'retry', code: label };
  if (code !== undefined && (RETRYABLE_CODES.has(code) || parsed.error?.is_transient === true))
    return { kind: 'retry', code: label };
  return { kind: 'rejected', code: label };
}
