import type { EventCheck, ForwardEvent, PlatformVerdict } from '../../modules/destinations/forward-event.ts';

/**
 * TikTok Events API 2.0 (v1.3), app events: `POST https://business-api.tiktok.com/open_api/v1.3/event/track/`
 * with header `Access-Token`, body `{event_source: "app", event_source_id: <TikTok App ID>,
 * test_event_code?, data: [...]}` (≤ 1,000 events). Each event: `event`, `event_time` (seconds),
 * `event_id` (dedup with the app's SDK), `user` (`email`, `phone` as SHA-256 hex — the phone
 * normalized to `+E.164` before hashing —, `external_id` hashed, `idfa` / `gaid` unhashed as the
 * TikTok-maintained app integration sends them, `att_status`, `locale`), `properties`, `app`.
 * Success is `code: 0` inside an HTTP 200: any other code is a failure even with status 200.
 */
export const TIKTOK_EVENTS_HOST = 'business-api.tiktok.com';
export const TIKTOK_EVENTS_URL = `https://${TIKTOK_EVENTS_HOST}/open_api/v1.3/event/track/`;
export const TIKTOK_MAX_BATCH = 1_000;

export type TikTokAppEvent = {
  event: string;
  event_time: number;
  event_id: string;
  user: {
    email?: string;
    phone?: string;
    external_id?: string;
    idfa?: string;
    gaid?: string;
    att_status?: 'AUTHORIZED' | 'DENIED' | 'NOT_DETERMINED' | 'NOT_APPLICABLE';
    locale?: string;
  };
  properties?: Record<string, unknown>;
  app?: { app_id: string; app_version?: string };
};

export function checkTikTokEvent(e: ForwardEvent): EventCheck {
  const consented = e.device.tracking === true;
  if (
    !e.hashes.email &&
    !e.hashes.phone &&
    !e.hashes.external_id &&
    !(consented && (e.device.idfa || e.device.gaid))
  )
    return { ok: false, reject: 'no_identifier' };
  return { ok: true };
}

function attStatus(d: ForwardEvent['device']): TikTokAppEvent['user']['att_status'] {
  if (d.platform !== 'ios') return d.platform === 'android' ? 'NOT_APPLICABLE' : undefined;
  if (d.tracking === undefined) return 'NOT_DETERMINED';
  return d.tracking ? 'AUTHORIZED' : 'DENIED';
}

export function toTikTokEvent(e: ForwardEvent): TikTokAppEvent {
  const user: TikTokAppEvent['user'] = {};
  if (e.hashes.email) user.email = e.hashes.email;
  if (e.hashes.phone) user.phone = e.hashes.phone;
  if (e.hashes.external_id) user.external_id = e.hashes.external_id;
  if (e.device.tracking === true) {
    if (e.device.idfa) user.idfa = e.device.idfa.toUpperCase();
    if (e.device.gaid) user.gaid = e.device.gaid.toLowerCase();
  }
  const att = attStatus(e.device);
  if (att) user.att_status = att;
  if (e.device.locale) user.locale = e.device.locale;
  const properties: Record<string, unknown> = {};
  const c = e.custom;
  if (c.value !== undefined) properties.value = c.value;
  if (c.currency !== undefined) properties.currency = c.currency;
  if (c.content_type !== undefined) properties.content_type = c.content_type;
  if (c.content_ids !== undefined) properties.contents = c.content_ids.map((content_id) => ({ content_id }));
  if (c.order_id !== undefined) properties.order_id = c.order_id;
  return {
    event: e.name,
    event_time: e.time,
    event_id: e.event_id,
    user,
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
    ...(e.device.app_id
      ? {
          app: {
            app_id: e.device.app_id,
            ...(e.device.app_version ? { app_version: e.device.app_version } : {}),
          },
        }
      : {}),
  };
}

export function tiktokRequestBody(
  eventSourceId: string,
  events: ForwardEvent[],
  testEventCode: string | null,
) {
  return {
    event_source: 'app' as const,
    event_source_id: eventSourceId,
    partner_name: 'Layers',
    ...(testEventCode ? { test_event_code: testEventCode } : {}),
    data: events.map(toTikTokEvent),
  };
}

/** TikTok Business API codes: throttling, and a missing / invalid / expired access token. */
const RETRY_CODES = new Set([40100, 40700, 50000, 50002]);
const TOKEN_CODES = new Set([40001, 40104, 40105]);

export function classifyTikTokAnswer(status: number | undefined, body: Buffer | undefined): PlatformVerdict {
  if (status === undefined) return { kind: 'retry', code: 'network' };
  let code: number | undefined;
  try {
    code = (JSON.parse(body?.toString('utf8') ?? '{}') as { code?: number }).code;
  } catch {
    // Not JSON: decided by the status alone.
  }
  if (status >= 200 && status < 300 && code === 0) return { kind: 'ok' };
  const label = code === undefined ? `http_${status}` : `${code}`;
  if (code !== undefined && TOKEN_CODES.has(code)) return { kind: 'bad_token', code: label };
  if (status === 401) return { kind: 'bad_token', code: label };
  if (status >= 500 || status === 429 || status === 408) return { kind: 'retry', code: label };
  if (code !== undefined && RETRY_CODES.has(code)) return { kind: 'retry', code: label };
  return { kind: 'rejected', code: label };
}
