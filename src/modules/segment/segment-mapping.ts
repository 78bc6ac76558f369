import { isIP } from 'node:net';
import { isoInstantMs } from '../../lib/iso-timestamp.ts';

/**
 * Segment HTTP Tracking API messages → native SDK events (API.md "SDK ingest"), which then take the
 * native path unchanged: the event validator, the privacy pipeline (hashing, PII guard, IP → geo),
 * group commit. One plain object per message, no second copy of anything large (properties and
 * traits are passed by reference).
 *
 * - `messageId` → `event_id` (dedup); `userId` / `anonymousId` → `user_id` / `anonymous_id` (numbers
 *   as their decimal text); `event`, `properties`; `traits` and `context.traits` → `traits` (the
 *   message's own win).
 * - `page` / `screen` → a `track` named "Page Viewed" / "Screen Viewed", with `name` and `category`
 *   added to the properties; `alias` → an `identify` with `previousId` as the anonymous id (it links
 *   it to `userId`) and no traits; `group` is refused (`unsupported_type`): Layers keeps no groups.
 * - `timestamp` corrected for the client's clock as Segment does: receivedAt − (sentAt − timestamp)
 *   when the message (or its batch) carries `sentAt`; as sent without one; receivedAt when absent.
 * - `context.ip` (only if it is an IP address; then dropped by the pipeline), `context.device`:
 *   `advertisingId` → `idfa` (iOS) or `gaid` (Android) by `device.type` / `os.name` (the all-zero id of
 *   a device with tracking limited is dropped), `adTrackingEnabled` → `ad_tracking_enabled`, `model`;
 *   `context.os`, `context.app` (its `namespace`, else `name`, becomes `app_id`), `locale`, `timezone`.
 *   Every other context field (library, userAgent, page, screen, network, location, campaign…) and
 *   `integrations` are not kept.
 */
export type JsonObject = Record<string, unknown>;

export type MappingRejection = { code: string; message: string };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const DEVICE_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ZERO_ID = '00000000-0000-0000-0000-000000000000';

const TYPES = new Set(['track', 'identify', 'page', 'screen', 'alias', 'group']);
const PAGE_EVENT: Record<string, string> = { page: 'Page Viewed', screen: 'Screen Viewed' };

/** A Segment id (string or number) as text; anything else is passed on for the validator to refuse. */
function idText(value: unknown): unknown {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
}

/**
 * A Segment time (`timestamp`, `sentAt`) as epoch ms: ISO 8601 with a time zone on a real calendar
 * day, as the validator reads an SDK timestamp, with any year a Date holds (the corrected instant is
 * what the validator holds to years 1–9999). An impossible date is not rolled over into another day:
 * a bad `sentAt` is ignored instead of skewing the correction, and a bad `timestamp` is passed on
 * for the validator to refuse.
 */
export function parseTime(value: unknown): number | undefined {
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? undefined : ms;
  }
  return typeof value === 'string' ? isoInstantMs(value) : undefined;
}

/**
 * Segment's clock-skew correction. A timestamp that does not parse, or one without a `sentAt`, is
 * passed on as sent (the validator parses it, or refuses it naming the field). A computed instant is
 * passed on as a Date, which the validator takes as it is: formatting it as text here would only have
 * the validator parse it again (the validator also refuses one that fell outside years 1–9999).
 */
export function correctedTimestamp(
  timestamp: unknown,
  sentAt: number | undefined,
  receivedAt: number,
): unknown {
  if (timestamp === undefined || timestamp === null) return new Date(receivedAt);
  if (sentAt === undefined) return timestamp;
  const at = parseTime(timestamp);
  if (at === undefined) return timestamp;
  return new Date(receivedAt - (sentAt - at));
}

function platformOf(device: JsonObject, os: JsonObject | undefined): 'idfa' | 'gaid' | undefined {
  const name = String(device.type ?? os?.name ?? '').toLowerCase();
  if (name === 'ios' || name === 'ipados' || name === 'tvos' || name === 'watchos' || name === 'visionos')
    return 'idfa';
  if (name === 'android') return 'gaid';
  return undefined;
}

