import type { GeoResolver } from '../../privacy/geo-resolver.ts';
import {
  emailSha256FromInput,
  type IdentifierHashResult,
  phoneSha256FromInput,
} from '../../privacy/identifier-normalizers.ts';
import { guardEnvelope } from '../../privacy/pii-envelope.ts';
import { guardPii, type PiiGuardMode } from '../../privacy/pii-guard.ts';
import { INGEST_LIMITS } from './event-limits.ts';
import type { EventRejection, JsonObject, ValidEvent } from './event-validator.ts';

/**
 * Turns a valid event into what may be stored, keeping the page's promises for SDK events:
 * - `traits.email` / `traits.phone` → SHA-256 of the normalized value (pre-hashed values kept as they are);
 * - raw identifiers anywhere else in traits/properties → hashed (or the event rejected, per the
 *   project's PII policy); IPs and device ids there → dropped;
 * - an email address or phone number as the `user_id` → hashed (or rejected), personal data in
 *   `event` / `app_id` → rejected (`privacy/pii-envelope.ts`);
 * - the IP (`context.ip`, else the connection's) → country and region codes, then forgotten;
 * - device ids (IDFA/GAID) → handed to the forwarding seam, never into the stored event.
 */
export type PreparedEvent = Omit<ValidEvent, 'ip' | 'device'> & {
  email_sha256: string | null;
  phone_sha256: string | null;
  geo_country: string | null;
  geo_region: string | null;
};

export type DeviceIds = ValidEvent['device'];

const IDENTIFIER_FIELDS = new Set(['email', 'phone', 'email_sha256', 'phone_sha256']);

const REASONS: Record<string, string> = {
  empty: 'is empty once normalized',
  not_sha256_hex: 'must be 64 hexadecimal characters',
  not_a_string: 'must be a string',
  conflict: 'does not match the hash of the raw value sent with it',
};

function identifier(result: IdentifierHashResult): { hash: string | null } | EventRejection {
  if (result.status === 'ok') return { hash: result.sha256 };
  if (result.status === 'absent') return { hash: null };
  return {
    code: 'invalid_identifier',
    message: `traits.${result.field} ${REASONS[result.reason] ?? 'is invalid'}.`,
  };
}

const tooLongOnceHashed = (field: string): EventRejection => ({
  code: 'invalid_field',
  message: `${field} is longer than ${INGEST_LIMITS.userIdLength} characters once the email addresses in it are hashed.`,
});

export type PrepareOptions = {
  piiPolicy: PiiGuardMode;
  connectionIp: string | undefined;
  geo: GeoResolver | undefined;
};

export function prepareEvent(
  valid: ValidEvent,
  opts: PrepareOptions,
): { event: PreparedEvent; device: DeviceIds } | { rejection: EventRejection } {
  const email = identifier(emailSha256FromInput(valid.traits));
  if ('code' in email) return { rejection: email };
  const phone = identifier(phoneSha256FromInput(valid.traits));
  if ('code' in phone) return { rejection: phone };
  const envelope = guardEnvelope(valid, opts.piiPolicy);
  if (!envelope.ok) return { rejection: { code: envelope.code, message: envelope.message } };
  if (envelope.user_id !== null && envelope.user_id.length > INGEST_LIMITS.userIdLength) {
    return { rejection: tooLongOnceHashed('user_id') };
  }
  let anonymousId: string | null = null;
  if (valid.anonymous_id !== null) {
    const anon = guardEnvelope(
      { user_id: valid.anonymous_id, event: null, app_id: null },
      opts.piiPolicy,
      'anonymous_id',
    );
    if (!anon.ok) return { rejection: { code: anon.code, message: anon.message } };
    anonymousId = anon.user_id;
    if (anonymousId !== null && anonymousId.length > INGEST_LIMITS.userIdLength)
      return { rejection: tooLongOnceHashed('anonymous_id') };
  }

  const otherTraits: JsonObject = {};
  for (const [key, value] of Object.entries(valid.traits))
    if (!IDENTIFIER_FIELDS.has(key)) otherTraits[key] = value;
  const traits = guardPii(otherTraits, { mode: opts.piiPolicy, rootPath: 'traits' });
  if (!traits.ok) return { rejection: { code: traits.code, message: traits.message } };
  const properties = guardPii(valid.properties, { mode: opts.piiPolicy, rootPath: 'properties' });
  if (!properties.ok) return { rejection: { code: properties.code, message: properties.message } };

  const ip = valid.ip ?? opts.connectionIp;
  const geo = ip && opts.geo ? opts.geo.lookup(ip) : null;

  return {
    event: {
      event_id: valid.event_id,
      type: valid.type,
      event: valid.event,
      user_id: envelope.user_id,
      anonymous_id: anonymousId,
      timestamp: valid.timestamp,
      app_id: valid.app_id,
      properties: properties.value,
      traits: traits.value,
      email_sha256: email.hash ?? envelope.email_sha256 ?? null,
      phone_sha256: phone.hash ?? envelope.phone_sha256 ?? null,
      geo_country: geo?.country ?? null,
      geo_region: geo?.region ?? null,
    },
    device: valid.device,
  };
}
