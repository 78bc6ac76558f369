import { isIP } from 'node:net';
import { isSha256Hex } from '../privacy/identifier-normalizers.ts';
import { classifyKey } from '../privacy/pii-key-classifier.ts';
import { looksLikeEmail, looksLikeIntlPhone, looksLikeIp } from '../privacy/pii-shapes.ts';
import type { EgressBody, EgressPurpose } from './egress-types.ts';

/**
 * The content guard: before a call leaves, its URL (path and query) and body are scanned for values
 * that look like end-customer identifiers. The detectors are the ingest PII guard's (email,
 * international phone number, IP address, and the key names of device ids, IPs, emails and phones),
 * plus two of its own: a device id by shape (a UUID, which is what IDFA and GAID are) and a SHA-256
 * hex digest (what a hashed email or phone is). Values are found whole and embedded in text (a
 * prompt that quotes an address), in JSON values and in JSON keys.
 *
 * Every purpose refuses raw emails, phone numbers and IPs: nothing Layers sends to a vendor needs
 * them, and the page says the raw values are not kept. `capi` alone may carry SHA-256 digests and
 * device ids, and the gateway sends `capi` calls only to a destination the project enabled.
 *
 * What is not scanned: headers (credentials and signatures live there, e.g. S3's
 * x-amz-content-sha256), the call's `credentials` (our own tokens and HMACs), and `bytes` bodies
 * (rendered media files). Findings name the kind and where (path, query, body), never the value.
 *
 * Limits (documented, not silent): a UUID anywhere is taken for a device id, so a vendor API whose
 * ids are UUIDs cannot be called with them outside `capi`; a national-format phone number ("020 7946
 * 0958") is not recognised; any 64-hex string is taken for a digest.
 */
export type IdentifierKind = 'email' | 'phone' | 'ip' | 'device_id' | 'sha256';
export type FindingPlace = 'path' | 'query' | 'body';
export type ContentFindings = { counts: Partial<Record<IdentifierKind, number>>; places: FindingPlace[] };

const ALLOWED_FOR_CAPI: ReadonlySet<IdentifierKind> = new Set(['sha256', 'device_id']);
const NONE: ReadonlySet<IdentifierKind> = new Set();

/** The kinds a purpose may carry (the gateway also restricts `capi` to enabled destinations). */
export function allowedKinds(purpose: EgressPurpose): ReadonlySet<IdentifierKind> {
  return purpose === 'capi' ? ALLOWED_FOR_CAPI : NONE;
}

const UUID_EMBEDDED =
  /(?<![0-9a-z])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-z])/i;
