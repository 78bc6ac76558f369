import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing with scrypt from node:crypto at ASVS 5.0 Appendix C's minimum for p = 1:
 * N = 2^17, r = 8 (128 MiB of memory per hash, about half a second on one core here). The parameters
 * travel in the stored string (`scrypt$17$8$1$<salt>$<hash>`, base64url), so they can be raised later
 * and old hashes still verify. Node refuses more than 32 MiB by default: `maxmem` is set above the
 * 128 × N × r bytes the parameters need. The password is NFKC-normalized first (the same password
 * typed on another keyboard or OS hashes the same) and never truncated.
 */
export const SCRYPT_PARAMS = { logN: 17, r: 8, p: 1, keyLength: 64, saltLength: 16 } as const;

const MAXMEM = 256 * 1024 * 1024;

function derive(password: string, salt: Buffer, logN: number, r: number, p: number, keyLength: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(
      Buffer.from(password.normalize('NFKC'), 'utf8'),
      salt,
      keyLength,
      { N: 2 ** logN, r, p, maxmem: MAXMEM },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const { logN, r, p, keyLength, saltLength } = SCRYPT_PARAMS;
  const salt = randomBytes(saltLength);
  const key = await derive(password, salt, logN, r, p, keyLength);
  return `scrypt$${logN}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** The parameters of a stored hash (tests check them; a rehash-on-login could use them). */
export function parsePasswordHash(stored: string) {
  const [scheme, logN, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !logN || !r || !p || !salt || !key) return undefined;
  return {
    logN: Number(logN),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt, 'base64url'),
    key: Buffer.from(key, 'base64url'),
  };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed || parsed.logN < 14 || parsed.logN > 20 || parsed.r > 16 || parsed.p > 4) return false;
  const key = await derive(password, parsed.salt, parsed.logN, parsed.r, parsed.p, parsed.key.length);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

let dummy: Promise<string> | undefined;
/**
 * Spends the time of one verification for a sign-in whose email has no account, so that the answer
 * (same message, same status) does not come back faster for unknown emails either.
 */
export async function burnVerification(password: string): Promise<void> {
  dummy ??= hashPassword('layers-console-timing-equaliser');
  await verifyPassword(password, await dummy);
}
