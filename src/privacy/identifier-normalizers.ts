/**
 * The one normalization + hashing of end-customer identifiers (email, phone).
 *
 * Ingest, the user lookup endpoint, CAPI forwarding and the SDK must all produce the same hash for
 * the same person, and the data-protection page promises partners the exact recipe so that they can
 * re-hash on their side: "lower-case + trim for email, digits-only for phone", then SHA-256 as
 * lowercase hex. Changing anything here breaks every stored hash and every partner's matching, so
 * the golden vectors in test/vectors/identifier-vectors.json pin it (the SDK's tests read them too).
 *
 * Decisions:
 * - email: `raw.trim().toLowerCase()`, exactly that. No address validation, no Gmail dot or
 *   plus-tag folding: the page does not promise it, and partners could not reproduce it.
 *   `trim()` is ECMAScript's (Unicode White_Space + line terminators + BOM); `toLowerCase()` is the
 *   locale-independent Unicode default mapping. Both are identical in browsers and Node.
 * - phone: ASCII digits 0-9 only (`+1 (650) 555-1212` → `16505551212`). No country-code inference:
 *   a national number without its country code hashes differently, and that is the partner's call.
 *   Non-ASCII digits (e.g. Arabic-Indic) are stripped like any other character.
 * - A value that normalizes to the empty string (email "   ", phone "abc") is NOT hashed: the hash of
 *   "" would be one shared pseudo-identity joining unrelated users. The hash functions return
 *   `undefined` and the `*FromInput` helpers return `{ status: 'invalid', reason: 'empty' }`.
 * - A value that already is a SHA-256 hex digest (64 hex chars, surrounding whitespace ignored) is
 *   taken "as it is", lower-cased, never hashed twice; an SDK that pre-hashed into the raw field
 *   therefore still matches. An email address contains an "@" and no phone number has 64 digits, so
 *   this never captures a genuine raw value.
 * - Nothing here throws, for any string.
 */
import { sha256Hex } from '../lib/hashing.ts';

export type IdentifierKind = 'email' | 'phone';

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const NON_DIGITS = /[^0-9]/g;

/** Exactly 64 hex characters (either case), nothing else: no whitespace, no `0x` prefix. */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && value.length === 64 && SHA256_HEX.test(value);
}

/** Trim, then lower-case — the page's recipe, in the order API.md writes it: lowercase(trim(email)). */
export function normalizeEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

/** ASCII digits only. */
export function normalizePhone(raw: string): string {
  return raw.replace(NON_DIGITS, '');
}

export function normalizeIdentifier(kind: IdentifierKind, raw: string): string {
  return kind === 'email' ? normalizeEmail(raw) : normalizePhone(raw);
}

/**
 * SHA-256 (lowercase hex) of the normalized value; a value that already is a digest comes back
 * lower-cased; `undefined` when nothing is left after normalization.
 */
export function hashIdentifier(kind: IdentifierKind, raw: string): string | undefined {
  const trimmed = raw.trim();
  if (isSha256Hex(trimmed)) return trimmed.toLowerCase();
  const normalized = normalizeIdentifier(kind, raw);
  return normalized === '' ? undefined : sha256Hex(normalized);
}

export function hashEmail(raw: string): string | undefined {
  return hashIdentifier('email', raw);
}

export function hashPhone(raw: string): string | undefined {
  return hashIdentifier('phone', raw);
}

/**
 * Outcome of turning an event's identifier fields into the one hash we store.
 * `absent` is not an error (the event simply has no such identifier); `invalid` carries a reason the
 * caller can turn into a per-event rejection. None of the variants carries the raw value.
 */
export type IdentifierHashResult =
  | { status: 'ok'; sha256: string; source: 'raw' | 'prehashed' }
  | { status: 'absent' }
  | { status: 'invalid'; field: string; reason: IdentifierInvalidReason };

export type IdentifierInvalidReason =
  /** the raw field normalized to the empty string (e.g. phone "abc") */
  | 'empty'
  /** the `*_sha256` field is not 64 hex characters */
  | 'not_sha256_hex'
  /** the field is present but not a string */
  | 'not_a_string'
  /** both the raw and the pre-hashed field were sent and they name different people */
  | 'conflict';

/**
 * Resolve `{ email?, email_sha256? }` / `{ phone?, phone_sha256? }` to one hash.
 * Rules: `null`/`undefined` count as absent; an empty-after-normalization raw value is invalid
 * (never hashed); a pre-hashed value must be exactly 64 hex chars and is lower-cased; when both are
 * sent they must agree (otherwise we would have to guess which person the event is about).
 */
export function identifierSha256FromInput(
  kind: IdentifierKind,
  input: { raw?: unknown; prehashed?: unknown },
): IdentifierHashResult {
  const rawField = kind;
  const hashField = `${kind}_sha256`;
  let fromRaw: string | undefined;
  let rawWasDigest = false;
  let fromHash: string | undefined;

  if (input.raw !== undefined && input.raw !== null) {
    if (typeof input.raw !== 'string') return { status: 'invalid', field: rawField, reason: 'not_a_string' };
    fromRaw = hashIdentifier(kind, input.raw);
    if (fromRaw === undefined) return { status: 'invalid', field: rawField, reason: 'empty' };
    // A digest sent in the raw field (an SDK that hashed client-side) is still a pre-hashed value.
    rawWasDigest = isSha256Hex(input.raw.trim());
  }
  if (input.prehashed !== undefined && input.prehashed !== null) {
    if (typeof input.prehashed !== 'string') {
      return { status: 'invalid', field: hashField, reason: 'not_a_string' };
    }
    if (!isSha256Hex(input.prehashed))
      return { status: 'invalid', field: hashField, reason: 'not_sha256_hex' };
    fromHash = input.prehashed.toLowerCase();
  }

  if (fromRaw !== undefined && fromHash !== undefined && fromRaw !== fromHash) {
    return { status: 'invalid', field: hashField, reason: 'conflict' };
  }
  if (fromRaw !== undefined)
    return { status: 'ok', sha256: fromRaw, source: rawWasDigest ? 'prehashed' : 'raw' };
  if (fromHash !== undefined) return { status: 'ok', sha256: fromHash, source: 'prehashed' };
  return { status: 'absent' };
}

export function emailSha256FromInput(input: {
  email?: unknown;
  email_sha256?: unknown;
}): IdentifierHashResult {
  return identifierSha256FromInput('email', { raw: input.email, prehashed: input.email_sha256 });
}

export function phoneSha256FromInput(input: {
  phone?: unknown;
  phone_sha256?: unknown;
}): IdentifierHashResult {
  return identifierSha256FromInput('phone', { raw: input.phone, prehashed: input.phone_sha256 });
}
