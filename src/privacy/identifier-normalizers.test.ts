import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  emailSha256FromInput,
  hashEmail,
  hashIdentifier,
  hashPhone,
  type IdentifierKind,
  isSha256Hex,
  normalizeEmail,
  normalizeIdentifier,
  normalizePhone,
  phoneSha256FromInput,
} from './identifier-normalizers.ts';

type Vector = { input: string; normalized: string; sha256: string };
type EmptyVector = { kind: IdentifierKind; input: string; normalized: string; sha256: null };
type PrehashedVector = { kind: IdentifierKind; input: string; sha256: string };
type Vectors = { email: Vector[]; phone: Vector[]; empty: EmptyVector[]; prehashed: PrehashedVector[] };

// Read as a file (not a module import) the way the SDK's tests will, so both sides use one file.
const vectors = JSON.parse(
  readFileSync(new URL('../../test/vectors/identifier-vectors.json', import.meta.url), 'utf8'),
) as Vectors;

/** Any UTF-16 string, lone surrogates included: what a hostile or broken client can send. */
const anyUtf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) });
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'binary-ascii' }),
  anyUtf16,
);
const hex64 = fc.stringMatching(/^[0-9a-fA-F]{64}$/);

describe('golden vectors (test/vectors/identifier-vectors.json)', () => {
  it('are independently correct: SHA-256 computed here with node:crypto, not through the module', () => {
    const direct = createHash('sha256').update('person@example.com', 'utf8').digest('hex');
    expect(direct).toBe('542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345');
    const person = vectors.email.find((v) => v.input === 'Person@Example.com');
    expect(person?.sha256).toBe(direct);
    const phone = vectors.phone.find((v) => v.input === '+1 (650) 555-1212');
    expect(phone?.sha256).toBe(createHash('sha256').update('16505551212').digest('hex'));
  });

  it('Person@Example.com and " person@example.com " hash alike; so do +1 (650) 555-1212 and 16505551212', () => {
    expect(hashEmail('Person@Example.com')).toBe(hashEmail(' person@example.com '));
    expect(hashPhone('+1 (650) 555-1212')).toBe(hashPhone('16505551212'));
    const byInput = new Map([...vectors.email, ...vectors.phone].map((v) => [v.input, v.sha256]));
    expect(byInput.get('Person@Example.com')).toBe(byInput.get(' person@example.com '));
    expect(byInput.get('+1 (650) 555-1212')).toBe(byInput.get('16505551212'));
  });

  it.each(vectors.email)('email $input', (v) => {
    expect(normalizeEmail(v.input)).toBe(v.normalized);
    expect(hashEmail(v.input)).toBe(v.sha256);
  });

  it.each(vectors.phone)('phone $input', (v) => {
    expect(normalizePhone(v.input)).toBe(v.normalized);
    expect(hashPhone(v.input)).toBe(v.sha256);
  });

  it.each(vectors.empty)('$kind $input normalizes to "" and is not hashed', (v) => {
    expect(normalizeIdentifier(v.kind, v.input)).toBe('');
    expect(hashIdentifier(v.kind, v.input)).toBeUndefined();
  });

  it.each(vectors.prehashed)('pre-hashed $kind value is kept, lower-cased', (v) => {
    expect(hashIdentifier(v.kind, v.input)).toBe(v.sha256);
  });
});

describe('isSha256Hex', () => {
  it('accepts exactly 64 hex characters of either case', () => {
    expect(isSha256Hex('a'.repeat(64))).toBe(true);
    expect(isSha256Hex('ABCDEF0123456789'.repeat(4))).toBe(true);
    expect(isSha256Hex('a'.repeat(63))).toBe(false);
    expect(isSha256Hex('a'.repeat(65))).toBe(false);
    expect(isSha256Hex(`${'a'.repeat(63)}g`)).toBe(false);
    expect(isSha256Hex(` ${'a'.repeat(64)}`)).toBe(false);
    expect(isSha256Hex(`0x${'a'.repeat(62)}`)).toBe(false);
    expect(isSha256Hex(undefined)).toBe(false);
    expect(isSha256Hex(42)).toBe(false);
  });
});

