/**
 * Hashing in the browser for data-subject lookups, with the platform's normalization
 * (src/privacy/identifier-normalizers.ts, the SDK's too): email → trim + lower-case, phone → ASCII
 * digits only; then SHA-256 as lowercase hex. Only the hash leaves the browser.
 */
export const normalizeEmail = (raw: string) => raw.trim().toLowerCase();
export const normalizePhone = (raw: string) => raw.replace(/[^0-9]/g, '');

export async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export async function hashIdentifier(kind: 'email' | 'phone', raw: string): Promise<string | undefined> {
  const normalized = kind === 'email' ? normalizeEmail(raw) : normalizePhone(raw);
  if (normalized === '') return undefined;
  if (/^[0-9a-f]{64}$/i.test(raw.trim())) return raw.trim().toLowerCase();
  return sha256Hex(normalized);
}
