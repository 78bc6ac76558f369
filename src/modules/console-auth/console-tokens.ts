import { createHmac, randomBytes } from 'node:crypto';
import { sha256Hex } from '../../lib/hashing.ts';

/**
 * Bearer secrets of the console: session tokens and invitation tokens carry 256 random bits
 * (base64url) and are stored only as SHA-256. The CSRF token is derived from the session token
 * (HMAC-SHA256 keyed by it): the page learns it from the session answer, an attacker who cannot read
 * the HttpOnly cookie cannot compute it, and nothing more is stored. Recovery codes are 25 Crockford
 * base32 characters (125 bits), shown in five groups of five.
 */
export const newSecretToken = () => randomBytes(32).toString('base64url');

export const tokenHash = (token: string) => sha256Hex(token);

export const csrfTokenFor = (sessionToken: string) =>
  createHmac('sha256', sessionToken).update('layers-console-csrf').digest('base64url');

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newRecoveryCode(): string {
  const bytes = randomBytes(25);
  let out = '';
  for (let i = 0; i < 25; i++) {
    out += CROCKFORD[(bytes[i] as number) % 32];
    if (i % 5 === 4 && i < 24) out += '-';
  }
  return out;
}

/** Recovery codes compare without their dashes, spaces or case. */
export const recoveryCodeHash = (code: string) => sha256Hex(code.replace(/[\s-]/g, '').toUpperCase());

export const looksLikeRecoveryCode = (code: string) => /^[0-9A-Za-z]{25}$/.test(code.replace(/[\s-]/g, ''));
