/**
 * Shapes of personal data in free text, for the PII guard (`pii-guard.ts`) and the egress content
 * guard: what an email address, a phone number or an IP address looks like as a whole string, and
 * where one sits inside longer text. Each test starts with a check of a few characters, so that the
 * ordinary strings of an event ("purchase", "pro", "2.3.0") cost next to nothing.
 *
 * Recognised:
 * - email: `x@host.tld`, also percent-encoded (`person%40example.com`, as URLs and query strings
 *   carry it), whole or inside text;
 * - phone, whole value only: international (`+`, then digits and `space - . ( )`, 8–15 digits) and
 *   national forms (`020 7946 0958`, `(650) 555-1212`, `06.12.34.56.78`: a digit or `(` first,
 *   9–15 digits, at least one separator). Not phones: digit runs without a separator (ids,
 *   timestamps), thousands groupings (`1 234 567 890`), ZIP+4 (`12345-6789`), decimals and
 *   versions (`3.14159265`, `10.0.19045.3803`: dots only, a group shorter than 2 digits or fewer
 *   than 3 groups). A phone number inside text is recognised only in international form;
 * - IP: IPv4, IPv6 (also zone-scoped), either with a port (`81.2.69.160:443`, `[2001:db8::1]:443`),
 *   bracketed IPv6, lists of them (`X-Forwarded-For: 81.2.69.160, 10.0.0.1`), and inside text
 *   (`for=192.0.2.60;proto=http`, `http://10.0.0.5:8080/`).
 */
import { isIP } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Email

// The domain must be a hostname (letters, digits, hyphens, dots): that is every real address, and it
// means appending "_sha256" to a key can never turn it into something email-shaped. A whole-string
// address has none of the characters that put an address inside a URL or a compound id
// (`https://x/?email=a@b.c`, `auth0|a@b.c`): those are text with an address in it, hashed in place.
const EMAIL_WHOLE = /^[^\s@/?=&|:]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+$/u;
const EMAIL_EMBEDDED = /[\p{L}\p{N}!#$%&'*+/=?^_`{|}~.-]+(?:@|%40)[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu;
/** Characters that end what comes before an address inside text: `?email=a@b.c`, `auth0|a@b.c`. */
const URL_DELIMITERS = /[/?=&|]/g;

export function looksLikeEmail(trimmed: string): boolean {
  return trimmed.indexOf('@') > 0 && EMAIL_WHOLE.test(trimmed);
}

function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replaceAll('%40', '@');
  }
}

/**
 * The address a percent-encoded email (`person%40example.com`) stands for, or undefined when the
 * string is not one. Hashing the decoded address gives the hash the partner computes.
 */
export function decodedEmail(trimmed: string): string | undefined {
  if (!trimmed.includes('%40') || trimmed.includes('@')) return undefined;
  const decoded = percentDecode(trimmed).trim();
  return looksLikeEmail(decoded) ? decoded : undefined;
}

/** Whether `text` may hold an email address somewhere (cheap; `replaceEmbeddedEmails` decides). */
export const mayHoldEmail = (text: string): boolean => text.includes('@') || text.includes('%40');

/**
 * Replaces each email address inside `text` (plain or percent-encoded) by `replace(address)`, the
 * address decoded; a `replace` returning undefined keeps the match. Text before the address that a
 * URL would put there (`…?email=`) stays. Returns `text` itself when nothing was replaced.
 */
export function replaceEmbeddedEmails(
  text: string,
  replace: (address: string) => string | undefined,
): string {
  if (!mayHoldEmail(text)) return text;
  return text.replace(EMAIL_EMBEDDED, (match) => {
    const at = match.includes('@') ? match.indexOf('@') : match.indexOf('%40');
    let cut = 0;
    for (const m of match.slice(0, at).matchAll(URL_DELIMITERS)) cut = (m.index ?? 0) + 1;
    // A prefix that itself holds an '@' is not "text before the address": hash the whole match.
    if (cut > 0 && mayHoldEmail(match.slice(0, cut))) cut = 0;
    const address = match.slice(cut);
    const replaced = replace(address.includes('@') ? address : percentDecode(address));
    return replaced === undefined ? match : match.slice(0, cut) + replaced;
  });
}

// ---------------------------------------------------------------------------------------------
// Phone