function mapDevice(device: unknown, os: JsonObject | undefined): JsonObject | undefined {
  if (!isObject(device)) return undefined;
  const out: JsonObject = {};
  const adId = device.advertisingId;
  if (typeof adId === 'string' && adId !== ZERO_ID && DEVICE_ID.test(adId)) {
    const kind = platformOf(device, os);
    if (kind) out[kind] = adId;
  }
  if (typeof device.adTrackingEnabled === 'boolean') out.ad_tracking_enabled = device.adTrackingEnabled;
  if (typeof device.model === 'string') out.model = device.model;
  return out;
}

/**
 * The native context (API.md "SDK ingest"), every field present, undefined when not sent: one object
 * of one shape for every message, not one grown field by field (the validator reads absent and
 * undefined alike).
 */
function mapContext(context: JsonObject | undefined): JsonObject {
  if (!context) return {};
  const os = isObject(context.os) ? context.os : undefined;
  return {
    ip: typeof context.ip === 'string' && isIP(context.ip) !== 0 ? context.ip : undefined,
    device: mapDevice(context.device, os),
    os,
    app: isObject(context.app) ? context.app : undefined,
    locale: context.locale,
    timezone: context.timezone,
  };
}

function withPageFields(properties: unknown, message: JsonObject): unknown {
  if (message.name === undefined && message.category === undefined) return properties;
  const out: JsonObject = isObject(properties) ? { ...properties } : {};
  if (message.name !== undefined) out.name = message.name;
  if (message.category !== undefined) out.category = message.category;
  return out;
}

/**
 * One message as a native event, or why it can never be stored. `defaults` is the batch's top-level
 * `context` (merged under the message's own, field by field at the top level, as Segment does).
 */
export function toNativeEvent(
  message: unknown,
  /** `sentAt`: the batch's, already parsed (once per batch); a message's own wins. */
  opts: { receivedAt: number; sentAt: number | undefined; defaultContext: JsonObject | undefined },
): JsonObject | MappingRejection {
  if (!isObject(message)) return { code: 'invalid_event', message: 'Each message must be a JSON object.' };
  const type = message.type;
  if (typeof type !== 'string' || !TYPES.has(type)) {
    return {
      code: 'invalid_field',
      message: 'type must be one of "track", "identify", "page", "screen", "alias", "group".',
    };
  }
  if (type === 'group') {
    return {
      code: 'unsupported_type',
      message: 'group calls are not stored by Layers; send the traits that matter on identify.',
    };
  }
  const own = isObject(message.context) ? message.context : undefined;
  const ctx = opts.defaultContext ? (own ? { ...opts.defaultContext, ...own } : opts.defaultContext) : own;
  const context = mapContext(ctx);
  const app = context.app as JsonObject | undefined;
  const contextTraits = ctx && isObject(ctx.traits) ? ctx.traits : undefined;
  const ownTraits = message.traits;
  const traits =
    contextTraits && isObject(ownTraits) ? { ...contextTraits, ...ownTraits } : (ownTraits ?? contextTraits);
  const alias = type === 'alias';
  const page = type === 'page' || type === 'screen';
  // Every field present (undefined when not sent), as for the context above. `alias` links
  // `previousId` to `userId` and carries nothing else.
  return {
    event_id: message.messageId,
    type: type === 'identify' || alias ? 'identify' : 'track',
    event: type === 'track' ? message.event : page ? PAGE_EVENT[type] : undefined,
    user_id: idText(message.userId),
    anonymous_id: idText(alias ? message.previousId : message.anonymousId),
    timestamp: correctedTimestamp(
      message.timestamp,
      message.sentAt === undefined ? opts.sentAt : parseTime(message.sentAt),
      opts.receivedAt,
    ),
    app_id: alias || !app ? undefined : (app.namespace ?? app.name),
    properties:
      type === 'track' ? message.properties : page ? withPageFields(message.properties, message) : undefined,
    traits: alias ? undefined : traits,
    context,
  };
}

export function isMappingRejection(v: JsonObject | MappingRejection): v is MappingRejection {
  return typeof (v as MappingRejection).code === 'string' && !('event_id' in v) && !('type' in v);
}
