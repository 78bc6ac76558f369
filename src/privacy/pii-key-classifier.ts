/**
 * Key classification for the PII guard (`pii-guard.ts`, rules 1–4): what a JSON key names — an
 * unsafe prototype key, a device id, an IP, an email, a phone number, or nothing personal — judged
 * from its words ("user_email", "phoneNumber", "X-Forwarded-For"), not from its value.
 */

// All patterns are compiled once, here: the guard classifies every key of every event.
const CAMEL_BOUNDARY = /([a-z0-9])([A-Z])/g;
const ACRONYM_BOUNDARY = /([A-Z]{2,})([A-Z][a-z])/g;
const NON_ALNUM = /[^a-z0-9]+/;
const TRAILING_DIGITS = /\d+$/;
const ALL_DIGITS = /^\d+$/;

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const DEVICE_TOKENS = new Set([
  'idfa',
  'gaid',
  'adid',
  'aaid',
  'oaid',
  'idfv',
  'deviceid',
  'advertisingid',
  'androidid',
]);
const DEVICE_ID_PREFIXES = new Set(['device', 'advertising', 'android']);
const IP_TOKENS = new Set(['ip', 'ipv4', 'ipv6', 'ipaddress', 'ipaddr']);
const IP_JOINED = new Set(['xforwardedfor', 'forwardedfor', 'remoteaddr', 'remoteaddress']);
const EMAIL_TOKENS = new Set(['email', 'emailaddress', 'emailaddr']);
const PHONE_TOKENS = new Set([
  'phone',
  'mobile',
  'tel',
  'telephone',
  'msisdn',
  'cell',
  'cellphone',
  'mobilephone',
  'phonenumber',
  'mobilenumber',
  'telephonenumber',
  'cellnumber',
]);
const PHONE_NUMBER_WORDS = new Set(['number', 'no', 'num', 'nr']);
const ADDRESS_WORDS = new Set(['address', 'addr']);

const KNOWN_WORDS = new Set([
  ...DEVICE_TOKENS,
  ...IP_TOKENS,
  ...EMAIL_TOKENS,
  ...PHONE_TOKENS,
  ...PHONE_NUMBER_WORDS,
  ...ADDRESS_WORDS,
  'id',
]);

export type KeyKind = 'unsafe' | 'device' | 'ip' | 'email' | 'phone' | 'plain';

/** Key names repeat across events: classify each distinct name once (bounded, so hostile keys cannot grow it). */
const keyKindCache = new Map<string, KeyKind>();
const KEY_CACHE_MAX = 4096;

function keyTokens(key: string): string[] {
  const tokens = key
    .replace(CAMEL_BOUNDARY, '$1 $2')
    .replace(ACRONYM_BOUNDARY, '$1 $2')
    .toLowerCase()
    .split(NON_ALNUM)
    .filter((t) => t !== '');
  const merged: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    // "e-mail", "e_mail", "eMail" are one word
    if (tokens[i] === 'e' && tokens[i + 1] === 'mail') {
      merged.push('email');
      i++;
    } else merged.push(tokens[i]!);
  }
  // "email_2", "phone_2": a trailing counter does not change what the key names
  while (merged.length > 1 && ALL_DIGITS.test(merged[merged.length - 1]!)) merged.pop();
  return merged;
}

function classifyKeyUncached(key: string): KeyKind {
  if (UNSAFE_KEYS.has(key)) return 'unsafe';
  const tokens = keyTokens(key);
  if (tokens.length === 0) return 'plain';
  if (tokens.length > 1 && tokens[tokens.length - 1] === 'sha256') tokens.pop();
  const lastRaw = tokens[tokens.length - 1]!;
  const lastWord = lastRaw.replace(TRAILING_DIGITS, '') || lastRaw;
  // Plural keys name the same thing: "phones", "phone_numbers", "emails", "ip_addresses", "device_ids".
  return classifyTokens(tokens, lastRaw, pluralOf(lastWord) ?? lastWord);
}

/** The singular of a plural word this classifier knows, or undefined. */
function pluralOf(word: string): string | undefined {
  if (word.length < 3 || !word.endsWith('s')) return undefined;
  const one = singular(word);
  return KNOWN_WORDS.has(one) || one.endsWith('email') ? one : undefined;
}

function singular(word: string): string {
  return word.endsWith('addresses') ? word.slice(0, -2) : word.slice(0, -1);
}

function classifyTokens(tokens: string[], lastRaw: string, last: string): KeyKind {
  const prev = tokens.length > 1 ? tokens[tokens.length - 2] : undefined;

  if (DEVICE_TOKENS.has(last) || (last === 'id' && prev !== undefined && DEVICE_ID_PREFIXES.has(prev))) {
    return 'device';
  }
  if (
    IP_TOKENS.has(lastRaw) ||
    IP_TOKENS.has(last) ||
    (ADDRESS_WORDS.has(last) && prev !== undefined && IP_TOKENS.has(prev)) ||
    IP_JOINED.has(tokens.join(''))
  ) {
    return 'ip';
  }
  if (
    EMAIL_TOKENS.has(last) ||
    (last.endsWith('email') && !last.endsWith('voicemail')) ||
    (ADDRESS_WORDS.has(last) && prev === 'email')
  ) {
    return 'email';
  }
  if (
    PHONE_TOKENS.has(last) ||
    (PHONE_NUMBER_WORDS.has(last) && prev !== undefined && PHONE_TOKENS.has(prev))
  ) {
    return 'phone';
  }
  return 'plain';
}

/** Exported for tests and for callers that want to know how a key will be treated. */
export function classifyKey(key: string): KeyKind {
  let kind = keyKindCache.get(key);
  if (kind === undefined) {
    kind = classifyKeyUncached(key);
    if (keyKindCache.size >= KEY_CACHE_MAX) keyKindCache.clear();
    keyKindCache.set(key, kind);
  }
  return kind;
}
