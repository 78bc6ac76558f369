import { randomBytes } from 'node:crypto';

/**
 * Public ids: a prefix and 26 Crockford base32 characters, 48 bits of milliseconds then 80 random bits,
 * so ids sort by creation time (cursors rely on that) and cannot be guessed.
 */
export const ID_PREFIXES = {
  org: 'org',
  project: 'proj',
  apiKey: 'key',
  webhook: 'wh',
  event: 'evt',
  dsr: 'dsr',
  media: 'med',
  socialAccount: 'sa',
  request: 'req',
  audit: 'aud',
  delivery: 'whd',
  dpaRequest: 'dpa',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const BODY_LENGTH = 26;

export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${encodeTimeAndRandom(now)}`;
}

function encodeTimeAndRandom(ms: number): string {
  let out = '';
  let time = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[time % 32] + out;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(10);
  let acc = 0n;
  for (const byte of random) acc = (acc << 8n) | BigInt(byte);
  let tail = '';
  for (let i = 0; i < 16; i++) {
    tail = ALPHABET[Number(acc & 31n)] + tail;
    acc >>= 5n;
  }
  return out + tail;
}

const ID_PATTERNS = new Map<IdKind, RegExp>(
  Object.entries(ID_PREFIXES).map(([kind, prefix]) => [
    kind as IdKind,
    new RegExp(`^${prefix}_[${ALPHABET}]{${BODY_LENGTH}}$`),
  ]),
);

/** True when `value` has the shape of an id of `kind`; used to answer 404 early, before any query. */
export function isId(kind: IdKind, value: string): boolean {
  return ID_PATTERNS.get(kind)?.test(value) ?? false;
}

export function idPattern(kind: IdKind): string {
  return `^${ID_PREFIXES[kind]}_[${ALPHABET}]{${BODY_LENGTH}}$`;
}
