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

// Monotonic within a process: ids made in the same millisecond (an org and its first key, a batch of
// audit entries) still sort in creation order, by incrementing the random part (as ULID does).
let lastTime = -1;
let lastRandom = 0n;
const RANDOM_BITS = 80n;
const RANDOM_MAX = (1n << RANDOM_BITS) - 1n;

function encodeTimeAndRandom(ms: number): string {
  let time = Math.max(ms, lastTime);
  let random: bigint;
  if (time === lastTime && lastRandom < RANDOM_MAX) {
    random = lastRandom + 1n;
  } else {
    if (time === lastTime) time += 1;
    random = 0n;
    for (const byte of randomBytes(10)) random = (random << 8n) | BigInt(byte);
    // Leave headroom so that increments within one millisecond do not overflow.
    random >>= 1n;
  }
  lastTime = time;
  lastRandom = random;
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[time % 32] + out;
    time = Math.floor(time / 32);
  }
  let tail = '';
  let acc = random;
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
