import { isIP } from 'node:net';
import { ISO_TIMESTAMP, parseIsoTimestamp } from '../../lib/iso-timestamp.ts';
import { INGEST_LIMITS } from './event-limits.ts';

/**
 * Structural validation of one SDK event. Every problem becomes a per-event rejection with a code
 * and a message that names the field but never echoes its value (values may be personal data).
 */
export type JsonObject = Record<string, unknown>;

export type ValidEvent = {
  event_id: string;
  type: 'track' | 'identify';
  event: string | null;
  /** At least one of `user_id` and `anonymous_id` is set. */
  user_id: string | null;
  anonymous_id: string | null;
  timestamp: Date;
  app_id: string | null;
  properties: JsonObject;
  traits: JsonObject;
  ip: string | undefined;
  device: { idfa?: string; gaid?: string };
  /**
   * What the Conversions API destinations need besides the ids (API.md: `ad_tracking_enabled`, `os`,
   * `app`, `locale`, `timezone`, `device.model` feed Meta's extinfo and TikTok's att_status).
   */
  client?: ClientContext;
};

export type ClientContext = {
  /** `context.device.ad_tracking_enabled` (ATT authorized on iOS); device ids are forwarded only when true. */
  ad_tracking_enabled?: boolean;
  model?: string;
  os_name?: string;
  os_version?: string;
  app_version?: string;
  app_build?: string;
  locale?: string;
  timezone?: string;
};

export type EventRejection = { code: string; message: string };

const TOP_LEVEL = new Set([
  'event_id',
  'type',
  'event',
  'user_id',
  'anonymous_id',
  'timestamp',
  'app_id',
  'properties',
  'traits',
  'context',
]);
const CONTEXT_KEYS = new Set(['ip', 'device', 'library', 'locale', 'timezone', 'os', 'app']);
const PRINTABLE = /^[\x21-\x7e]+$/;
const DEVICE_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

// Rejections are tagged, so a partner's properties object that happens to hold `code` and `message`
// keys can never be mistaken for one.
const REJECTION = Symbol('eventRejection');

const reject = (code: string, message: string): EventRejection =>
  Object.defineProperty({ code, message }, REJECTION, { value: true, enumerable: false });

export function isRejection(value: unknown): value is EventRejection {
  return typeof value === 'object' && value !== null && REJECTION in value;
}
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Text PostgreSQL refuses (a NUL in text or jsonb) or cannot store as sent (an unpaired UTF-16
 * surrogate: an error in jsonb, silently U+FFFD in text). One such value would fail the whole group
 * commit it rides in, so it is refused here, per event. Both tests are single native scans.
 */
// `String#isWellFormed` is ES2024 (Node ≥ 20), newer than the project's type library.
const isWellFormed = (String.prototype as unknown as { isWellFormed(this: string): boolean }).isWellFormed;
const storableText = (s: string): boolean => isWellFormed.call(s) && !s.includes('\u0000');
const unstorable = (field: string) =>
  reject('invalid_text', `${field} holds a NUL character or an unpaired UTF-16 surrogate.`);

function boundedString(
  value: unknown,
  field: string,
  max: number,
  required: boolean,
): string | null | EventRejection {
  if (value === undefined || value === null) {
    return required ? reject('missing_field', `${field} is required.`) : null;
  }
  if (typeof value !== 'string') return reject('invalid_field', `${field} must be a string.`);
  if (value.length === 0 || value.length > max)
    return reject('invalid_field', `${field} must be 1–${max} characters.`);
  if (!storableText(value)) return unstorable(field);
  return value;
}

/**
 * Depth, key-count, key-length, string-length and array-length caps on free-form JSON, and what
 * jsonb cannot hold: text with a NUL or an unpaired surrogate (in values and keys), and numbers
 * that overflowed a double while parsing (`1e400` is Infinity, which would be stored as null).
 */