const SHA256_EMBEDDED = /(?<![0-9a-z])[0-9a-f]{64}(?![0-9a-z])/i;
const EMAIL_EMBEDDED = /[\p{L}\p{N}!#$%&'*+/=?^_`{|}~.-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/u;
const PHONE_EMBEDDED = /\+\d[\d\s().-]{5,22}\d/g;
// Not part of a longer dotted number (1.2.3.4.5), but may be followed by a dot and a word (a file name).
const IPV4_EMBEDDED = /(?<!\d)(?<!\d\.)(?:\d{1,3}\.){3}\d{1,3}(?!\d)(?!\.\d)/g;
const TOKEN_SPLIT = /[\s,;()[\]{}<>"'`|]+/;
const DIGIT = /\d/g;
const MAX_DEPTH = 64;

/** isSha256Hex without its type guard (which would narrow a string that is not one to never). */
const isDigest = (s: string): boolean => isSha256Hex(s);

/**
 * Findings as they are made: counts made on the first one, places as bits (PLACES order), how many
 * so far, and the JSON keys already scanned that held nothing (a batch body repeats its keys in every
 * event: each distinct clean key is scanned once per call).
 */
type Scan = {
  counts: Partial<Record<IdentifierKind, number>> | undefined;
  places: number;
  found: number;
  cleanKeys: Set<string>;
};
const PLACES: readonly FindingPlace[] = ['path', 'query', 'body'];
const PLACE_BIT: Readonly<Record<FindingPlace, number>> = { path: 1, query: 2, body: 4 };

function add(scan: Scan, kind: IdentifierKind, place: FindingPlace): void {
  scan.counts ??= {};
  scan.counts[kind] = (scan.counts[kind] ?? 0) + 1;
  scan.places |= PLACE_BIT[place];
  scan.found++;
}

function embeddedPhone(text: string): boolean {
  for (const m of text.matchAll(PHONE_EMBEDDED)) {
    const digits = m[0].match(DIGIT)?.length ?? 0;
    if (digits >= 8 && digits <= 15) return true;
  }
  return false;
}

function embeddedIp(text: string): boolean {
  if (hasDigitDotDigit(text)) for (const m of text.matchAll(IPV4_EMBEDDED)) if (isIP(m[0]) === 4) return true;
  // IPv6 has no reliable in-text pattern: look at each token holding at least two colons.
  if (mayHoldIpv6(text))
    for (const token of text.split(TOKEN_SPLIT)) if (token.includes(':') && isIP(token) === 6) return true;
  return false;
}

const isDigitCode = (c: number) => c >= 48 && c <= 57;

/** A digit, a dot, a digit (where an IPv4 address could start): looked for at each dot only. */
function hasDigitDotDigit(text: string): boolean {
  for (let i = text.indexOf('.', 1); i !== -1; i = text.indexOf('.', i + 1))
    if (isDigitCode(text.charCodeAt(i - 1)) && isDigitCode(text.charCodeAt(i + 1))) return true;
  return false;
}

const isHexCode = (c: number) => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/**
 * Whether `text` holds a run of at least `n` hex digits. Any such run covers one of the positions
 * probed every n/2 characters, so only probes that land on a hex digit are extended: a long prompt
 * is not read character by character (the patterns that find digests and UUIDs would be tried at
 * every position otherwise).
 */
function hasHexRun(text: string, n: number): boolean {
  const stride = Math.max(1, Math.floor(n / 2));
  let checkedTo = -1;
  for (let p = stride - 1; p < text.length; p += stride) {
    if (p <= checkedTo || !isHexCode(text.charCodeAt(p))) continue;
    let start = p;
    while (start > checkedTo + 1 && isHexCode(text.charCodeAt(start - 1))) start--;
    let end = p;
    while (end + 1 < text.length && isHexCode(text.charCodeAt(end + 1))) end++;
    if (end - start + 1 >= n) return true;
    checkedTo = end;
  }
  return false;
}

/** An IPv6 address has a colon between hex digits, or two colons in a row ("Tone: warm" has neither). */
function mayHoldIpv6(text: string): boolean {
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) {
    const before = text.charCodeAt(i - 1);
    const after = text.charCodeAt(i + 1);
    if (after === 58 || (isHexCode(before) && isHexCode(after))) return true;
  }
  return false;
}

/** A UUID's first group: eight hex digits right before a '-'. */
function mayHoldUuid(text: string): boolean {
  for (let i = text.indexOf('-', 8); i !== -1; i = text.indexOf('-', i + 1)) {
    let k = i - 8;
    while (k < i && isHexCode(text.charCodeAt(k))) k++;
    if (k === i) return true;
  }
  return false;
}

/** Whether `s` is `n` hex digits exactly, read by character code (a pattern costs more here). */
function allHex(s: string, n: number): boolean {
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) if (!isHexCode(s.charCodeAt(i))) return false;
  return true;
}

/** A whole UUID (8-4-4-4-12 hex digits, either case), read by character code. */
function isUuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23 ? c !== 45 : !isHexCode(c)) return false;
  }
  return true;
}

function wholeKind(trimmed: string): IdentifierKind | undefined {
  // 64 hex digits (a digest, most of a capi body's values) hold no '@', '+', '.' or ':', so none of
  // the detectors before it would have matched: tested first, in one pass over the characters.
  if (allHex(trimmed, 64)) return 'sha256';
  if (looksLikeEmail(trimmed)) return 'email';
  if (looksLikeIntlPhone(trimmed)) return 'phone';
  if (looksLikeIp(trimmed)) return 'ip';
  if (isUuid(trimmed)) return 'device_id';
  return undefined;
}

