/**
 * PII guard for free-form JSON (`traits`, `properties`, nested objects and arrays at any depth).
 *
 * The page promises that raw email/phone are "not persisted - hashed before storage", that the IP is
 * "resolved to country/region at ingest, then dropped" and that device ids are only forwarded to ad
 * platforms. The ingest route handles the documented fields (`traits.email`, `context.ip`, …); this
 * guard closes the side door: the same data arriving under any other key, at any depth.
 *
 * Rules, in the order they are applied to each object entry (`key: value`):
 * 1. `__proto__`, `constructor`, `prototype` keys are skipped (counted in `unsafeKeys`), so a later
 *    naive deep merge of stored traits cannot be turned into prototype pollution.
 * 2. Device-id keys (idfa, gaid, adid, aaid, oaid, idfv, advertising_id/advertisingId, android_id,
 *    device_id/deviceId, also prefixed like `user_device_id`; any case) → entry dropped, whatever
 *    the value (even an object).
 * 3. IP keys (ip, ip_address/ipAddress, ipv4, ipv6, client_ip, x_forwarded_for, remote_addr, …) →
 *    entry dropped, whatever the value.
 * 4. Email keys (the key names the address: email, Email, user_email, emailAddress, e-mail,
 *    email2, emails, …; not email_verified / email_domain) with a string value → `<key>_sha256: sha256`
 *    of the normalized value (a percent-encoded address, `person%40example.com`, decoded first).
 *    Phone keys (phone, phones, phone_number(s), mobile, tel, telephone, msisdn, cell, …) name their
 *    whole value: every string or integer holding ≥ 3 digits at that key or anywhere below it (array
 *    elements, values of nested objects whose keys name nothing else) → `<key>_sha256` likewise, or
 *    the hash in place of an array element (fewer digits cannot be a phone number: `mobile: "yes"`
 *    stays). A value that already is 64 hex → kept lower-cased under `<key>_sha256`. A key that
 *    already ends in `sha256` (email_sha256) keeps its name.
 * 5. Every string value, under any key or inside arrays, is then checked by shape (trimmed; shapes in
 *    `pii-shapes.ts`):
 *    - an IP address, with or without a port, bracketed, or a list of them (`X-Forwarded-For`) →
 *      dropped (array elements are removed);
 *    - an email address (`x@host.tld`, also percent-encoded) → hashed as email, key renamed
 *      `<key>_sha256` (in arrays the element becomes the hash string);
 *    - a phone number, international (`+44 20 7946 0958`) or national (`020 7946 0958`,
 *      `(650) 555-1212`) → hashed as phone, renamed likewise;
 *    - text with email addresses (plain or percent-encoded, as in URLs) or international phone
 *      numbers embedded → each replaced in place by its hash; IP addresses embedded
 *      (`for=192.0.2.60;proto=http`) → replaced by `[ip-redacted]`; the key is kept (the value is still text).
 * 6. Keys are data too: a key that is an email address or phone number is replaced by its hash, a
 *    key that is an IP drops its entry, embedded addresses in keys are hashed in place.
 *
 * Mode `reject`: the first raw email/phone found (rules 4–6) aborts with `pii_rejected` and the JSON
 * path — never the value. Pre-hashed values are fine. IPs and device ids are dropped in both modes.
 *
 * Limits (documented, not silent): a phone number in national form embedded in text ("call 020 7946
 * 0958") is not recognised; a dotted-quad that is not an IP to a human (an app version "10.0.1.2")
 * IS an IP to this guard and is dropped; national-looking digit groups (an ISBN "978-3-16-148410-0",
 * a reference "123-456-789") are hashed as phones.
 *
 * `guardText` applies rules 5 to one string: ingest uses it for the event envelope (`user_id`,
 * `event`, `app_id`).
 *
 * The input is never mutated. Paths use `a.b[0].c`; keys that are not identifiers are JSON-quoted
 * (`a["x y"]`) and keys that themselves held PII are written as `[redacted]`.
 *
 * Key names (rules 1–4) are classified in `pii-key-classifier.ts`.
 */