const PHONE_INTL = /^\+[\d\s().-]+$/;
const PHONE_NATIONAL = /^\(?\d[\d\s()./-]*\d$/;
const THOUSANDS = /^\d{1,3}(?:[ .]\d{3})+$/;
const ZIP_PLUS_4 = /^\d{5}-\d{4}$/;
const NON_DOT_SEPARATOR = /[\s()/-]/;
const PHONE_EMBEDDED = /\+\d[\d\s().-]{6,24}\d/g;
const DIGIT = /\d/g;

export function digitCount(s: string): number {
  return s.match(DIGIT)?.length ?? 0;
}

export function looksLikeIntlPhone(trimmed: string): boolean {
  if (trimmed.charCodeAt(0) !== 43 /* + */ || !PHONE_INTL.test(trimmed)) return false;
  const digits = digitCount(trimmed);
  return digits >= 8 && digits <= 15;
}

export function looksLikeNationalPhone(trimmed: string): boolean {
  const first = trimmed.charCodeAt(0);
  if (first !== 40 /* ( */ && (first < 48 || first > 57)) return false;
  if (trimmed.length < 10 || trimmed.length > 32 || !PHONE_NATIONAL.test(trimmed)) return false;
  const digits = digitCount(trimmed);
  if (digits < 9 || digits > 15 || digits === trimmed.length) return false;
  if (THOUSANDS.test(trimmed) || ZIP_PLUS_4.test(trimmed)) return false;
  if (!NON_DOT_SEPARATOR.test(trimmed)) {
    const groups = trimmed.split('.');
    if (groups.length < 3 || groups.some((g, i) => i > 0 && g.length < 2)) return false;
  }
  return true;
}

export const looksLikePhone = (trimmed: string): boolean =>
  looksLikeIntlPhone(trimmed) || looksLikeNationalPhone(trimmed);

/** Replaces each international phone number inside `text` by `replace(number)` (undefined keeps it). */
export function replaceEmbeddedPhones(text: string, replace: (phone: string) => string | undefined): string {
  if (!text.includes('+')) return text;
  return text.replace(PHONE_EMBEDDED, (match) => {
    const trimmed = match.trim();
    if (!looksLikeIntlPhone(trimmed)) return match;
    return replace(trimmed) ?? match;
  });
}

// ---------------------------------------------------------------------------------------------
// IP

const V4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED = /^\[([^\]]{2,64})\](?::\d{1,5})?$/;
const LIST_SEPARATORS = /[\s,;]+/;
const V4_EMBEDDED = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?!\w|\.\d)/g;
const V6_EMBEDDED = /(?<![\w:.%[])\[?(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*(?:%[\w.-]+)?\]?(?::\d{1,5})?/g;

/** Whether `c` may appear in an address (before a zone id): hex digits, `.`, `:`, `[`, `]`. */
function addressChar(c: number): boolean {
  return (
    (c >= 48 && c <= 58) /* 0-9 : */ ||
    (c >= 97 && c <= 102) /* a-f */ ||
    (c >= 65 && c <= 70) /* A-F */ ||
    c === 46 /* . */ ||
    c === 91 /* [ */ ||
    c === 93 /* ] */
  );
}

/** Cheap pre-filter: every character up to a zone id (`%`) could belong to an address. */
function addressChars(s: string, end = s.length): boolean {
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */) return i > 0;
    if (!addressChar(c)) return false;
  }
  return end > 0;
}

/** One address, with or without a port, bracketed or not, zone-scoped or not. */
export function looksLikeIp(trimmed: string): boolean {
  // Cheap pre-filters before net.isIP: an IP has a '.' or ':', is short (bounded even with a zone
  // id) and is made of hex digits, dots, colons and brackets.
  if (trimmed.length < 2 || trimmed.length > 256 || !addressChars(trimmed)) return false;
  if (trimmed.charCodeAt(0) === 91 /* [ */) {
    const inner = BRACKETED.exec(trimmed)?.[1];
    return inner !== undefined && isIP(inner) === 6;
  }
  if (!trimmed.includes('.') && !trimmed.includes(':')) return false;
  if (isIP(trimmed) !== 0) return true;
  const v4 = V4_WITH_PORT.exec(trimmed)?.[1];
  return v4 !== undefined && isIP(v4) === 4;
}

/** Nothing but addresses, separated by commas, semicolons or spaces (`X-Forwarded-For`). */
export function looksLikeIpList(trimmed: string): boolean {
  if (!addressChar(trimmed.charCodeAt(0))) return false;
  const firstEnd = trimmed.search(LIST_SEPARATORS);
  if (firstEnd <= 0 || trimmed.length > 4096 || !addressChars(trimmed, firstEnd)) return false;
  let found = 0;
  for (const part of trimmed.split(LIST_SEPARATORS)) {
    if (part === '') continue;
    if (!looksLikeIp(part)) return false;
    found++;
  }
  return found > 0;
}

function v6Candidate(match: string): boolean {
  let s = match;
  if (s.startsWith('[')) s = s.slice(1, s.includes(']') ? s.indexOf(']') : undefined);
  if (isIP(s) === 6) return true;
  const trimmed = s.replace(/[:.]+$/, '');
  return trimmed !== s && isIP(trimmed) === 6;
}

/** At least three dots between digits (cheap; the pattern decides). */
function mayHoldIpv4(text: string): boolean {
  let found = 0;
  for (let i = text.indexOf('.', 1); i !== -1 && i < text.length - 1; i = text.indexOf('.', i + 1)) {
    const before = text.charCodeAt(i - 1);
    const after = text.charCodeAt(i + 1);
    if (before >= 48 && before <= 57 && after >= 48 && after <= 57 && ++found === 3) return true;
  }
  return false;
}

/** Whether `text` may hold an IP address somewhere (cheap; `replaceEmbeddedIps` decides). */
export const mayHoldIp = (text: string): boolean => mayHoldIpv4(text) || mayHoldIpv6(text);

/** A `::`, or the seven colons of an address written out in full (cheap; the pattern decides). */
function mayHoldIpv6(text: string): boolean {
  if (text.includes('::')) return true;
  let colons = 0;
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) if (++colons === 7) return true;
  return false;
}

/** The marker an IP address inside text is replaced by (as a key, it names nothing personal). */
export const IP_MARKER = '[ip-redacted]';

/**
 * Replaces each IP address inside `text` (with its port, if any) by IP_MARKER; `found` is told how
 * many. Returns `text` itself when there is none.
 */
export function replaceEmbeddedIps(text: string, found: (n: number) => void): string {
  let n = 0;
  let out = text;
  if (mayHoldIpv4(out)) {
    out = out.replace(V4_EMBEDDED, (match) => {
      const colon = match.indexOf(':');
      if (isIP(colon === -1 ? match : match.slice(0, colon)) !== 4) return match;
      n++;
      return IP_MARKER;
    });
  }
  if (mayHoldIpv6(out)) {
    out = out.replace(V6_EMBEDDED, (match) => {
      if (!v6Candidate(match)) return match;
      n++;
      return IP_MARKER;
    });
  }
  if (n > 0) found(n);
  return n > 0 ? out : text;
}