function checkJson(value: unknown, field: string): EventRejection | undefined {
  let keys = 0;
  const visit = (v: unknown, depth: number): EventRejection | undefined => {
    if (typeof v === 'string') {
      if (v.length > INGEST_LIMITS.stringLength) {
        return reject(
          'value_too_long',
          `${field} has a string longer than ${INGEST_LIMITS.stringLength} characters.`,
        );
      }
      return storableText(v) ? undefined : unstorable(`${field} has a string that`);
    }
    if (typeof v === 'number') {
      return Number.isFinite(v)
        ? undefined
        : reject('invalid_number', `${field} has a number too large for a double.`);
    }
    if (typeof v !== 'object' || v === null) return undefined;
    if (depth > INGEST_LIMITS.jsonDepth)
      return reject('too_deep', `${field} is nested deeper than ${INGEST_LIMITS.jsonDepth} levels.`);
    if (Array.isArray(v)) {
      if (v.length > INGEST_LIMITS.arrayLength) {
        return reject(
          'too_many_items',
          `${field} has an array longer than ${INGEST_LIMITS.arrayLength} items.`,
        );
      }
      for (const item of v) {
        const problem = visit(item, depth + 1);
        if (problem) return problem;
      }
      return undefined;
    }
    for (const [key, child] of Object.entries(v)) {
      keys += 1;
      if (keys > INGEST_LIMITS.jsonKeys)
        return reject('too_many_keys', `${field} has more than ${INGEST_LIMITS.jsonKeys} keys.`);
      if (key.length === 0 || key.length > INGEST_LIMITS.keyLength) {
        return reject(
          'invalid_key',
          `${field} has a key that is empty or longer than ${INGEST_LIMITS.keyLength} characters.`,
        );
      }
      if (!storableText(key)) return unstorable(`${field} has a key that`);
      const problem = visit(child, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  };
  return visit(value, 1);
}

function optionalObject(value: unknown, field: string): JsonObject | EventRejection {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) return reject('invalid_field', `${field} must be an object.`);
  return checkJson(value, field) ?? value;
}

function validateContext(
  value: unknown,
): { ip: string | undefined; device: ValidEvent['device']; client: ClientContext } | EventRejection {
  if (value === undefined || value === null) return { ip: undefined, device: {}, client: {} };
  if (!isObject(value)) return reject('invalid_field', 'context must be an object.');
  for (const key of Object.keys(value)) {
    if (!CONTEXT_KEYS.has(key))
      return reject('unknown_field', `context.${key} is not a known context field.`);
  }
  let ip: string | undefined;
  if (value.ip !== undefined && value.ip !== null) {
    if (typeof value.ip !== 'string' || isIP(value.ip) === 0)
      return reject('invalid_field', 'context.ip must be an IPv4 or IPv6 address.');
    ip = value.ip;
  }
  const device: ValidEvent['device'] = {};
  const client: ClientContext = {};
  if (value.device !== undefined && value.device !== null) {
    if (!isObject(value.device)) return reject('invalid_field', 'context.device must be an object.');
    for (const [key, id] of Object.entries(value.device)) {
      if (key === 'ad_tracking_enabled') {
        if (id !== undefined && id !== null && typeof id !== 'boolean')
          return reject('invalid_field', 'context.device.ad_tracking_enabled must be a boolean.');
        if (typeof id === 'boolean') client.ad_tracking_enabled = id;
        continue;
      }
      if (key === 'model') {
        const model = shortText(id, 'context.device.model');
        if (model) client.model = model;
        continue;
      }
      if (key !== 'idfa' && key !== 'gaid')
        return reject('unknown_field', `context.device.${key} is not a known device id.`);
      if (id === undefined || id === null) continue;
      if (typeof id !== 'string' || !DEVICE_ID.test(id))
        return reject('invalid_field', `context.device.${key} must be a UUID.`);
      device[key] = id;
    }
  }
  for (const key of ['library', 'app', 'os']) {
    const problem = value[key] === undefined ? undefined : checkJson(value[key], `context.${key}`);
    if (problem) return problem;
  }
  // Device fields for the destinations: short strings only; anything else in os/app is ignored.
  const os = isObject(value.os) ? value.os : {};
  const app = isObject(value.app) ? value.app : {};
  const fields: [keyof ClientContext, unknown, string][] = [
    ['os_name', os.name, 'context.os.name'],
    ['os_version', os.version, 'context.os.version'],
    ['app_version', app.version, 'context.app.version'],
    ['app_build', app.build, 'context.app.build'],
    ['locale', value.locale, 'context.locale'],
    ['timezone', value.timezone, 'context.timezone'],
  ];
  for (const [name, raw, field] of fields) {
    const text = shortText(raw, field);
    if (text) (client as Record<string, unknown>)[name] = text;
  }
  return { ip, device, client };
}

/**
 * An optional short string of the client context (device model, OS version, locale…). These fields
 * were accepted as free-form before the destinations read them, so a value that is not a string of
 * 1–64 characters is ignored (not forwarded), never a rejection.
 */
function shortText(value: unknown, _field: string): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64 || !storableText(value))
    return null;
  return value;
}