import { hashIdentifier, type IdentifierKind, isSha256Hex } from './identifier-normalizers.ts';
import { classifyKey } from './pii-key-classifier.ts';
import {
  decodedEmail,
  digitCount,
  looksLikeEmail,
  looksLikeIntlPhone,
  looksLikeIp,
  looksLikeIpList,
  looksLikePhone,
  mayHoldEmail,
  mayHoldIp,
  replaceEmbeddedEmails,
  replaceEmbeddedIps,
  replaceEmbeddedPhones,
} from './pii-shapes.ts';

export { looksLikeEmail, looksLikeIntlPhone, looksLikeIp } from './pii-shapes.ts';

export type PiiGuardMode = 'hash' | 'reject';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type PiiGuardReport = {
  /** raw emails/phones replaced by their SHA-256 (pre-hashed values passing through are not counted) */
  hashed: number;
  /** IP addresses and device ids removed */
  dropped: number;
  /** JSON paths of what was hashed or dropped, in document order; never values */
  paths: string[];
  /** `__proto__` / `constructor` / `prototype` keys skipped */
  unsafeKeys: number;
};

export type PiiGuardOptions = {
  mode: PiiGuardMode;
  /** prefix of every reported path, e.g. `properties` */
  rootPath?: string;
  /** nesting limit; the ingest schema caps events at 8, this is the guard's own backstop */
  maxDepth?: number;
};

export type PiiGuardResult =
  | { ok: true; value: JsonObject; report: PiiGuardReport }
  | { ok: false; code: 'pii_rejected' | 'too_deep'; message: string; path: string };

export const DEFAULT_MAX_DEPTH = 32;

