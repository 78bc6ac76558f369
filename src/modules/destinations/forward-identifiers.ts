import { hash } from 'node:crypto';
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import type { DestinationType } from './forward-event.ts';

/**
 * Each platform's own identifier hashes, made at ingest while the raw values are still in memory
 * (API.md: one stored phone hash cannot serve every destination).
 *
 * - email: SHA-256 of trim + lower case, for both platforms (the stored `email_sha256` is exactly
 *   that, and a pre-hashed value from the SDK is taken as it is).
 * - phone, Meta: digits with the country code, no `+` (`+1 (650) 555-1212` → `16505551212`).
 * - phone, TikTok: `+E.164` (`+16505551212`).
 *   A national number is read in the default region (the event's country from its IP, else the
 *   destination's `default_phone_country`); a number libphonenumber cannot read as possible for that
 *   region is not sent (a wrong-format hash never matches and may count against match quality).
 *   A phone that reached us only as a hash (the SDK hashes on the device) is not forwarded: its
 *   normalization (digits only) is neither platform's.
 * - external_id: SHA-256 of `project_id:user_id` — the user id as stored, scoped to the project so
 *   the same id in two projects (or orgs) never hashes alike.
 */
/** SHA-256 hex in one call: about half the CPU of createHash().update().digest() on these short inputs. */
const sha256Hex = (input: string) => hash('sha256', input);

export function e164(raw: string, region: string | null): string | undefined {
  const trimmed = raw.trim();
  const international = trimmed.startsWith('+') || trimmed.startsWith('00');
  const parsed = parsePhoneNumberFromString(
    trimmed.startsWith('00') ? `+${trimmed.slice(2)}` : trimmed,
    international || !region ? undefined : (region as CountryCode),
  );
  if (!parsed?.isPossible()) return undefined;
  return parsed.number;
}

/** The destination's hash of an E.164 number: Meta the digits without `+`, TikTok with it. */
export const phoneHash = (type: DestinationType, number: string) =>
  sha256Hex(type === 'meta_capi' ? number.slice(1) : number);

export function phoneHashFor(type: DestinationType, raw: string, region: string | null): string | undefined {
  const number = e164(raw, region);
  return number ? phoneHash(type, number) : undefined;
}

export const externalIdHash = (projectId: string, userId: string) => sha256Hex(`${projectId}:${userId}`);

/** Meta's `country`: SHA-256 of the lower-case ISO 3166-1 alpha-2 code. */
export const countryHash = (country: string) => sha256Hex(country.toLowerCase());