/**
 * `timestamp` as an instant. An SDK sends ISO text (JSON never yields a Date, so SDK events always take
 * the text path); the Segment mapping hands over the Date its clock-skew correction computed, so that
 * the instant is not formatted and parsed again. That Date is held to the same years as the text.
 */
function eventTimestamp(value: unknown): Date | EventRejection {
  if (value instanceof Date) {
    const year = value.getUTCFullYear(); // NaN for an invalid date
    return year >= 1 && year <= 9999 ? value : reject('invalid_field', 'timestamp is not a valid date.');
  }
  if (typeof value !== 'string' || !ISO_TIMESTAMP.test(value)) {
    return reject('invalid_field', 'timestamp must be an ISO 8601 date-time with a time zone.');
  }
  return parseIsoTimestamp(value) ?? reject('invalid_field', 'timestamp is not a valid date.');
}

export function validateEvent(raw: unknown, now: Date): ValidEvent | EventRejection {
  if (!isObject(raw)) return reject('invalid_event', 'Each event must be a JSON object.');
  for (const key of Object.keys(raw)) {
    if (!TOP_LEVEL.has(key)) return reject('unknown_field', `${key} is not a field of an SDK event.`);
  }
  const eventId = boundedString(raw.event_id, 'event_id', INGEST_LIMITS.eventIdLength, true);
  if (isRejection(eventId)) return eventId;
  if (eventId === null) return reject('missing_field', 'event_id is required.');
  if (!PRINTABLE.test(eventId)) return reject('invalid_field', 'event_id must be visible ASCII characters.');
  if (raw.type !== 'track' && raw.type !== 'identify')
    return reject('invalid_field', 'type must be "track" or "identify".');
  const name = boundedString(raw.event, 'event', INGEST_LIMITS.eventNameLength, raw.type === 'track');
  if (isRejection(name)) return name;
  const userId = boundedString(raw.user_id, 'user_id', INGEST_LIMITS.userIdLength, false);
  if (isRejection(userId)) return userId;
  // A URL path cannot hold "." or ".." as a segment (clients resolve them away): no DSR route could reach it.
  if (userId === '.' || userId === '..') return reject('invalid_field', 'user_id must not be "." or "..".');
  const anonymousId = boundedString(raw.anonymous_id, 'anonymous_id', INGEST_LIMITS.userIdLength, false);
  if (isRejection(anonymousId)) return anonymousId;
  if (userId === null && anonymousId === null)
    return reject('missing_field', 'user_id or anonymous_id is required.');
  const appId = boundedString(raw.app_id, 'app_id', INGEST_LIMITS.appIdLength, false);
  if (isRejection(appId)) return appId;

  const timestamp = eventTimestamp(raw.timestamp);
  if (!(timestamp instanceof Date)) return timestamp;
  if (timestamp.getTime() - now.getTime() > INGEST_LIMITS.futureSkewMs) {
    return reject('timestamp_in_future', 'timestamp is more than 24 hours in the future.');
  }

  const properties = optionalObject(raw.properties, 'properties');
  if (isRejection(properties)) return properties;
  const traits = optionalObject(raw.traits, 'traits');
  if (isRejection(traits)) return traits;
  const context = validateContext(raw.context);
  if (isRejection(context)) return context;

  return {
    event_id: eventId,
    type: raw.type,
    event: name,
    user_id: userId,
    anonymous_id: anonymousId,
    timestamp,
    app_id: appId,
    properties,
    traits,
    ip: context.ip,
    device: context.device,
    client: context.client,
  };
}
