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
  /** An SDK event (sdk_events). */
  event: 'evt',
  /**
   * A webhook event (webhook_events; the `webhook-id` of its deliveries). Its own prefix, so the two
   * kinds of event can never be mistaken for one another; webhook events stored before it was
   * introduced keep their `evt_` ids (nothing parses a webhook event id by its prefix).
   */
  webhookEvent: 'whevt',
  dsr: 'dsr',
  media: 'med',
  socialAccount: 'sa',
  request: 'req',
  audit: 'aud',
  delivery: 'whd',
  dpaRequest: 'dpa',
  /** A content generation (copy, images, video from a brief). */
  generation: 'gen',
  /** A Conversions API destination (Meta CAPI, TikTok Events). */
  destination: 'dst',
  /** An ad deployment (a generated video deployed as a paused ad on Meta or TikTok). */
  adDeployment: 'ad',
  /** A publication (a generated media posted to a connected social account). */
  publication: 'pub',
  /** A console account (a partner representative); audited as actor `{type: "user", id}`. */
  consoleAccount: 'usr',
  consoleSession: 'cses',
  consoleInvitation: 'inv',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const BODY_LENGTH = 26;

export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}_${encodeTimeAndRandom(now)}`;
}

// Monotonic within a process: ids made in the same millisecond (an org and its first key, a batch of
// audit entries, a batch of events) still sort in creation order, by incrementing the random part (as
// ULID does). The 80 random bits are kept as two 40-bit numbers: plain arithmetic, no BigInt, because
// ingest makes one id per event.
const HALF = 2 ** 40;
let lastTime = -1;
let randomHigh = 0;
let randomLow = 0;

function encodeTimeAndRandom(ms: number): string {
  let time = Math.max(ms, lastTime);
  if (time === lastTime && !(randomHigh === HALF - 1 && randomLow === HALF - 1)) {
    randomLow += 1;
    if (randomLow === HALF) {
      randomLow = 0;
      randomHigh += 1;
    }
  } else {
    if (time === lastTime) time += 1;
    const bytes = randomBytes(10);
    // The top bit stays clear: headroom so that increments within one millisecond do not overflow.
    randomHigh = bytes.readUIntBE(0, 5) % (HALF / 2);
    randomLow = bytes.readUIntBE(5, 5);
  }
  lastTime = time;
  return base32(time, 10) + base32(randomHigh, 8) + base32(randomLow, 8);
}

/** `n` (a non-negative integer below 32^digits) as exactly `digits` Crockford base32 characters. */
function base32(n: number, digits: number): string {
  let out = '';
  for (let i = 0; i < digits; i++) {
    out = ALPHABET[n % 32] + out;
    n = Math.floor(n / 32);
  }
  return out;
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
