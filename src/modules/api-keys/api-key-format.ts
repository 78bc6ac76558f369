import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { sha256Hex } from '../../lib/hashing.ts';

/**
 * API keys look like `lyr_sk_<27 base62 chars of 160 random bits><6 base62 chars of CRC-32>`.
 * The checksum lets us refuse a mistyped or truncated key without touching the database; the random
 * part makes guessing hopeless. Only SHA-256 of the whole key is stored: the key itself is shown once.
 */
export type KeyType = 'secret' | 'publishable';

const PREFIX: Record<KeyType, string> = { secret: 'lyr_sk_', publishable: 'lyr_pk_' };
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_BYTES = 20;
const RANDOM_CHARS = 27; // ceil(160 / log2(62))
const CHECKSUM_CHARS = 6; // 62^6 > 2^32
const KEY_PATTERN = /^lyr_(sk|pk)_([0-9A-Za-z]{27})([0-9A-Za-z]{6})$/;

function toBase62(value: bigint, width: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[Number(v % 62n)] + out;
    v /= 62n;
  }
  return out;
}

/** Runs on every authenticated request: plain number arithmetic (a CRC-32 fits), no BigInt. */
function checksum(body: string): string {
  let out = '';
  let v = crc32(body);
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}

export function generateApiKey(type: KeyType): { secret: string; hash: string; last4: string } {
  const bytes = randomBytes(RANDOM_BYTES);
  const body = `${PREFIX[type]}${toBase62(BigInt(`0x${bytes.toString('hex')}`), RANDOM_CHARS)}`;
  const secret = body + checksum(body);
  return { secret, hash: hashApiKey(secret), last4: secret.slice(-4) };
}

export type ParsedKey = { type: KeyType; hash: string };

/** Undefined for anything that is not a well-formed key with a valid checksum. */
export function parseApiKey(candidate: string): ParsedKey | undefined {
  const match = KEY_PATTERN.exec(candidate);
  if (!match) return undefined;
  const body = candidate.slice(0, -CHECKSUM_CHARS);
  if (checksum(body) !== match[3]) return undefined;
  return { type: match[1] === 'sk' ? 'secret' : 'publishable', hash: hashApiKey(candidate) };
}

export function hashApiKey(secret: string): string {
  return sha256Hex(secret);
}