/** One string: whole-value detectors first, then what may be embedded in text. */
function scanString(value: string, place: FindingPlace, scan: Scan): void {
  const trimmed = value.trim();
  if (trimmed.length < 7) return; // shorter than the shortest IP, email or phone
  const whole = wholeKind(trimmed);
  if (whole !== undefined) {
    add(scan, whole, place);
    return;
  }
  if (trimmed.includes('@') && EMAIL_EMBEDDED.test(trimmed)) add(scan, 'email', place);
  if (trimmed.includes('+') && embeddedPhone(trimmed)) add(scan, 'phone', place);
  if (embeddedIp(trimmed)) add(scan, 'ip', place);
  if (trimmed.length >= 64 && hasHexRun(trimmed, 64) && SHA256_EMBEDDED.test(trimmed))
    add(scan, 'sha256', place);
  if (trimmed.length >= 36 && mayHoldUuid(trimmed) && UUID_EMBEDDED.test(trimmed))
    add(scan, 'device_id', place);
}

/** A key that names an identifier carries one, whatever its value looks like (`idfa: "…"`). */
function scanKeyed(key: string, value: unknown, place: FindingPlace, scan: Scan): boolean {
  if (value === null || value === undefined || value === '' || typeof value === 'boolean') return false;
  if (typeof value === 'object') return false; // its own entries are scanned
  const kind = classifyKey(key);
  if (kind === 'device') add(scan, 'device_id', place);
  else if (kind === 'ip') add(scan, 'ip', place);
  else if (kind === 'email' || kind === 'phone')
    add(scan, isDigest(String(value).trim()) ? 'sha256' : kind, place);
  else return false;
  return true;
}

function scanJson(value: unknown, place: FindingPlace, scan: Scan, depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (typeof value === 'string') {
    scanString(value, place, scan);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) scanJson(item, place, scan, depth + 1);
    return;
  }
  // The own enumerable keys, as Object.entries has them, without an array per entry.
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (!scan.cleanKeys.has(key)) {
      const before = scan.found;
      scanString(key, place, scan);
      if (scan.found === before) scan.cleanKeys.add(key);
    }
    if (!scanKeyed(key, item, place, scan)) scanJson(item, place, scan, depth + 1);
  }
}

function scanPairs(pairs: Iterable<[string, string]>, place: FindingPlace, scan: Scan): void {
  for (const [key, value] of pairs) {
    scanString(key, place, scan);
    if (!scanKeyed(key, value, place, scan)) scanString(value, place, scan);
  }
}

/** Everything that looks like an end-customer identifier in the call's URL and body. */
export function scanCall(url: URL, body: EgressBody | undefined): ContentFindings {
  const scan: Scan = { counts: undefined, places: 0, found: 0, cleanKeys: new Set() };
  const path = url.pathname;
  // Each segment between slashes; one shorter than 7 characters cannot hold an identifier
  // (scanString's first test), so it is not even cut out.
  for (let from = 0; from < path.length; ) {
    let to = path.indexOf('/', from);
    if (to === -1) to = path.length;
    if (to - from >= 7) {
      const segment = path.slice(from, to);
      let decoded = segment;
      if (segment.includes('%'))
        try {
          decoded = decodeURIComponent(segment);
        } catch {
          // not percent-encoding: scanned as it is
        }
      scanString(decoded, 'path', scan);
    }
    from = to + 1;
  }
  if (url.search !== '') scanPairs(url.searchParams, 'query', scan);
  if (body !== undefined) {
    if ('json' in body) scanJson(body.json, 'body', scan, 0);
    else if ('form' in body) scanPairs(Object.entries(body.form), 'body', scan);
    else if ('text' in body) scanString(body.text, 'body', scan);
  }
  if (scan.counts === undefined) return { counts: {}, places: [] };
  const places = PLACES.filter((p) => (scan.places & PLACE_BIT[p]) !== 0);
  return { counts: scan.counts, places };
}

/** The findings a purpose may not carry; empty when the call may leave. */
export function refusedFindings(purpose: EgressPurpose, findings: ContentFindings): IdentifierKind[] {
  if (findings.places.length === 0) return [];
  const allowed = allowedKinds(purpose);
  return (Object.keys(findings.counts) as IdentifierKind[]).filter((k) => !allowed.has(k));
}
