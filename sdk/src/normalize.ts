/**
 * Normalization of personal identifiers before hashing. These rules are part of the contract with
 * the server (src/privacy/identifier-normalizers.ts, API.md "SDK ingest") and with partners who
 * re-hash identifiers for data-subject requests (data-protection page): a hash only matches if both
 * sides normalize identically. The tests run the shared golden vectors
 * (test/vectors/identifier-vectors.json) through these functions.
 */

export type IdentifierKind = 'email' | 'phone';

/** `lowercase(trim(email))`: ECMAScript trim and the locale-independent toLowerCase. Nothing else. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** ASCII digits only: the leading `+`, spaces, dashes, letters and non-ASCII digits all go. */
export function normalizePhone(phone: string): string {
  return phone.replace(/[^0-9]/g, '');
}

export function normalizeIdentifier(kind: IdentifierKind, raw: string): string {
  return kind === 'email' ? normalizeEmail(raw) : normalizePhone(raw);
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** Exactly 64 hex characters, either case. */
export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}