describe('*Sha256FromInput', () => {
  const personHash = '542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345';

  it('hashes the raw value', () => {
    expect(emailSha256FromInput({ email: ' Person@Example.com ' })).toEqual({
      status: 'ok',
      sha256: personHash,
      source: 'raw',
    });
  });

  it('accepts a pre-hashed value as it is (lower-cased)', () => {
    expect(emailSha256FromInput({ email_sha256: personHash.toUpperCase() })).toEqual({
      status: 'ok',
      sha256: personHash,
      source: 'prehashed',
    });
    // A digest sent in the raw field is recognised, not hashed a second time.
    expect(emailSha256FromInput({ email: personHash })).toEqual({
      status: 'ok',
      sha256: personHash,
      source: 'prehashed',
    });
  });

  it('treats missing and null as absent', () => {
    expect(emailSha256FromInput({})).toEqual({ status: 'absent' });
    expect(phoneSha256FromInput({ phone: null, phone_sha256: null })).toEqual({ status: 'absent' });
  });

  it('never hashes a value that normalizes to the empty string', () => {
    expect(phoneSha256FromInput({ phone: 'abc' })).toEqual({
      status: 'invalid',
      field: 'phone',
      reason: 'empty',
    });
    expect(emailSha256FromInput({ email: '   ' })).toEqual({
      status: 'invalid',
      field: 'email',
      reason: 'empty',
    });
  });

  it('rejects malformed pre-hashed values and non-strings', () => {
    expect(emailSha256FromInput({ email_sha256: 'person@example.com' })).toEqual({
      status: 'invalid',
      field: 'email_sha256',
      reason: 'not_sha256_hex',
    });
    expect(phoneSha256FromInput({ phone: 16505551212 })).toEqual({
      status: 'invalid',
      field: 'phone',
      reason: 'not_a_string',
    });
  });

  it('accepts raw + pre-hashed when they agree and refuses to guess when they do not', () => {
    expect(emailSha256FromInput({ email: 'PERSON@example.com', email_sha256: personHash })).toMatchObject({
      status: 'ok',
      sha256: personHash,
    });
    expect(emailSha256FromInput({ email: 'other@example.com', email_sha256: personHash })).toEqual({
      status: 'invalid',
      field: 'email_sha256',
      reason: 'conflict',
    });
  });

  it('never puts the raw value into its result', () => {
    for (const r of [
      emailSha256FromInput({ email: 'canary.person@example.com' }),
      emailSha256FromInput({ email: 'canary.person@example.com', email_sha256: personHash }),
      phoneSha256FromInput({ phone: '+1 650 555 0100', phone_sha256: 'nope' }),
    ]) {
      const text = JSON.stringify(r);
      expect(text).not.toContain('canary');
      expect(text).not.toContain('555');
    }
  });
});

describe('properties', () => {
  it('normalizers are idempotent and never throw', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const e = normalizeEmail(s);
        const p = normalizePhone(s);
        expect(normalizeEmail(e)).toBe(e);
        expect(normalizePhone(p)).toBe(p);
        expect(p).toMatch(/^[0-9]*$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('hashing never throws and yields 64 lowercase hex or undefined exactly when the value normalizes to ""', () => {
    fc.assert(
      fc.property(anyString, fc.constantFrom<IdentifierKind>('email', 'phone'), (s, kind) => {
        const h = hashIdentifier(kind, s);
        if (normalizeIdentifier(kind, s) === '') expect(h).toBeUndefined();
        else expect(h).toMatch(/^[0-9a-f]{64}$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('hashing is a function of the normalized value', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const padded = `  ${s.toUpperCase()}\t`;
        // Upper-casing can change a string's lower-case form (e.g. final sigma), so compare with the
        // hash of what the normalizer itself returns rather than of `s`.
        expect(hashEmail(padded)).toBe(hashEmail(normalizeEmail(padded)));
        // (64 digits would read as a digest once normalized; no phone number is that long.)
        if (!isSha256Hex(normalizePhone(s))) expect(hashPhone(`(${s})-`)).toBe(hashPhone(normalizePhone(s)));
      }),
    );
  });

  it('hashing a pre-hashed 64-hex value is a no-op that lower-cases it', () => {
    fc.assert(
      fc.property(hex64, fc.constantFrom<IdentifierKind>('email', 'phone'), (h, kind) => {
        expect(hashIdentifier(kind, h)).toBe(h.toLowerCase());
        expect(hashIdentifier(kind, hashIdentifier(kind, h) ?? '')).toBe(h.toLowerCase());
      }),
    );
  });

  it('hashing twice never re-hashes', () => {
    fc.assert(
      fc.property(anyString, fc.constantFrom<IdentifierKind>('email', 'phone'), (s, kind) => {
        const once = hashIdentifier(kind, s);
        if (once !== undefined) expect(hashIdentifier(kind, once)).toBe(once);
      }),
    );
  });
});