// All patterns are compiled once, here: the guard runs on every event.
const HEX64_RUN = /[0-9a-f]{64}/gi;
const SHA256_SUFFIX = /sha256(?:[_-]?\d+)?$/i; // email_sha256, emailSha256, email_sha256_2
const PLAIN_PATH_KEY = /^[A-Za-z_$][\w$-]*$/;
const MAYBE_PII_KEY = /^[\d(]|[@%+.:]/;

/** Thrown (as a value, not an Error: it is control flow) to abort the walk. */
type Abort = { readonly abort: true; code: 'pii_rejected' | 'too_deep'; message: string; path: string };

type Ctx = {
  mode: PiiGuardMode;
  maxDepth: number;
  report: PiiGuardReport;
  /** whether national-format phone numbers count (not for ids: `123-456-7890` may be an account) */
  nationalPhones: boolean;
};

const MAX_PATH_IN_MESSAGE = 200;

function abort(code: Abort['code'], path: string, message: string): never {
  const shown = path.length > MAX_PATH_IN_MESSAGE ? `${path.slice(0, MAX_PATH_IN_MESSAGE)}…` : path;
  const error: Abort = {
    abort: true,
    code,
    path: shown,
    // A function replacement: a path is user data, and `$'`-style patterns in it must stay literal.
    message: message.replace('{path}', () => shown || '(root)'),
  };
  throw error;
}

function isAbort(e: unknown): e is Abort {
  return typeof e === 'object' && e !== null && (e as { abort?: unknown }).abort === true;
}

function keyPath(parent: string, key: string): string {
  if (!PLAIN_PATH_KEY.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/**
 * The hash of a raw identifier found at `path` (or of a digest, lower-cased, which is not counted);
 * undefined when the value normalizes to nothing. In reject mode a raw identifier aborts the walk.
 * Does not report: callers record the path once per value.
 */
function identifierHash(kind: IdentifierKind, raw: string, path: string, ctx: Ctx): Hashed | undefined {
  const trimmed = raw.trim();
  if (isSha256Hex(trimmed)) return { hash: trimmed.toLowerCase(), raw: false };
  const hash = hashIdentifier(kind, raw);
  if (hash === undefined) return undefined;
  if (ctx.mode === 'reject') {
    abort(
      'pii_rejected',
      path,
      kind === 'email'
        ? 'Raw email address at {path}: send its SHA-256 (lowercase hex of the trimmed, lower-cased address) in a *_sha256 field instead.'
        : 'Raw phone number at {path}: send its SHA-256 (lowercase hex of the digits only) in a *_sha256 field instead.',
    );
  }
  return { hash, raw: true };
}

type Hashed = { hash: string; raw: boolean };

function recordHashed(path: string, ctx: Ctx, count = 1): void {
  ctx.report.hashed += count;
  ctx.report.paths.push(path);
}

/** Hash a raw identifier and record it; pre-hashed values pass through unrecorded. */
function hashAndRecord(kind: IdentifierKind, raw: string, path: string, ctx: Ctx): string | undefined {
  const r = identifierHash(kind, raw, path, ctx);
  if (r?.raw) recordHashed(path, ctx);
  return r?.hash;
}

function drop(path: string, ctx: Ctx): void {
  ctx.report.dropped++;
  ctx.report.paths.push(path);
}

/**
 * Replace every email address and international phone number embedded in `text` by its hash, and
 * every IP address by `[ip-redacted]`; returns `text` itself when there is none.
 */
function guardEmbedded(text: string, path: string, ctx: Ctx): string {
  let out = text;
  const email = mayHoldEmail(out);
  if (email || out.includes('+')) {
    let hashed = 0;
    const hashWith = (kind: IdentifierKind) => (found: string) => {
      const r = identifierHash(kind, found, path, ctx);
      if (r !== undefined) hashed++;
      return r?.hash;
    };
    if (email) out = replaceEmbeddedEmails(out, hashWith('email'));
    out = replaceEmbeddedPhones(out, hashWith('phone'));
    if (hashed > 0) recordHashed(path, ctx, hashed);
  }
  if (!mayHoldIp(out)) return out;
  return replaceEmbeddedIps(out, (n) => {
    ctx.report.dropped += n;
    ctx.report.paths.push(path);
  });
}

function renamedKey(key: string): string {
  return SHA256_SUFFIX.test(key) ? key : `${key}_sha256`;
}

/** Set without overwriting: two different values landing on one name (email + email_sha256) both survive. */
function setUnique(out: JsonObject, key: string, value: JsonValue): void {
  if (!Object.hasOwn(out, key)) {
    out[key] = value;
    return;
  }
  if (out[key] === value) return;
  for (let n = 2; ; n++) {
    const candidate = `${key}_${n}`;
    if (!Object.hasOwn(out, candidate)) {
      out[candidate] = value;
      return;
    }
    if (out[candidate] === value) return;
  }
}

type Guarded =
  | { kind: 'keep'; value: JsonValue }
  | { kind: 'hashed'; value: string; as: IdentifierKind }
  | { kind: 'drop' };
const DROP: Guarded = { kind: 'drop' };

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Rule 5 for a whole string: an IP (or a list of them), an email, a phone number. */
function wholeShape(
  trimmed: string,
  ctx: Ctx,
): { kind: 'ip' } | { kind: IdentifierKind; raw: string } | undefined {
  if (looksLikeIp(trimmed) || looksLikeIpList(trimmed)) return { kind: 'ip' };
  if (looksLikeEmail(trimmed)) return { kind: 'email', raw: trimmed };
  const decoded = decodedEmail(trimmed);
  if (decoded !== undefined) return { kind: 'email', raw: decoded };
  if (ctx.nationalPhones ? looksLikePhone(trimmed) : looksLikeIntlPhone(trimmed))
    return { kind: 'phone', raw: trimmed };
  return undefined;
}

function guardString(value: string, path: string, ctx: Ctx): Guarded {
  const shape = wholeShape(value.trim(), ctx);
  if (shape?.kind === 'ip') {
    drop(path, ctx);
    return DROP;
  }
  if (shape !== undefined) {
    const h = hashAndRecord(shape.kind, shape.raw, path, ctx);
    if (h !== undefined) return { kind: 'hashed', value: h, as: shape.kind };
  }
  return { kind: 'keep', value: guardEmbedded(value, path, ctx) };
}

/** A value a phone key names (rule 4): a string or an integer with ≥ 3 digits, or a digest. */
function phoneText(value: unknown): string | undefined {
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'number' && Number.isInteger(value)
        ? String(value)
        : undefined;
  if (text === undefined) return undefined;
  // Digits inside hashes we wrote earlier (embedded emails) are not a phone number: without
  // this, guarding the guard's own output would hash "<hash>,<hash>" as a phone.
  return isSha256Hex(text.trim()) || digitCount(text.replace(HEX64_RUN, '')) >= 3 ? text : undefined;
}

function guardValue(value: unknown, path: string, depth: number, ctx: Ctx, inPhone: boolean): Guarded {
  switch (typeof value) {
    case 'string':
      return guardString(value, path, ctx);
    case 'number':
      // NaN/Infinity are not JSON; JSON.stringify would turn them into null anyway.
      return { kind: 'keep', value: Number.isFinite(value) ? value : null };
    case 'boolean':
      return { kind: 'keep', value };
    case 'object':
      if (value === null) return { kind: 'keep', value: null };
      if (Array.isArray(value))
        return { kind: 'keep', value: guardArray(value, path, depth + 1, ctx, inPhone) };
      if (isPlainObject(value))
        return { kind: 'keep', value: guardObject(value, path, depth + 1, ctx, inPhone) };
      return DROP; // Date, Map, class instances: not JSON, not expected from a parsed body
    default:
      return DROP; // undefined, function, symbol, bigint: not JSON
  }
}

function guardArray(
  arr: readonly unknown[],
  path: string,
  depth: number,
  ctx: Ctx,
  inPhone: boolean,
): JsonValue[] {
  if (depth > ctx.maxDepth) abort('too_deep', path, `Nesting deeper than ${ctx.maxDepth} levels at {path}.`);
  const out: JsonValue[] = [];
  for (let i = 0; i < arr.length; i++) {
    const elementPath = `${path}[${i}]`;
    const phone = inPhone ? phoneText(arr[i]) : undefined;
    const h = phone === undefined ? undefined : hashAndRecord('phone', phone, elementPath, ctx);
    if (h !== undefined) {
      out.push(h);
      continue;
    }
    const r = guardValue(arr[i], elementPath, depth, ctx, inPhone);
    if (r.kind !== 'drop') out.push(r.value);
  }
  return out;
}

/**
 * Handle a key that is itself personal data. Returns the key to use and the path to report for the
 * entry (redacted when the key was PII), or undefined when the entry is dropped.
 */
function guardKey(key: string, parent: string, ctx: Ctx): { key: string; path: string } | undefined {
  // Fast path: ordinary keys do not start with a digit or '(' and have no '@', '%', '+', '.' or ':'.
  if (!MAYBE_PII_KEY.test(key)) return { key, path: keyPath(parent, key) };
  const redacted = `${parent}[redacted]`;
  const shape = wholeShape(key.trim(), ctx);
  if (shape?.kind === 'ip') {
    drop(redacted, ctx);
    return undefined;
  }
  if (shape !== undefined) {
    const h = hashAndRecord(shape.kind, shape.raw, redacted, ctx);
    if (h !== undefined) return { key: h, path: redacted };
  }
  const before = ctx.report.hashed + ctx.report.dropped;
  const replaced = guardEmbedded(key, redacted, ctx);
  if (ctx.report.hashed + ctx.report.dropped !== before) return { key: replaced, path: redacted };
  return { key, path: keyPath(parent, key) };
}

function guardObject(obj: object, path: string, depth: number, ctx: Ctx, inPhone: boolean): JsonObject {
  if (depth > ctx.maxDepth) abort('too_deep', path, `Nesting deeper than ${ctx.maxDepth} levels at {path}.`);
  // A fresh ordinary object; the only keys that could reach its prototype (`__proto__`) or poison a
  // later merge (`constructor`, `prototype`) are skipped below, so plain assignment is safe.
  const out: JsonObject = {};
  const record = obj as Record<string, unknown>;
  for (const originalKey of Object.keys(record)) {
    const value = record[originalKey];
    const kind = classifyKey(originalKey);
    if (kind === 'unsafe') {
      ctx.report.unsafeKeys++;
      continue;
    }
    const guardedKey = guardKey(originalKey, path, ctx);
    if (guardedKey === undefined) continue;
    const { key, path: childPath } = guardedKey;

    if (kind === 'device' || kind === 'ip') {
      drop(childPath, ctx);
      continue;
    }
    if (kind === 'email' && typeof value === 'string') {
      const h = hashAndRecord('email', decodedEmail(value.trim()) ?? value, childPath, ctx);
      if (h !== undefined) {
        setUnique(out, renamedKey(key), h);
        continue;
      }
    }
    // A phone key names everything below it, unless a nested key names something else.
    const phoneHere = kind === 'phone' || (kind === 'plain' && inPhone);
    const phone = phoneHere ? phoneText(value) : undefined;
    if (phone !== undefined) {
      const h = hashAndRecord('phone', phone, childPath, ctx);
      if (h !== undefined) {
        setUnique(out, renamedKey(key), h);
        continue;
      }
    }

    const r = guardValue(value, childPath, depth, ctx, phoneHere);
    if (r.kind === 'keep') setUnique(out, key, r.value);
    else if (r.kind === 'hashed') setUnique(out, renamedKey(key), r.value);
  }
  return out;
}

export type TextGuardResult =
  | {
      ok: true;
      /** undefined: the text was an IP address (or a list of them) and is dropped */
      value: string | undefined;
      /** the whole text was an email address or phone number, now `value` is its hash */
      hashedAs: IdentifierKind | undefined;
      report: PiiGuardReport;
    }
  | { ok: false; code: 'pii_rejected'; message: string; path: string };

/**
 * Rule 5 for one string (an event's `user_id`, `event`, `app_id`): the whole text as an IP (dropped),
 * an email or phone number (hashed), or text with them embedded (replaced in place). In reject mode
 * a raw email or phone number aborts with `pii_rejected`, naming `path`, never the value.
 */
export function guardText(
  text: string,
  options: { mode: PiiGuardMode; path: string; nationalPhones?: boolean },
): TextGuardResult {
  const ctx: Ctx = {
    mode: options.mode,
    maxDepth: DEFAULT_MAX_DEPTH,
    report: { hashed: 0, dropped: 0, paths: [], unsafeKeys: 0 },
    nationalPhones: options.nationalPhones ?? true,
  };
  try {
    const r = guardString(text, options.path, ctx);
    if (r.kind === 'drop') return { ok: true, value: undefined, hashedAs: undefined, report: ctx.report };
    if (r.kind === 'hashed') return { ok: true, value: r.value, hashedAs: r.as, report: ctx.report };
    return { ok: true, value: r.value as string, hashedAs: undefined, report: ctx.report };
  } catch (e) {
    if (isAbort(e) && e.code === 'pii_rejected')
      return { ok: false, code: e.code, message: e.message, path: e.path };
    throw e;
  }
}

/**
 * Guard one free-form JSON object (`traits`, `properties`, `context`…). Never mutates `input`.
 * A non-object input yields an empty object.
 */
export function guardPii(input: Readonly<Record<string, unknown>>, options: PiiGuardOptions): PiiGuardResult {
  const ctx: Ctx = {
    mode: options.mode,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    report: { hashed: 0, dropped: 0, paths: [], unsafeKeys: 0 },
    nationalPhones: true,
  };
  const root = options.rootPath ?? '';
  try {
    const isObject = typeof input === 'object' && input !== null && !Array.isArray(input);
    const value = isObject ? guardObject(input, root, 1, ctx, false) : {};
    return { ok: true, value, report: ctx.report };
  } catch (e) {
    if (isAbort(e)) return { ok: false, code: e.code, message: e.message, path: e.path };
    throw e;
  }
}
