/**
 * The PII guard for an SDK event's envelope: `user_id`, `event` and `app_id` are stored as sent, so
 * personal data in them would be stored raw. Decided per field:
 *
 * - `user_id` is an identity: it must stay stable, so it is never altered in part.
 *   - the whole id an email address (also percent-encoded) or an international phone number →
 *     `pii_policy: "hash"`: stored as its SHA-256 (the same hash as `email_sha256` /
 *     `phone_sha256`, which the event also gets when it has none): the same person keeps one
 *     user id, `POST …/users/lookup` finds it, and the export and erasure routes take the hash.
 *     `"reject"`: the event is refused (`pii_rejected`);
 *   - an email address inside the id (`auth0|person@example.com`) → hashed in place (or refused);
 *   - an IP address (whole or inside) → refused in both modes: a hash of an IPv4 address is no
 *     protection (there are only 2³² of them), and the page says IPs are not kept;
 *   - a national-format number (`123-456-7890`) is NOT taken for a phone here: ids of that shape
 *     are common account numbers.
 * - `event` and `app_id` name a kind of event and an app: personal data in them (an email, phone
 *   number or IP anywhere) is a mistake that a hash would only hide, so the event is refused in
 *   both modes.
 *
 * Messages name the field, never its value.
 */
import { guardText, type PiiGuardMode } from './pii-guard.ts';

export type EnvelopeFields = { user_id: string | null; event: string | null; app_id: string | null };

export type GuardedEnvelope =
  | { ok: true; user_id: string | null; email_sha256: string | undefined; phone_sha256: string | undefined }
  | { ok: false; code: 'pii_rejected'; message: string };

const refuse = (message: string): GuardedEnvelope => ({ ok: false, code: 'pii_rejected', message });

function holdsPii(text: string | null): boolean {
  if (text === null) return false;
  const r = guardText(text, { mode: 'hash', path: '' });
  return !r.ok || r.report.hashed > 0 || r.report.dropped > 0;
}

/**
 * `idField` names the identity field in messages: `user_id`, or `anonymous_id`, which is guarded the
 * same way (an anonymous id is an identity too). A null id (an anonymous event) is left as it is.
 */
export function guardEnvelope(
  fields: EnvelopeFields,
  mode: PiiGuardMode,
  idField: 'user_id' | 'anonymous_id' = 'user_id',
): GuardedEnvelope {
  for (const field of ['event', 'app_id'] as const) {
    if (holdsPii(fields[field])) {
      return refuse(
        `${field} holds an email address, phone number or IP address; it must not carry personal data.`,
      );
    }
  }
  if (fields.user_id === null)
    return { ok: true, user_id: null, email_sha256: undefined, phone_sha256: undefined };
  const r = guardText(fields.user_id, { mode, path: idField, nationalPhones: false });
  if (!r.ok) {
    return refuse(
      `${idField} holds a raw email address or phone number, which this project (pii_policy "reject") refuses: send an opaque id, or the SHA-256 of the normalized address.`,
    );
  }
  if (r.value === undefined || r.report.dropped > 0) {
    return refuse(`${idField} holds an IP address, which is not kept: send an opaque id.`);
  }
  return {
    ok: true,
    user_id: r.value,
    email_sha256: r.hashedAs === 'email' ? r.value : undefined,
    phone_sha256: r.hashedAs === 'phone' ? r.value : undefined,
  };
}

/**
 * The user id ingest stores for `userId` in a `hash` project (itself when it holds no email or
 * phone number): routes that take a user id (export, erasure, suppression) can reach events sent
 * with an email address as their user id.
 */
export function storedUserId(userId: string): string {
  const r = guardText(userId, { mode: 'hash', path: 'user_id', nationalPhones: false });
  return r.ok && r.value !== undefined && r.report.dropped === 0 ? r.value : userId;
}
